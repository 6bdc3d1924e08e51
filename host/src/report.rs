//! Summaries of runs: statistics over seeds, printed tables, and files written atomically
//! (JSON, CSV, states), so an error never leaves a partial output file behind.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::run::{CurvePoint, Outcome, RunRecord};

/// Mean and sample standard deviation of a set of numbers (NaN-free input expected).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    /// Mean.
    pub mean: f64,
    /// Sample standard deviation (0 for a single value).
    pub sd: f64,
    /// Number of values.
    pub count: usize,
}

impl Stat {
    /// Statistics of the finite values in `xs` (`None` if there are none).
    pub fn of(xs: impl IntoIterator<Item = f64>) -> Option<Stat> {
        let v: Vec<f64> = xs.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let sd = if v.len() > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt()
        } else {
            0.0
        };
        Some(Stat {
            mean,
            sd,
            count: v.len(),
        })
    }

    /// `mean ± sd` with a format for the numbers.
    pub fn show(&self, fmt: fn(f64) -> String) -> String {
        if self.count > 1 {
            format!("{} ± {}", fmt(self.mean), fmt(self.sd))
        } else {
            fmt(self.mean)
        }
    }
}

/// Median and range of a set of ratios (e.g. per-seed speedups): enough to tell noise from an
/// effect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    /// Median.
    pub median: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Number of values.
    pub count: usize,
}

impl Spread {
    /// The spread of the finite values in `xs` (`None` if there are none).
    pub fn of(xs: impl IntoIterator<Item = f64>) -> Option<Spread> {
        let mut v: Vec<f64> = xs.into_iter().filter(|x| x.is_finite()).collect();
        if v.is_empty() {
            return None;
        }
        v.sort_by(f64::total_cmp);
        let k = v.len();
        let median = if k % 2 == 1 {
            v[k / 2]
        } else {
            0.5 * (v[k / 2 - 1] + v[k / 2])
        };
        Some(Spread {
            median,
            min: v[0],
            max: v[k - 1],
            count: k,
        })
    }
}

/// Seconds, to three significant digits with a unit.
pub fn seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// A number in short scientific or plain form.
pub fn number(x: f64) -> String {
    if x == 0.0 || (1e-3..1e5).contains(&x.abs()) {
        format!("{x:.6}")
    } else {
        format!("{x:.5e}")
    }
}

/// Plain integer-ish display.
pub fn count(x: f64) -> String {
    format!("{x:.0}")
}

/// One row of a method comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CompareRow {
    /// Method name.
    pub method: String,
    /// Runs aggregated.
    pub runs: usize,
    /// Runs that diverged.
    pub diverged: usize,
    /// Total steps.
    pub steps: Option<Stat>,
    /// Total wall time.
    pub time_s: Option<Stat>,
    /// Final energy.
    pub final_energy: Option<Stat>,
    /// Best energy.
    pub best_energy: Option<Stat>,
    /// Order parameter of the returned state.
    pub rho: Option<Stat>,
    /// Relative gap of the best energy to the reference, when one is known.
    pub relative_gap: Option<Stat>,
    /// Mean wall time of direct divided by this method's (> 1: this method is faster).
    pub speedup_vs_direct: Option<f64>,
    /// Per-seed speedups (direct's time over this method's on the same seed): median and
    /// range, so a reader can tell noise from an effect.
    pub speedup_per_seed: Option<Spread>,
}

