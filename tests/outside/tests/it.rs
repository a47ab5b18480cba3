use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use outside::*;

fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

// One test, so the order of calls (and so the counts) is fixed.
#[test]
fn behaves_the_same_with_or_without_the_kill_switch() {
    telemetry::testing::set_recording(true);

    assert_eq!(fails_twice_then_ok(), Ok(3));
    assert_eq!(ran("fails_twice_then_ok"), 3);

    assert_eq!(always_fails(), Err(Failed(2)));
    assert_eq!(ran("always_fails"), 2);

    assert_eq!(expensive(2), 6);
    assert_eq!(expensive(2), 6);
    assert_eq!(ran("expensive"), 1);
    assert_eq!(expensive(5), 15);
    assert_eq!(ran("expensive"), 2);

    let mut g = Greeter {
        greeting: "hi".into(),
    };
    assert_eq!(g.greet("ann"), "hi, ann");
    let attempts = Cell::new(0);
    assert_eq!(g.set("hello", &attempts), Ok(()));
    assert_eq!(attempts.get(), 2);
    assert_eq!(g.finish(), 5);

    assert_eq!(first(&[7, 8]), Some(7));
    assert_eq!(first::<String>(&[]), None);
    assert_eq!(render(1.5), "[1.5]");

    assert_eq!(block_on(pipeline()), Ok(2 + 3 + 2));
    assert_eq!(block_on(async_cached(1)), 2);
    assert_eq!(ran("async_cached"), 1);
    assert_eq!(outside::one_expression(1), 2);
    DROPS.lock().unwrap().clear();
    assert_eq!(tail_temporary(false), Ok(4));
    assert_eq!(*DROPS.lock().unwrap(), ["local", "tail"]);

    let sites = telemetry::introspect::callsites();
    if cfg!(telemetry_disabled) {
        // Compiled out: no descriptor, no counter, no thread.
        assert!(sites.is_empty());
        assert!(!telemetry::introspect::is_recording());
    } else {
        assert_eq!(sites.len(), ANNOTATED);
        assert_eq!(telemetry::introspect::flows_defined(), 4);
        assert_eq!(telemetry::introspect::tasks_defined(), ANNOTATED - 4);
        let get = |name: &str| sites.iter().find(|s| s.name == name).unwrap().counts;
        let c = get("fails_twice_then_ok");
        assert_eq!((c.ok, c.err, c.retries), (1, 0, 2));
        let c = get("always_fails");
        assert_eq!((c.ok, c.err, c.retries), (0, 1, 1));
        let c = get("expensive");
        assert_eq!((c.cache_hits, c.cache_misses, c.calls()), (1, 2, 3));
        assert_eq!(get("never_called").calls(), 0);
    }
    let threads: Vec<String> = std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
                .map(|s| s.trim().to_string())
                .collect()
        })
        .unwrap_or_default();
    if cfg!(telemetry_disabled) {
        // Only the timer serving the user's own async `retry_delay_ms` may exist.
        assert!(
            threads
                .iter()
                .all(|t| !t.starts_with("telemetry") || t == "telemetry-retry"),
            "{threads:?}"
        );
    }
}
