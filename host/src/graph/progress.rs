//! Progress of reading or generating large graphs: an indicatif bar on stderr, drawn only for
//! large inputs, only when the command line asked for it ([`enable`]; `--quiet` does not) and
//! only when stderr is a terminal (indicatif hides itself otherwise), so it never reaches
//! stdout, JSON or a CI log.

use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{ProgressBar, ProgressStyle};

/// Files at least this large (bytes) get a bar while they are parsed.
pub const FILE_BYTES: u64 = 64 << 20;
/// Generators of at least this many nodes get a spinner while they run.
pub const NODES: u128 = 1_000_000;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Turns the bars on or off for the whole process (off by default: library callers and tests
/// draw nothing).
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::Relaxed);
}

/// A bar over the `total` bytes of `path` while it is parsed, or `None` when small, disabled
/// or hidden.
pub(crate) fn file_bar(path: &std::path::Path, total: u64) -> Option<ProgressBar> {
    if total < FILE_BYTES || !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    let bar = ProgressBar::new(total);
    if bar.is_hidden() {
        return None;
    }
    bar.set_style(
        ProgressStyle::with_template(
            "reading {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(path.display().to_string());
    Some(bar)
}

/// A spinner with the elapsed time while a generator of `nodes` nodes runs.
pub(crate) fn spinner(what: &str, nodes: u128) -> Option<ProgressBar> {
    if nodes < NODES || !ENABLED.load(Ordering::Relaxed) {
        return None;
    }
    let bar = ProgressBar::new_spinner();
    if bar.is_hidden() {
        return None;
    }
    bar.set_style(
        ProgressStyle::with_template("{spinner} generating {msg} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    Some(bar)
}

/// Moves a file bar to `pos` bytes every 2¹⁶ lines (cheap enough for every line to call).
pub(crate) fn tick(bar: Option<&ProgressBar>, line: usize, pos: u64) {
    if let Some(b) = bar
        && line.trailing_zeros() >= 16
    {
        b.set_position(pos);
    }
}

/// Clears a bar when the work is done (or failed).
pub(crate) fn finish(bar: Option<ProgressBar>) {
    if let Some(b) = bar {
        b.finish_and_clear();
    }
}
