//! The `nrg` command line; everything lives in `nrg_host::cli`.

fn main() -> std::process::ExitCode {
    restore_sigpipe();
    match nrg_host::cli::main() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Rust ignores SIGPIPE, so `nrg ... | head` would panic in `println!` once `head` exits;
/// the default action ends nrg quietly with the conventional status instead (as `cat` does).
#[cfg(unix)]
fn restore_sigpipe() {
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

#[cfg(not(unix))]
fn restore_sigpipe() {}
