//! Hand-written Matrix Market reader (coordinate format only), with errors that name the line.
//!
//! Supported banners: `%%MatrixMarket matrix coordinate F S` with field `F` one of `pattern`,
//! `real` (or `double`), `integer`, `complex`, and symmetry `S` one of `general`, `symmetric`,
//! `skew-symmetric`, `hermitian`. Indices are 1-based; the matrix must be square.
//!
//! # The graph of a matrix
//! Node `i − 1` for row/column `i`. The diagonal is dropped. Repeated entries of the same
//! position are added. Negative or complex values are an error under the default
//! [`WeightPolicy::Reject`]; under [`WeightPolicy::Abs`] the magnitude is taken. Edge `{i, j}` exists iff `A_ij` or `A_ji` is
//! stored, i.e. the pattern of `|A| + |Aᵀ|` (stored zeros count: they give weight-0 edges, with a
//! warning). Its weight is `max(|A_ij|, |A_ji|)`:
//! * pattern files: weight 1;
//! * symmetric / skew-symmetric / hermitian files (one triangle stored): `|a|` of the stored entry;
//! * general files: the larger magnitude of the two mirror entries, which is `|a|` when the
//!   matrix is in fact symmetric in magnitude. A general file that is not symmetric (pattern or
//!   magnitudes) is symmetrized this way and a warning says how many pairs were one-sided or
//!   unequal.

use std::path::Path;

use nrg_core::graph::Edge;

use super::graph::Graph;
use super::read::{
    ABS_HINT, Read, ReadError, ReadErrorKind, WeightPolicy, grow, parse_f64, parse_u64, read_text,
    split_fields, stem, trailing_unused,
};

/// The value type of the entries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Pattern,
    Real,
    Integer,
    Complex,
}

/// Whether only one triangle is stored.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Symmetry {
    General,
    Mirrored,
}

/// Parses the `%%MatrixMarket` banner on line 1.
fn banner(path: &Path, line: &str) -> Result<(Field, Symmetry), ReadError> {
    let bad = |msg: String| ReadError::at(path, 1, ReadErrorKind::Header, msg);
    let toks: Vec<String> = line
        .split_whitespace()
        .map(|t| t.to_ascii_lowercase())
        .collect();
    let expected = "expected `%%MatrixMarket matrix coordinate <pattern|real|integer|complex> <general|symmetric|skew-symmetric|hermitian>`";
    if toks.first().map(String::as_str) != Some("%%matrixmarket") {
        return Err(bad(format!("missing Matrix Market banner: {expected}")));
    }
    if toks.len() != 5 {
        return Err(bad(format!(
            "the banner has {} words: {expected}",
            toks.len()
        )));
    }
    if toks[1] != "matrix" {
        return Err(bad(format!(
            "object `{}` is not supported: {expected}",
            toks[1]
        )));
    }
    match toks[2].as_str() {
        "coordinate" => {}
        "array" => {
            return Err(bad(
                "dense `array` format is not supported: a graph needs `coordinate` (sparse) format"
                    .into(),
            ));
        }
        other => return Err(bad(format!("format `{other}` is unknown: {expected}"))),
    }
    let field = match toks[3].as_str() {
        "pattern" => Field::Pattern,
        "real" | "double" => Field::Real,
        "integer" => Field::Integer,
        "complex" => Field::Complex,
        other => return Err(bad(format!("field `{other}` is unknown: {expected}"))),
    };
    let sym = match toks[4].as_str() {
        "general" => Symmetry::General,
        "symmetric" | "skew-symmetric" | "hermitian" => Symmetry::Mirrored,
        other => return Err(bad(format!("symmetry `{other}` is unknown: {expected}"))),
    };
    Ok((field, sym))
}

/// Byte offset of `line` (a slice of `text`) in `text`, for the progress bar.
fn offset(text: &str, line: &str) -> u64 {
    (line.as_ptr() as usize).saturating_sub(text.as_ptr() as usize) as u64
}

/// One stored off-diagonal entry: `(lo, hi, upper, re, im, line)`.
type Entry = (u32, u32, bool, f64, f64, usize);

/// Reads a Matrix Market coordinate file as a graph (see the module docs for the rule);
/// negative or complex values are an error.
pub fn read_matrix_market(path: &Path) -> Result<Read, ReadError> {
    read_matrix_market_with(path, WeightPolicy::Reject)
}