/// Aggregates runs by method (in first-seen order) and computes speedups against `direct`.
pub fn compare_rows(records: &[RunRecord]) -> Vec<CompareRow> {
    let mut methods: Vec<&str> = Vec::new();
    for r in records {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    let rows: Vec<CompareRow> = methods
        .iter()
        .map(|m| {
            let rs: Vec<&RunRecord> = records.iter().filter(|r| r.method == *m).collect();
            let ok: Vec<&&RunRecord> = rs.iter().filter(|r| r.error.is_none()).collect();
            CompareRow {
                method: m.to_string(),
                runs: rs.len(),
                diverged: rs.len() - ok.len(),
                steps: Stat::of(ok.iter().map(|r| (r.steps.nr + r.steps.direct) as f64)),
                time_s: Stat::of(ok.iter().map(|r| r.time_s.total)),
                final_energy: Stat::of(ok.iter().map(|r| r.final_energy)),
                best_energy: Stat::of(ok.iter().map(|r| r.best_energy)),
                rho: Stat::of(ok.iter().filter_map(|r| r.rho)),
                relative_gap: Stat::of(ok.iter().filter_map(|r| r.relative_gap)),
                speedup_vs_direct: None,
                speedup_per_seed: None,
            }
        })
        .collect();
    let direct_time_of = |seed: u64| {
        records
            .iter()
            .find(|r| r.method == "direct" && r.seed == seed && r.error.is_none())
            .map(|r| r.time_s.total)
    };
    let direct_time = rows
        .iter()
        .find(|r| r.method == "direct")
        .and_then(|r| r.time_s)
        .map(|s| s.mean);
    rows.into_iter()
        .map(|mut r| {
            r.speedup_vs_direct = match (direct_time, r.time_s) {
                (Some(d), Some(t)) if t.mean > 0.0 => Some(d / t.mean),
                _ => None,
            };
            r.speedup_per_seed = Spread::of(
                records
                    .iter()
                    .filter(|x| x.method == r.method && x.error.is_none() && x.time_s.total > 0.0)
                    .filter_map(|x| direct_time_of(x.seed).map(|d| d / x.time_s.total)),
            );
            r
        })
        .collect()
}

/// Renders rows as an aligned plain-text table.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| -> String {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push('\n');
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push('\n');
        out.push_str(&line(row.clone()));
    }
    out.push('\n');
    out
}

/// The comparison table as text.
pub fn compare_table(rows: &[CompareRow]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let opt = |s: Option<Stat>, f: fn(f64) -> String| s.map_or("-".into(), |s| s.show(f));
            vec![
                r.method.clone(),
                format!(
                    "{}{}",
                    r.runs,
                    if r.diverged > 0 {
                        format!(" ({} diverged)", r.diverged)
                    } else {
                        String::new()
                    }
                ),
                opt(r.steps, count),
                opt(r.time_s, seconds),
                opt(r.final_energy, number),
                opt(r.best_energy, number),
                opt(r.rho, |x| format!("{x:.4}")),
                opt(r.relative_gap, |x| format!("{x:.2e}")),
                r.speedup_vs_direct
                    .map_or("-".into(), |s| format!("{s:.2}×")),
                match r.speedup_per_seed {
                    Some(s) if s.count > 1 => {
                        format!("{:.2}× ({:.2}–{:.2})", s.median, s.min, s.max)
                    }
                    Some(s) => format!("{:.2}×", s.median),
                    None => "-".into(),
                },
            ]
        })
        .collect();
    table(
        &[
            "method",
            "runs",
            "steps",
            "wall time",
            "final energy",
            "best energy",
            "rho",
            "gap",
            "speedup",
            "per seed: median (min–max)",
        ],
        &body,
    )
}

/// One line per run.
pub fn runs_table(records: &[RunRecord]) -> String {
    let body: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.method.clone(),
                r.seed.to_string(),
                format!("{}+{}", r.steps.nr, r.steps.direct),
                seconds(r.time_s.total),
                number(r.final_energy),
                number(r.best_energy),
                r.rho.map_or("-".into(), |x| format!("{x:.4}")),
                r.relative_gap.map_or("-".into(), |g| format!("{g:.2e}")),
                r.stop_reason.clone(),
            ]
        })
        .collect();
    table(
        &[
            "method",
            "seed",
            "steps nr+direct",
            "wall time",
            "final energy",
            "best energy",
            "rho",
            "gap",
            "stop",
        ],
        &body,
    )
}

