//! Where a result comes from: nrg's version and commit, the machine, the date. Recorded in
//! every run's JSON so a number can be traced and compared.

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

/// The nrg build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Build {
    /// Crate version.
    pub version: String,
    /// Git commit at build time ("unknown" when built without git).
    pub commit: String,
}

/// The machine a run ran on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Machine {
    /// CPU model (`model name` of /proc/cpuinfo; "unknown" elsewhere).
    pub cpu: String,
    /// Cores available to the process.
    pub cores: usize,
    /// Operating system and architecture, e.g. `linux x86_64`.
    pub os: String,
}

/// This build.
pub fn build() -> Build {
    Build {
        version: env!("CARGO_PKG_VERSION").to_string(),
        commit: env!("NRG_GIT_COMMIT").to_string(),
    }
}

/// This machine (read once).
pub fn machine() -> Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE
        .get_or_init(|| {
            let cpu = std::fs::read_to_string("/proc/cpuinfo")
                .ok()
                .and_then(|c| {
                    c.lines()
                        .find(|l| l.starts_with("model name"))
                        .and_then(|l| l.split(':').nth(1))
                        .map(|s| s.trim().to_string())
                })
                .unwrap_or_else(|| "unknown".into());
            Machine {
                cpu,
                cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
                os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            }
        })
        .clone()
}

/// The current time, RFC 3339 in UTC to the second (e.g. `2026-12-03T09:47:17Z`).
pub fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
