//! The `nrg` command line; everything lives in `nrg_host::cli`.

fn main() -> std::process::ExitCode {
    match nrg_host::cli::main() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
