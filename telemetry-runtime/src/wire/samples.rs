//! One event of every type, with made-up values. The schema table (`telemetry schema`) is
//! read off them, and the spool check takes each event type's keys from them, so both
//! follow the types: a field added to an event shows up in both without touching either.

use crate::wire::buckets::{Bucket, Concurrency, Durations};
use crate::wire::command::{Commands, MaskedCommand, Token};
use crate::wire::custom::FieldValue;
use crate::wire::errors::{ErrorType, IoKind};
use crate::wire::event::{Batch, Body, Calls, Environment, Errors, Event, Metrics, SCHEMA_VERSION};
use crate::wire::features::{FeatureUse, Features};
use crate::wire::id::{Hour, Id};
use crate::wire::text::{Name, Version};

/// One event of every type, in the order the schema table lists them.
pub(crate) fn samples() -> Vec<Event> {
    let bodies = vec![
        Body::Session {
            interactive: true,
            environment: Environment::Production,
            integrations: ["postgres", "s3"]
                .into_iter()
                .filter_map(Name::new)
                .collect(),
        },
        Body::Usage {
            features: FeatureUse {
                flows: true,
                tasks: true,
                flags: Features::RETRIES.union(Features::CACHE),
            },
            metrics: Metrics {
                flows_defined: 2,
                tasks_defined: 9,
                flow_runs: Calls {
                    calls: 3,
                    ok: 2,
                    err: 1,
                    panics: 0,
                },
                task_runs: Calls {
                    calls: 41,
                    ok: 38,
                    err: 3,
                    panics: 0,
                },
                retry_attempts: 2,
                cache_hits: 17,
                cache_misses: 5,
                flow_durations: Durations([1, 2, 0, 0, 0, 0]),
                task_durations: Durations([39, 2, 0, 0, 0, 0]),
                flow_concurrency: Concurrency::peak(1),
                task_concurrency: Concurrency::peak(3),
                dropped_events: 0,
            },
        },
        Body::Error {
            errors: Errors {
                exception_types: [
                    (ErrorType::Io(IoKind::TimedOut), 2),
                    (ErrorType::named("acme::FetchError"), 1),
                ]
                .into_iter()
                .collect(),
            },
        },
        Body::Heartbeat {
            session_start: Hour::from_unix_secs(1_795_230_000),
        },
        Body::CliCommand {
            command: MaskedCommand(vec![
                Token::Known("acme"),
                Token::Known("run"),
                Token::Known("--pipeline"),
                Token::Masked,
                Token::Known("--env"),
                Token::Masked,
            ]),
        },
        Body::Custom {
            name: Name::new("deploy_finished").expect("a valid name"),
            fields: [
                ("dry_run", FieldValue::Bool(false)),
                ("targets", FieldValue::Count(Bucket::of(3))),
                (
                    "strategy",
                    FieldValue::Choice(Name::new("blue_green").expect("a valid name")),
                ),
            ]
            .into_iter()
            .filter_map(|(k, v)| Some((Name::new(k)?, v)))
            .collect(),
        },
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| Event {
            event_id: sample_id(i as u32 + 2),
            session_id: sample_id(1),
            installation_id: Some(sample_id(0xa11ce)),
            timestamp: Hour::from_unix_secs(1_795_237_199),
            sdk_version: Version::new("0.1.0"),
            app_version: Version::new("1.4.2"),
            rust_version: Version::new("1.95.0"),
            os: "linux",
            arch: "x86_64",
            body,
        })
        .collect()
}

/// A batch of `events` under a fixed, recognisable id.
pub(crate) fn sample_batch(events: Vec<Event>) -> Batch {
    Batch {
        schema_version: SCHEMA_VERSION,
        batch_id: Id::parse("00000000-0000-4000-8000-00000000b47c").expect("uuid"),
        events,
    }
}

/// A recognisable id: `n` in hex, then the UUID v4 markers.
fn sample_id(n: u32) -> Id {
    Id::parse(&format!("{n:08x}-0000-4000-8000-000000000000")).expect("uuid")
}

/// A batch of random events of every type, from `seed`: every metric and bucket, counts
/// from 0 to `u64::MAX`, commands of any mix of declared and masked words below, at and over
/// the word cap, custom events of every field value. What the property tests feed the
/// reader, the collector and the JSON Schema: whatever the writer makes of it must be
/// accepted by each. Its hours lie in the two days before now.
pub(crate) fn random_batch(seed: u64) -> Batch {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let session_id = rng.id();
    let installation_id = rng.chance(3).then(|| rng.id());
    let now = Hour::now();
    let events = (0..rng.below(12))
        .map(|_| {
            let body = random_body(&mut rng);
            Event {
                event_id: rng.id(),
                session_id,
                installation_id,
                timestamp: rng.hour_before(now),
                sdk_version: Version::new(rng.pick(&VERSIONS)),
                app_version: Version::new(rng.pick(&VERSIONS)),
                rust_version: Version::new(rng.pick(&VERSIONS)),
                os: rng.pick(&["linux", "macos", "windows", "freebsd", std::env::consts::OS]),
                arch: rng.pick(&["x86_64", "aarch64", "x86", "riscv64"]),
                body,
            }
        })
        .collect();
    Batch {
        schema_version: SCHEMA_VERSION,
        batch_id: rng.id(),
        events,
    }
}