/// Whether an output path means standard output: `-`, or `/dev/stdout` and its aliases
/// (written as a stream, so text already printed there is kept).
pub fn means_stdout(path: &Path) -> bool {
    matches!(
        path.to_str(),
        Some("-" | "/dev/stdout" | "/dev/fd/1" | "/proc/self/fd/1")
    )
}

/// Writes a file through a temporary sibling and a rename, so readers never see a partial file.
///
/// `-` (see [`means_stdout`]) writes to stdout. A symlink or a special file (`/dev/null`, a
/// FIFO) is written through, never replaced: the rename would turn it into a regular file.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    if means_stdout(path) {
        let mut out = BufWriter::new(std::io::stdout().lock());
        write(&mut out)?;
        out.flush().context("cannot write to stdout")?;
        return Ok(());
    }
    if fs::symlink_metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let target_is_file = fs::metadata(path).is_ok_and(|m| m.is_file());
        let file = fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(target_is_file)
            .open(path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        let mut out = BufWriter::new(file);
        write(&mut out).with_context(|| format!("while writing {}", path.display()))?;
        out.flush()
            .with_context(|| format!("cannot write {}", path.display()))?;
        return Ok(());
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let tmp = tmp_sibling(path);
    let result = (|| -> Result<()> {
        let file =
            fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut out = BufWriter::new(file);
        write(&mut out)?;
        out.flush()?;
        Ok(())
    })();
    match result {
        Ok(()) => fs::rename(&tmp, path).or_else(|e| {
            // A failed rename (e.g. `path` is a directory) must not leave the temporary behind.
            let _ = fs::remove_file(&tmp);
            Err(e).with_context(|| format!("cannot write {}", path.display()))
        }),
        Err(e) => {
            let _ = fs::remove_file(&tmp);
            Err(e.context(format!("while writing {}", path.display())))
        }
    }
}

/// `dir/.name.tmp` next to `path`.
pub fn tmp_sibling(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Writes a value as pretty JSON.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    write_atomic(path, |out| {
        Ok(serde_json::to_writer_pretty(&mut *out, value)?)
    })
}

/// The CSV row of a curve point.
#[derive(Serialize)]
struct CurveRow<'a> {
    method: &'a str,
    seed: u64,
    step: u32,
    stage: crate::run::StageName,
    seconds: f64,
    energy: f64,
    rho: Option<f64>,
}

/// Writes the curves of runs as CSV: `method, seed, step, stage, seconds, energy, rho`.
pub fn write_curves(path: &Path, outcomes: &[&Outcome]) -> Result<()> {
    write_atomic(path, |out| {
        let mut w = csv::Writer::from_writer(out);
        for o in outcomes {
            for p in &o.curve {
                let CurvePoint {
                    step,
                    stage,
                    seconds,
                    energy,
                    rho,
                } = *p;
                w.serialize(CurveRow {
                    method: &o.record.method,
                    seed: o.record.seed,
                    step,
                    stage,
                    seconds,
                    energy,
                    rho,
                })?;
            }
        }
        w.flush()?;
        Ok(())
    })
}

/// Writes a state, one value per line (what `nrg eval --state` reads).
pub fn write_state(path: &Path, w: &[f32]) -> Result<()> {
    write_atomic(path, |out| {
        for x in w {
            writeln!(out, "{x:e}")?;
        }
        Ok(())
    })
}

/// Reads a state written by [`write_state`] (one number per line, `#` comments, blank lines
/// skipped); errors name the file and line.
pub fn read_state(path: &Path) -> Result<Vec<f32>> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read state file {}", path.display()))?;
    let mut w = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        let x: f32 = t.parse().map_err(|_| {
            anyhow::anyhow!(
                "{}:{}: `{t}` is not a number (a state file has one value per line)",
                path.display(),
                i + 1
            )
        })?;
        if !x.is_finite() {
            anyhow::bail!("{}:{}: `{t}` is not finite", path.display(), i + 1);
        }
        w.push(x);
    }
    Ok(w)
}
