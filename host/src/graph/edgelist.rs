//! Reader for plain edge lists, the format of `shared/data/**/*.edges`.
//!
//! One undirected edge `u v` or `u v w` per line, 0-based node ids, weight 1 when absent; lines
//! starting with `#` are comments, blank lines are skipped. The node count comes from a
//! `# nodes N edges M` comment when present (then every id must be `< N` and the file must hold
//! exactly `M` distinct edges), else from the largest id + 1.
//!
//! Repairs, each reported as a warning: self-loops are dropped; an edge listed twice with the
//! same weight (e.g. once in each direction) is kept once. The same edge with two different
//! weights is an error. A header that declares far more nodes than the edges name (more than
//! half of them, and at least [`super::read::UNUSED_TRIM`], after the largest id) has that
//! empty tail left out, with a warning that gives both counts.

use std::path::Path;

use nrg_core::graph::Edge;

use super::graph::Graph;
use super::read::{
    ABS_HINT, Read, ReadError, ReadErrorKind, WeightPolicy, grow, parse_f64, parse_u64, read_text,
    split_fields, stem, trailing_unused,
};

/// Parses a `# nodes N [edges M]` comment body (the part after `#`).
fn header_counts(body: &str) -> Option<(u64, Option<u64>)> {
    let toks: Vec<&str> = body.split_whitespace().collect();
    match toks.as_slice() {
        ["nodes", n, "edges", m, ..] => Some((n.parse().ok()?, Some(m.parse().ok()?))),
        ["nodes", n, ..] => Some((n.parse().ok()?, None)),
        _ => None,
    }
}

/// Reads an edge list (see the module docs for the format and the repairs it makes); negative
/// weights are an error.
pub fn read_edge_list(path: &Path) -> Result<Read, ReadError> {
    read_edge_list_with(path, WeightPolicy::Reject)
}