const VERSIONS: [&str; 6] = [
    "0.1.0",
    "1.95.0",
    "2.0.0-beta.1",
    "1.0.0-rc2",
    "3",
    "v1 of alice",
];
const NAMES: [&str; 6] = ["postgres", "s3", "blue_green", "a", "tokio-runtime_2", "zz"];
const HOST_ERRORS: [&str; 3] = ["acme::FetchError", "FetchError", "a::b::C_2"];
static PROGRAMS: [&str; 3] = ["acme", "/usr/bin/acme", "acme-cli"];
static SUBCOMMANDS: [&str; 3] = ["run", "status", "telemetry"];
static SWITCHES: [&str; 3] = ["--json", "-v", "--dry-run"];
static OPTIONS: [&str; 3] = ["--env", "--pipeline", "-o"];
static VALUES: [(&str, &[&str]); 2] = [("--env", &["staging", "prod"]), ("-o", &["json"])];
/// What a user types: declared words, flags with `=`, `--`, values, junk.
const ARGS: [&str; 20] = [
    "run",
    "status",
    "telemetry",
    "--json",
    "-v",
    "--dry-run",
    "--env",
    "--pipeline",
    "-o",
    "--env=staging",
    "--env=alice",
    "--json=yes",
    "-o=json",
    "--",
    "staging",
    "json",
    "/home/alice/data.csv",
    "--token=s3cr3t",
    "-",
    "",
];

fn random_body(rng: &mut Rng) -> Body {
    match rng.below(6) {
        0 => Body::Session {
            interactive: rng.chance(2),
            environment: rng.pick(&Environment::ALL),
            integrations: (0..rng.below(4))
                .filter_map(|_| Name::new(rng.pick(&NAMES)))
                .collect(),
        },
        1 => {
            let mut flags = Features::NONE;
            for row in &crate::wire::features::FEATURES {
                if rng.chance(2) {
                    flags = flags.union(row.flag);
                }
            }
            let calls = |rng: &mut Rng| Calls {
                calls: rng.count(),
                ok: rng.count(),
                err: rng.count(),
                panics: rng.count(),
            };
            Body::Usage {
                features: FeatureUse {
                    flows: rng.chance(2),
                    tasks: rng.chance(2),
                    flags,
                },
                metrics: Metrics {
                    flows_defined: rng.count(),
                    tasks_defined: rng.count(),
                    flow_runs: calls(rng),
                    task_runs: calls(rng),
                    retry_attempts: rng.count(),
                    cache_hits: rng.count(),
                    cache_misses: rng.count(),
                    flow_durations: Durations(std::array::from_fn(|_| rng.count())),
                    task_durations: Durations(std::array::from_fn(|_| rng.count())),
                    flow_concurrency: Concurrency::peak(rng.count()),
                    task_concurrency: Concurrency::peak(rng.below(100)),
                    dropped_events: rng.count(),
                },
            }
        }
        2 => {
            let known: Vec<ErrorType> = ErrorType::all()
                .chain(HOST_ERRORS.iter().copied().map(ErrorType::named))
                .collect();
            Body::Error {
                errors: Errors {
                    exception_types: (0..1 + rng.below(6))
                        .map(|_| (known[rng.below(known.len() as u64) as usize], rng.count()))
                        .collect(),
                },
            }
        }
        3 => Body::Heartbeat {
            session_start: rng.hour_before(Hour::now()),
        },
        4 => {
            let commands = Commands::new(rng.pick(&PROGRAMS))
                .subcommands(&SUBCOMMANDS)
                .switches(&SWITCHES)
                .options(&OPTIONS)
                .values(&VALUES);
            let args: Vec<&str> = (0..rng.below(40)).map(|_| rng.pick(&ARGS)).collect();
            Body::CliCommand {
                command: commands.mask(args),
            }
        }
        _ => {
            let values = |rng: &mut Rng| match rng.below(5) {
                0 => FieldValue::Bool(rng.chance(2)),
                1 => FieldValue::Count(Bucket::of(i128::from(rng.count() as i64))),
                2 => FieldValue::Choice(
                    Name::new(rng.pick(&NAMES)).unwrap_or(Name::new("a").expect("a name")),
                ),
                3 => FieldValue::Version(Version::new(rng.pick(&VERSIONS))),
                _ => FieldValue::Absent,
            };
            Body::Custom {
                name: Name::new(rng.pick(&NAMES)).expect("a name"),
                fields: (0..rng.below(5))
                    .filter_map(|_| Some((Name::new(rng.pick(&NAMES))?, values(rng))))
                    .collect(),
            }
        }
    }
}

/// xorshift64: reproducible from a seed, which is all a property test needs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.below(one_in) == 0
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    /// Small, large and extreme counts alike.
    fn count(&mut self) -> u64 {
        match self.below(8) {
            0 => 0,
            1 => u64::MAX,
            2 => crate::wire::json::MAX_COUNT,
            3 => self.next(),
            _ => self.below(1000),
        }
    }

    fn id(&mut self) -> Id {
        let bytes = (u128::from(self.next()) << 64 | u128::from(self.next())).to_le_bytes();
        Id::from(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    fn hour_before(&mut self, now: Hour) -> Hour {
        Hour::from_unix_secs((now.hours() - self.below(48) as i64) * 3600)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_samples_cover_every_event_type() {
        let types: Vec<&str> = super::samples()
            .iter()
            .map(|e| e.body.event_type())
            .collect();
        assert_eq!(
            types,
            [
                "session",
                "usage",
                "error",
                "heartbeat",
                "cli_command",
                "custom"
            ]
        );
    }
}
