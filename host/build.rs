//! Records the git commit nrg is built from (`NRG_GIT_COMMIT`, "unknown" without git or
//! outside a repository), for the provenance in every run's JSON. No network.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    let commit = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=NRG_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves (a commit or a checkout); works in worktrees too.
    for path in [
        git(&["rev-parse", "--git-path", "HEAD"]),
        git(&["rev-parse", "--symbolic-full-name", "HEAD"])
            .and_then(|r| git(&["rev-parse", "--git-path", &r])),
    ]
    .into_iter()
    .flatten()
    {
        let p = std::path::Path::new(&path);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_default()
        };
        println!("cargo:rerun-if-changed={}", abs.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}