/// [`read_edge_list`] with a policy for negative weights.
pub fn read_edge_list_with(path: &Path, policy: WeightPolicy) -> Result<Read, ReadError> {
    let text = read_text(path)?;
    let mut header: Option<(u64, Option<u64>, usize)> = None;
    let mut edges: Vec<(u32, u32, f32, usize)> = Vec::new();
    let mut self_loops: Vec<usize> = Vec::new();
    let mut last_line = 0usize;
    let bar = super::progress::file_bar(path, text.len() as u64);
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        last_line = line;
        super::progress::tick(
            bar.as_ref(),
            line,
            (raw.as_ptr() as usize).saturating_sub(text.as_ptr() as usize) as u64,
        );
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(body) = t.strip_prefix('#') {
            if let Some((n, m)) = header_counts(body) {
                if header.is_some() {
                    return Err(ReadError::at(
                        path,
                        line,
                        ReadErrorKind::Header,
                        "a second `# nodes N edges M` header",
                    ));
                }
                if !edges.is_empty() {
                    return Err(ReadError::at(
                        path,
                        line,
                        ReadErrorKind::Header,
                        "the `# nodes N edges M` header must come before the first edge",
                    ));
                }
                if n > u64::from(u32::MAX) {
                    return Err(ReadError::at(
                        path,
                        line,
                        ReadErrorKind::Header,
                        format!("{n} nodes is more than u32 indices can address"),
                    ));
                }
                header = Some((n, m, line));
            }
            continue;
        }
        let (toks, count) = split_fields::<3>(t);
        if !(count == 2 || count == 3) {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                format!("expected `u v` or `u v w`, found {count} fields in `{t}`"),
            ));
        }
        let limit = header.map_or(u64::from(u32::MAX), |h| h.0);
        let mut ids = [0u32; 2];
        for (slot, tok) in ids.iter_mut().zip(&toks) {
            let x = parse_u64(path, line, tok, "node index")?;
            if x >= limit {
                let msg = match header {
                    Some((n, _, hl)) => format!(
                        "node index {x} is out of range: the header on line {hl} declares {n} nodes (0..{n})"
                    ),
                    None => format!("node index {x} is too large (max {})", u32::MAX - 1),
                };
                return Err(ReadError::at(path, line, ReadErrorKind::OutOfRange, msg));
            }
            *slot = x as u32;
        }
        let w = match toks.get(2).filter(|_| count == 3) {
            Some(tok) => {
                let w = parse_f64(path, line, tok, "weight")?;
                let w32 = w as f32;
                if !w32.is_finite() {
                    return Err(ReadError::at(
                        path,
                        line,
                        ReadErrorKind::Graph,
                        format!("weight {w} must be non-negative and fit in f32"),
                    ));
                }
                if w32 < 0.0 && policy == WeightPolicy::Reject {
                    return Err(ReadError::at(
                        path,
                        line,
                        ReadErrorKind::Graph,
                        format!("weight {w} is negative (must be non-negative): {ABS_HINT}"),
                    ));
                }
                w32.abs()
            }
            None => 1.0,
        };
        let [u, v] = ids;
        if u == v {
            self_loops.push(line);
            continue;
        }
        grow(path, &mut edges)?;
        edges.push((u.min(v), u.max(v), w, line));
    }
    super::progress::finish(bar);
    let used = edges.iter().map(|e| e.1 as usize + 1).max().unwrap_or(0);
    let mut warnings = Vec::new();
    let n = match header {
        Some((n, _, hl)) => match trailing_unused(n, used as u64) {
            Some(kept) => {
                warnings.push(format!(
                    "{}:{hl}: the header declares {n} nodes, but the edges name nodes below \
                     {used} only; the {} nodes from {used} on have no edges and are left out \
                     (the graph has {kept} nodes, and a state of it {kept} values)",
                    path.display(),
                    n - kept
                ));
                kept as usize
            }
            None => n as usize,
        },
        None => used,
    };
    edges.sort_by_key(|e| (e.0, e.1, e.3));
    let mut unique: Vec<Edge> = Vec::with_capacity(edges.len());
    let mut first_line: Vec<usize> = Vec::with_capacity(edges.len());
    let mut repeats: Vec<usize> = Vec::new();
    for (u, v, w, line) in edges {
        match (unique.last(), first_line.last()) {
            (Some(&(pu, pv, pw)), Some(&pl)) if pu == u && pv == v => {
                if pw.to_bits() != w.to_bits() {
                    return Err(ReadError::at(
                        path,
                        line,
                        ReadErrorKind::Duplicate,
                        format!(
                            "edge ({u}, {v}) has weight {w} here but {pw} on line {pl}; an edge may be given once"
                        ),
                    ));
                }
                repeats.push(line);
            }
            _ => {
                unique.push((u, v, w));
                first_line.push(line);
            }
        }
    }
    if let Some((_, Some(m), hl)) = header
        && unique.len() as u64 != m
    {
        let (kind, what) = if (unique.len() as u64) < m {
            (ReadErrorKind::Truncated, "fewer: is the file truncated?")
        } else {
            (ReadErrorKind::Format, "more")
        };
        return Err(ReadError::at(
            path,
            last_line.max(1),
            kind,
            format!(
                "the header on line {hl} declares {m} edges but the file holds {} distinct edges ({what})",
                unique.len()
            ),
        ));
    }
    if let Some(&first) = self_loops.first() {
        warnings.push(format!(
            "{}: dropped {} self-loop(s) (first on line {first})",
            path.display(),
            self_loops.len()
        ));
    }
    if let Some(first) = repeats.iter().min() {
        warnings.push(format!(
            "{}: {} repeated edge(s) kept once (first repeat on line {first})",
            path.display(),
            repeats.len()
        ));
    }
    if unique.is_empty() {
        return Err(ReadError::file(
            path,
            ReadErrorKind::Format,
            format!(
                "holds no edges ({}): an edge list needs one `u v [w]` line per edge, 0-based",
                if self_loops.is_empty() {
                    "only blank or comment lines".to_string()
                } else {
                    format!("only {} self-loop(s), which are dropped", self_loops.len())
                }
            ),
        ));
    }
    let graph = Graph::from_edges(n, unique, stem(path)).map_err(|e| ReadError::build(path, e))?;
    Ok(Read { graph, warnings })
}
