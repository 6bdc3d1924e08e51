//! Output paths of the commands: `-` for stdout, every path checked before the run starts,
//! and the removal of what a failed command wrote (only files nrg created, never a symlink or
//! a special file it wrote through).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::report::means_stdout;

/// Whether writing `path` creates or replaces a regular file that a failed command may remove
/// again (stdout, symlinks and special files are written through and never removed).
pub fn removable(path: &Path) -> bool {
    !means_stdout(path)
        && match fs::symlink_metadata(path) {
            Ok(m) => m.is_file(),
            Err(_) => true,
        }
}

/// Checks, before any work, that the file output `flag PATH` can be written: stdout is fine, a
/// symlink or special file is written through (but must not lead to a directory), and a
/// regular path needs a directory where a file can be created.
pub fn check_file(flag: &str, path: &Path) -> Result<()> {
    if means_stdout(path) {
        return Ok(());
    }
    if path.as_os_str().is_empty() {
        bail!("{flag}: empty path; give a file name or `-` for stdout");
    }
    match fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => bail!(
            "{flag}: cannot write {}: it is a directory; give a file name",
            path.display()
        ),
        Ok(m) if !m.is_file() => {
            // Symlink or special file (/dev/null, a FIFO...): written through, not replaced.
            if fs::metadata(path).is_ok_and(|t| t.is_dir()) {
                bail!(
                    "{flag}: cannot write {}: it leads to a directory; give a file name",
                    path.display()
                );
            }
            return Ok(());
        }
        _ => {}
    }
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    check_dir(flag, parent)
}

/// Checks that `dir` exists as a writable directory or can be created (its nearest existing
/// ancestor is a writable directory).
pub fn check_dir(flag: &str, dir: &Path) -> Result<()> {
    if means_stdout(dir) {
        bail!("{flag}: takes a directory, not `-`");
    }
    let mut existing: &Path = dir;
    loop {
        match fs::metadata(existing) {
            Ok(m) if m.is_dir() => break,
            Ok(_) => bail!(
                "{flag}: cannot create directory {}: {} is not a directory",
                dir.display(),
                existing.display()
            ),
            Err(_) => {
                existing = match existing.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
            }
        }
    }
    // Permission bits do not tell (root, ACLs, read-only mounts): try to create a file.
    let probe = existing.join(format!(".nrg-probe-{}", std::process::id()));
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)
        .with_context(|| {
            format!(
                "{flag}: cannot write {}: no permission to create files in {}; choose another \
                 path",
                dir.display(),
                existing.display()
            )
        })?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// The outputs of one command, checked together: at most one of them may be stdout.
#[derive(Debug, Default)]
pub struct Plan {
    /// `(flag, path)` of file outputs.
    pub files: Vec<(&'static str, PathBuf)>,
    /// `(flag, path)` of directory outputs.
    pub dirs: Vec<(&'static str, PathBuf)>,
}

impl Plan {
    /// Adds a file output if given.
    pub fn file(&mut self, flag: &'static str, path: Option<&Path>) -> &mut Self {
        if let Some(p) = path {
            self.files.push((flag, p.to_path_buf()));
        }
        self
    }

    /// Adds a directory output if given.
    pub fn dir(&mut self, flag: &'static str, path: Option<&Path>) -> &mut Self {
        if let Some(p) = path {
            self.dirs.push((flag, p.to_path_buf()));
        }
        self
    }

    /// Whether some output goes to stdout (then tables and notes go to stderr).
    pub fn uses_stdout(&self) -> bool {
        self.files.iter().any(|(_, p)| means_stdout(p))
    }

    /// Checks every output before the run starts.
    pub fn check(&self) -> Result<()> {
        let to_stdout: Vec<&str> = self
            .files
            .iter()
            .filter(|(_, p)| means_stdout(p))
            .map(|(f, _)| *f)
            .collect();
        if to_stdout.len() > 1 {
            bail!(
                "{} all write to stdout; send at most one of them there",
                to_stdout.join(", ")
            );
        }
        for (flag, p) in &self.files {
            check_file(flag, p)?;
        }
        for (flag, p) in &self.dirs {
            check_dir(flag, p)?;
        }
        Ok(())
    }
}

/// On error, removes the files the failed command already wrote: a command that fails leaves
/// no output behind (each file is written atomically, but a later one may still fail).
pub fn remove_on_error<T>(result: Result<T>, written: &[PathBuf]) -> Result<T> {
    if result.is_err() {
        for p in written {
            let _ = fs::remove_file(p);
        }
    }
    result
}
