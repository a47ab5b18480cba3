//! Ranges instead of numbers: how long calls took, and the integers of custom events.

use crate::wire::json::{Json, ToJson};

/// How long a call took, in the ranges the `usage` event counts calls in: `<1s`, `1-10s`,
/// `10-60s`, `1-5min`, `5-30min`, `>30min`. The one definition the counters, the coarse
/// clock, the wire and the batch all use.
///
/// ```
/// use telemetry::wire::DurationBucket;
///
/// let labels = DurationBucket::ALL.map(DurationBucket::label);
/// assert_eq!(labels, ["<1s", "1-10s", "10-60s", "1-5min", "5-30min", ">30min"]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DurationBucket {
    /// Under one second.
    Under1s,
    /// One to ten seconds.
    From1To10s,
    /// Ten to sixty seconds.
    From10To60s,
    /// One to five minutes.
    From1To5min,
    /// Five to thirty minutes.
    From5To30min,
    /// Thirty minutes or more.
    Over30min,
}

impl DurationBucket {
    /// How many buckets there are.
    pub const COUNT: usize = 6;

    /// Every bucket, shortest first; a bucket's position here is its index in
    /// `Counts::durations`.
    pub const ALL: [DurationBucket; Self::COUNT] = [
        DurationBucket::Under1s,
        DurationBucket::From1To10s,
        DurationBucket::From10To60s,
        DurationBucket::From1To5min,
        DurationBucket::From5To30min,
        DurationBucket::Over30min,
    ];

    /// What is sent.
    pub const fn label(self) -> &'static str {
        match self {
            DurationBucket::Under1s => "<1s",
            DurationBucket::From1To10s => "1-10s",
            DurationBucket::From10To60s => "10-60s",
            DurationBucket::From1To5min => "1-5min",
            DurationBucket::From5To30min => "5-30min",
            DurationBucket::Over30min => ">30min",
        }
    }

    /// The bucket in words, for people (`TELEMETRY.md`).
    pub(crate) const fn phrase(self) -> &'static str {
        match self {
            DurationBucket::Under1s => "under a second",
            DurationBucket::From1To10s => "1 to 10 seconds",
            DurationBucket::From10To60s => "10 to 60 seconds",
            DurationBucket::From1To5min => "1 to 5 minutes",
            DurationBucket::From5To30min => "5 to 30 minutes",
            DurationBucket::Over30min => "over 30 minutes",
        }
    }

    /// The bucket of a call that lasted `tenths` tenths of a second (the coarse clock's
    /// ticks).
    #[inline(always)]
    pub(crate) const fn of_tenths(tenths: u32) -> DurationBucket {
        const PER_SEC: u32 = 10;
        match tenths {
            t if t < PER_SEC => DurationBucket::Under1s,
            t if t < 10 * PER_SEC => DurationBucket::From1To10s,
            t if t < 60 * PER_SEC => DurationBucket::From10To60s,
            t if t < 300 * PER_SEC => DurationBucket::From1To5min,
            t if t < 1800 * PER_SEC => DurationBucket::From5To30min,
            _ => DurationBucket::Over30min,
        }
    }

    /// Its position in [`ALL`](Self::ALL).
    #[inline(always)]
    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}

/// Completed calls per duration bucket, in the order of [`DurationBucket::ALL`]; sent as
/// an object keyed by the buckets' labels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Durations(pub(crate) [u64; DurationBucket::COUNT]);

impl Durations {
    /// The count of one bucket.
    #[cfg(test)]
    pub(crate) fn get(&self, bucket: DurationBucket) -> u64 {
        self.0[bucket.index()]
    }
}

impl ToJson for Durations {
    fn to_json(&self) -> Json {
        Json::object(
            DurationBucket::ALL
                .iter()
                .map(|b| (b.label(), Json::count(self.0[b.index()]))),
        )
    }
}

/// How many calls of one kind (flows, or tasks) were running at once, at the busiest moment
/// the coarse clock saw since the previous batch: `1`, `2-4`, `5-16`, `17-64`, `>64`.
/// Sampled every 100 ms, so calls shorter than that are rarely seen running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConcurrencyBucket {
    /// One at a time.
    One,
    /// Two to four.
    From2To4,
    /// Five to sixteen.
    From5To16,
    /// Seventeen to sixty-four.
    From17To64,
    /// More than sixty-four.
    Over64,
}

impl ConcurrencyBucket {
    /// How many buckets there are.
    pub const COUNT: usize = 5;

    /// Every bucket, smallest first.
    pub const ALL: [ConcurrencyBucket; Self::COUNT] = [
        ConcurrencyBucket::One,
        ConcurrencyBucket::From2To4,
        ConcurrencyBucket::From5To16,
        ConcurrencyBucket::From17To64,
        ConcurrencyBucket::Over64,
    ];

