//! Sizes checked before allocating: a graph, a model or an optimizer that would not fit in the
//! machine's memory is refused with a message (what, how much, how much is available) instead
//! of aborting the process when the allocation fails.

use std::fmt;

/// The share of the available memory one request may take.
const SHARE: f64 = 0.8;

/// Bytes of memory available now: `MemAvailable` of `/proc/meminfo`, or 8 GiB where that is
/// unknown.
pub fn available_bytes() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(8u64 << 30, |kb| kb.saturating_mul(1024))
}

/// A request larger than the memory the machine has for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfMemory {
    /// What needed the memory.
    pub what: String,
    /// Bytes it needs (`u64::MAX`: more than can be counted).
    pub needed: u64,
    /// Bytes available.
    pub available: u64,
}

impl fmt::Display for OutOfMemory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let needed = if self.needed == u64::MAX {
            "more than 18 EB".to_string()
        } else {
            gigabytes(self.needed)
        };
        write!(
            f,
            "{} needs {needed} of memory, but {} is available (at most {:.0} % of it is used for \
             one request); use a smaller size",
            self.what,
            gigabytes(self.available),
            SHARE * 100.0
        )
    }
}

impl std::error::Error for OutOfMemory {}

fn gigabytes(bytes: u64) -> String {
    format!("{:.2} GB", bytes as f64 / 1e9)
}

/// `Err` when `needed` bytes exceed the share of the available memory one request may take.
pub fn check(what: impl Into<String>, needed: u64) -> Result<(), OutOfMemory> {
    let available = available_bytes();
    if needed as f64 > SHARE * available as f64 {
        Err(OutOfMemory {
            what: what.into(),
            needed,
            available,
        })
    } else {
        Ok(())
    }
}

/// `a · b` bytes, saturating (a saturated count is always refused).
pub fn bytes(count: u128, each: u128) -> u64 {
    u64::try_from(count.saturating_mul(each)).unwrap_or(u64::MAX)
}

/// Peak resident memory of this process so far (`VmHWM` of `/proc/self/status`), in bytes;
/// `None` where the kernel does not say. Read in-process so that every run's JSON carries it,
/// with no external `time -v` needed (it includes the graph and everything before the run).
pub fn peak_rss_bytes() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kb| kb.saturating_mul(1024))
}