/// [`read_matrix_market`] with a policy for negative or complex values: `Abs` takes `|a|`.
pub fn read_matrix_market_with(path: &Path, policy: WeightPolicy) -> Result<Read, ReadError> {
    let text = read_text(path)?;
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l));
    let strict = policy == WeightPolicy::Reject;
    let (field, sym) = match lines.next() {
        Some((_, first)) => {
            let parsed = banner(path, first)?;
            if strict && first.to_ascii_lowercase().contains("skew-symmetric") {
                return Err(ReadError::at(
                    path,
                    1,
                    ReadErrorKind::Graph,
                    format!(
                        "a skew-symmetric matrix has negative mirror entries a_ji = -a_ij: {ABS_HINT}"
                    ),
                ));
            }
            parsed
        }
        None => {
            return Err(ReadError::at(
                path,
                1,
                ReadErrorKind::Header,
                "empty file: expected a `%%MatrixMarket matrix coordinate ...` banner",
            ));
        }
    };
    let mut last_line = 1usize;
    // Size line: the first line that is neither a comment nor blank.
    let mut size: Option<(u64, u64, usize)> = None;
    for (line, raw) in lines.by_ref() {
        last_line = line;
        let t = raw.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        let toks: Vec<&str> = t.split_whitespace().collect();
        if toks.len() != 3 {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Header,
                format!(
                    "expected the size line `rows cols entries`, found {} fields",
                    toks.len()
                ),
            ));
        }
        let rows = parse_u64(path, line, toks[0], "row count")?;
        let cols = parse_u64(path, line, toks[1], "column count")?;
        let nnz = parse_u64(path, line, toks[2], "entry count")?;
        if rows != cols {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                format!("the matrix is {rows} x {cols}: a graph needs a square matrix"),
            ));
        }
        if rows > u64::from(u32::MAX) {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                format!("{rows} rows is more than u32 indices can address"),
            ));
        }
        // Refuse a declared size that cannot fit before reading a single entry.
        if let Err(e) = crate::graph::graph::check_memory(u128::from(rows), u128::from(nnz), false)
        {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                e.to_string(),
            ));
        }
        size = Some((rows, nnz, line));
        break;
    }
    let Some((n, nnz, size_line)) = size else {
        return Err(ReadError::at(
            path,
            last_line,
            ReadErrorKind::Truncated,
            "the file ends before the size line `rows cols entries`",
        ));
    };
    let fields = match field {
        Field::Pattern => 2,
        Field::Real | Field::Integer => 3,
        Field::Complex => 4,
    };
    let mut entries: Vec<Entry> = Vec::new();
    let mut seen: u64 = 0;
    // The largest index any entry names: nodes after it have no entries.
    let mut used: u64 = 0;
    let bar = super::progress::file_bar(path, text.len() as u64);
    for (line, raw) in lines {
        super::progress::tick(bar.as_ref(), line, offset(&text, raw));
        let t = raw.trim();
        if t.is_empty() || t.starts_with('%') {
            continue;
        }
        last_line = line;
        if seen == nnz {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                format!("more entries than the {nnz} declared on the size line"),
            ));
        }
        seen += 1;
        let (toks, count) = split_fields::<4>(t);
        if count != fields {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                format!(
                    "expected {fields} fields (`i j{}`), found {}",
                    match field {
                        Field::Pattern => "",
                        Field::Real | Field::Integer => " value",
                        Field::Complex => " re im",
                    },
                    count
                ),
            ));
        }
        let mut ij = [0u32; 2];
        for (slot, tok) in ij.iter_mut().zip(&toks) {
            let x = parse_u64(path, line, tok, "index")?;
            if x == 0 || x > n {
                return Err(ReadError::at(
                    path,
                    line,
                    ReadErrorKind::OutOfRange,
                    format!(
                        "index {x} is out of range 1..={n} (Matrix Market indices are 1-based)"
                    ),
                ));
            }
            *slot = (x - 1) as u32;
            used = used.max(x);
        }
        let (re, im) = match field {
            Field::Pattern => (1.0, 0.0),
            Field::Real => (parse_f64(path, line, toks[2], "value")?, 0.0),
            Field::Integer => {
                let v = toks[2].parse::<i64>().map_err(|_| {
                    ReadError::at(
                        path,
                        line,
                        ReadErrorKind::Number,
                        format!("bad value `{}`: expected an integer", toks[2]),
                    )
                })?;
                (v as f64, 0.0)
            }
            Field::Complex => (
                parse_f64(path, line, toks[2], "real part")?,
                parse_f64(path, line, toks[3], "imaginary part")?,
            ),
        };
        let [i, j] = ij;
        if i == j {
            continue; // diagonal: dropped by definition
        }
        if strict && (re < 0.0 || im != 0.0) {
            let what = if im != 0.0 {
                format!("value ({re}, {im}) is complex")
            } else {
                format!("value {re} is negative")
            };
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Graph,
                format!("entry ({}, {}): {what}: {ABS_HINT}", i + 1, j + 1),
            ));
        }
        grow(path, &mut entries)?;
        entries.push((i.min(j), i.max(j), i < j, re, im, line));
    }
    super::progress::finish(bar);
    if seen < nnz {
        return Err(ReadError::at(
            path,
            last_line,
            ReadErrorKind::Truncated,
            format!("the size line declares {nnz} entries but the file ends after {seen}"),
        ));
    }
    entries.sort_by_key(|e| (e.0, e.1, e.5));
    let mut edges: Vec<Edge> = Vec::new();
    let mut one_sided = 0usize;
    let mut unequal = 0usize;
    let mut repeated = 0usize;
    let mut zeros = 0usize;
    let mut k = 0usize;
    while let Some(&(lo, hi, ..)) = entries.get(k) {
        // Sums of the entries at (lo, hi) [upper] and (hi, lo) [lower].
        let mut up = (0.0f64, 0.0f64, 0usize);
        let mut down = (0.0f64, 0.0f64, 0usize);
        let mut line = 0usize;
        while let Some(&(l2, h2, upper, re, im, ln)) = entries.get(k) {
            if (l2, h2) != (lo, hi) {
                break;
            }
            let s = if upper || sym == Symmetry::Mirrored {
                &mut up
            } else {
                &mut down
            };
            s.0 += re;
            s.1 += im;
            s.2 += 1;
            line = line.max(ln);
            k += 1;
        }
        if up.2 > 1 || down.2 > 1 {
            repeated += 1;
        }
        let w = if field == Field::Pattern {
            1.0
        } else {
            let a = up.0.hypot(up.1);
            let b = down.0.hypot(down.1);
            if sym == Symmetry::General && up.2 > 0 && down.2 > 0 && a != b {
                unequal += 1;
            }
            a.max(b)
        };
        if sym == Symmetry::General && (up.2 == 0 || down.2 == 0) {
            one_sided += 1;
        }
        let w32 = w as f32;
        if !w32.is_finite() {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Graph,
                format!(
                    "entry ({}, {}) has magnitude {w}, too large for an f32 weight",
                    lo + 1,
                    hi + 1
                ),
            ));
        }
        if w32 == 0.0 {
            zeros += 1;
        }
        edges.push((lo, hi, w32));
    }
    let mut warnings = Vec::new();
    let p = path.display();
    if one_sided + unequal > 0 {
        warnings.push(format!(
            "{p}: general (unsymmetric) matrix symmetrized as the pattern of |A|+|A^T| with weight \
             max(|a_ij|, |a_ji|): {one_sided} of {} pairs stored on one side only, {unequal} with \
             unequal magnitudes",
            edges.len()
        ));
    }
    if repeated > 0 {
        warnings.push(format!(
            "{p}: {repeated} position(s) stored more than once; their values were added"
        ));
    }
    if zeros > 0 {
        warnings.push(format!(
            "{p}: {zeros} edge(s) have weight 0 (stored zeros are kept in the pattern)"
        ));
    }
    let n = match trailing_unused(n, used) {
        Some(kept) => {
            warnings.push(format!(
                "{p}:{size_line}: the size line declares {n} nodes, but its {seen} entries name \
                 nodes up to {used} only; the {} nodes after {used} have no entries and are left \
                 out (the graph has {kept} nodes, and a state of it {kept} values)",
                n - used
            ));
            kept
        }
        None => n,
    };
    let graph =
        Graph::from_edges(n as usize, edges, stem(path)).map_err(|e| ReadError::build(path, e))?;
    Ok(Read { graph, warnings })
}