    /// What is sent.
    pub const fn label(self) -> &'static str {
        match self {
            ConcurrencyBucket::One => "1",
            ConcurrencyBucket::From2To4 => "2-4",
            ConcurrencyBucket::From5To16 => "5-16",
            ConcurrencyBucket::From17To64 => "17-64",
            ConcurrencyBucket::Over64 => ">64",
        }
    }

    /// The bucket of `n` calls at once; none for zero.
    pub(crate) const fn of(n: u64) -> Option<ConcurrencyBucket> {
        match n {
            0 => None,
            1 => Some(ConcurrencyBucket::One),
            2..=4 => Some(ConcurrencyBucket::From2To4),
            5..=16 => Some(ConcurrencyBucket::From5To16),
            17..=64 => Some(ConcurrencyBucket::From17To64),
            _ => Some(ConcurrencyBucket::Over64),
        }
    }
}

/// The peak concurrency since the previous batch, as one `1` in the bucket it fell in
/// (all zero when nothing was seen running): summed over batches at the collector, it says
/// how often a product runs that many calls at once.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Concurrency(pub(crate) [u64; ConcurrencyBucket::COUNT]);

impl Concurrency {
    /// The peak `n`, as its bucket.
    pub(crate) fn peak(n: u64) -> Concurrency {
        let mut counts = [0; ConcurrencyBucket::COUNT];
        if let Some(bucket) = ConcurrencyBucket::of(n) {
            counts[bucket as usize] = 1;
        }
        Concurrency(counts)
    }
}

impl ToJson for Concurrency {
    fn to_json(&self) -> Json {
        Json::object(
            ConcurrencyBucket::ALL
                .iter()
                .map(|b| (b.label(), Json::count(self.0[*b as usize]))),
        )
    }
}

/// The range an integer of a custom event falls in: an exact count could single out a
/// user (a file size, a row count), a range cannot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Bucket {
    /// Below zero.
    Negative,
    /// 0.
    Zero,
    /// 1.
    One,
    /// 2 to 5.
    From2To5,
    /// 6 to 10.
    From6To10,
    /// 11 to 100.
    From11To100,
    /// 101 to 1000.
    From101To1000,
    /// 1001 to 10000.
    From1001To10000,
    /// Above 10000.
    Over10000,
}

impl Bucket {
    /// Every bucket, in order.
    pub const ALL: [Bucket; 9] = [
        Bucket::Negative,
        Bucket::Zero,
        Bucket::One,
        Bucket::From2To5,
        Bucket::From6To10,
        Bucket::From11To100,
        Bucket::From101To1000,
        Bucket::From1001To10000,
        Bucket::Over10000,
    ];

    /// The bucket of `n`.
    ///
    /// ```
    /// use telemetry::wire::Bucket;
    ///
    /// assert_eq!(Bucket::of(7).label(), "6-10");
    /// assert_eq!(Bucket::of(-3).label(), "<0");
    /// ```
    pub fn of(n: i128) -> Bucket {
        match n {
            ..0 => Bucket::Negative,
            0 => Bucket::Zero,
            1 => Bucket::One,
            2..=5 => Bucket::From2To5,
            6..=10 => Bucket::From6To10,
            11..=100 => Bucket::From11To100,
            101..=1000 => Bucket::From101To1000,
            1001..=10000 => Bucket::From1001To10000,
            _ => Bucket::Over10000,
        }
    }

    /// What is sent.
    pub fn label(self) -> &'static str {
        match self {
            Bucket::Negative => "<0",
            Bucket::Zero => "0",
            Bucket::One => "1",
            Bucket::From2To5 => "2-5",
            Bucket::From6To10 => "6-10",
            Bucket::From11To100 => "11-100",
            Bucket::From101To1000 => "101-1000",
            Bucket::From1001To10000 => "1001-10000",
            Bucket::Over10000 => ">10000",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_follow_the_bucket_boundaries() {
        let cases = [
            (0, 0),
            (9, 0),
            (10, 1),
            (99, 1),
            (100, 2),
            (599, 2),
            (600, 3),
            (2999, 3),
            (3000, 4),
            (17999, 4),
            (18000, 5),
            (u32::MAX, 5),
        ];
        for (tenths, expected) in cases {
            assert_eq!(
                DurationBucket::of_tenths(tenths).index(),
                expected,
                "{tenths}"
            );
        }
    }

    #[test]
    fn integers_are_sent_as_ranges() {
        let labels: Vec<&str> = [
            -5, 0, 1, 2, 5, 6, 10, 11, 100, 101, 1000, 1001, 10000, 10001,
        ]
        .into_iter()
        .map(|n| Bucket::of(n).label())
        .collect();
        assert_eq!(
            labels,
            [
                "<0",
                "0",
                "1",
                "2-5",
                "2-5",
                "6-10",
                "6-10",
                "11-100",
                "11-100",
                "101-1000",
                "101-1000",
                "1001-10000",
                "1001-10000",
                ">10000"
            ]
        );
        assert_eq!(Bucket::of(i128::MAX), Bucket::Over10000);
    }
}
