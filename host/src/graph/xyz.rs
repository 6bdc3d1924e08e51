//! Point clouds in `.xyz` text files and their k-nearest-neighbour graphs.
//!
//! One point per line, `x y z` (or `x y`, then z = 0); `#` lines are comments, blank lines are
//! skipped. A `# points N` comment, when present, must match the number of points.

use std::path::Path;

use super::knn::knn_graph;
use super::read::{Read, ReadError, ReadErrorKind, parse_f64, parse_u64, read_text, stem};

/// Reads the points of an `.xyz` file, in file order.
pub fn read_xyz(path: &Path) -> Result<Vec<[f64; 3]>, ReadError> {
    let text = read_text(path)?;
    let mut points = Vec::new();
    let mut declared: Option<(u64, usize)> = None;
    let mut last_line = 1usize;
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        last_line = line;
        let t = raw.trim();
        if t.is_empty() {
            continue;
        }
        if let Some(body) = t.strip_prefix('#') {
            let toks: Vec<&str> = body.split_whitespace().collect();
            if let ["points", count, ..] = toks.as_slice() {
                declared = Some((parse_u64(path, line, count, "point count")?, line));
            }
            continue;
        }
        let toks: Vec<&str> = t.split_whitespace().collect();
        if !(toks.len() == 2 || toks.len() == 3) {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                format!("expected a point `x y z`, found {} fields", toks.len()),
            ));
        }
        let mut p = [0.0; 3];
        for (slot, (tok, what)) in p.iter_mut().zip(toks.iter().zip(["x", "y", "z"])) {
            *slot = parse_f64(path, line, tok, what)?;
        }
        points.push(p);
    }
    if points.is_empty() {
        return Err(ReadError::file(
            path,
            ReadErrorKind::Format,
            "holds no points (only blank or comment lines): a point cloud needs one `x y [z]` \
             line per point",
        ));
    }
    if let Some((count, hl)) = declared
        && count != points.len() as u64
    {
        let kind = if (points.len() as u64) < count {
            ReadErrorKind::Truncated
        } else {
            ReadErrorKind::Format
        };
        return Err(ReadError::at(
            path,
            last_line,
            kind,
            format!(
                "line {hl} declares {count} points but the file holds {}",
                points.len()
            ),
        ));
    }
    Ok(points)
}

/// Reads an `.xyz` point cloud and builds its symmetrized kNN graph (weights 1, coordinates
/// kept; see [`super::knn_graph`]).
pub fn read_xyz_knn(path: &Path, k: usize) -> Result<Read, ReadError> {
    let points = read_xyz(path)?;
    let name = format!("{}-knn{k}", stem(path));
    let mut warnings = Vec::new();
    let others = points.len() - 1;
    if k > others {
        // A reasonable default: every point links to all others. Said, not silent.
        warnings.push(format!(
            "{}: k = {k} but the cloud has {} point(s): each point is linked to all {others} \
             other(s) (k taken as {others})",
            path.display(),
            points.len()
        ));
    }
    let graph = knn_graph(points, k, name).map_err(|e| ReadError::build(path, e))?;
    Ok(Read { graph, warnings })
}
