//! What every reader returns: a [`Read`] (graph and warnings) or a [`ReadError`] that names the
//! file, the 1-based line where known, and what was wrong; plus [`read_graph`], which picks the
//! reader from the file extension.

use std::fmt;
use std::path::{Path, PathBuf};

use super::graph::{BuildError, Graph};

/// What readers do with negative (or complex) edge values; one policy for every reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WeightPolicy {
    /// Refuse them with an error naming the file and line (the default): the energies assume
    /// `A_ij >= 0` (a negative weight makes heat unbounded below).
    #[default]
    Reject,
    /// Use the magnitude `|a|` (the modulus of a complex value), as `--weights abs` asks.
    Abs,
}

/// The hint errors about negative values end with.
pub(crate) const ABS_HINT: &str =
    "nrg needs non-negative edge weights; pass --weights abs to use |a| instead";

/// A graph read from a file, with warnings about anything the reader repaired or dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The graph.
    pub graph: Graph,
    /// Human-readable notes (symmetrization, dropped self-loops, merged duplicates…).
    pub warnings: Vec<String>,
}

/// The class of a [`ReadError`], for callers that branch on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadErrorKind {
    /// The file could not be opened or read.
    Io,
    /// A header or banner line is missing or wrong.
    Header,
    /// A field is not a number of the expected kind.
    Number,
    /// A node index is out of range.
    OutOfRange,
    /// The file ends before the data its header announced.
    Truncated,
    /// A line has the wrong number of fields or an unsupported feature.
    Format,
    /// The same edge is given twice with conflicting weights.
    Duplicate,
    /// The data does not make a valid graph (e.g. a negative weight).
    Graph,
}

/// A reader's error: file, line (1-based, when known) and what was wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadError {
    /// The file being read.
    pub path: PathBuf,
    /// 1-based line of the problem, when the format and the parser can tell.
    pub line: Option<usize>,
    /// Class of the problem.
    pub kind: ReadErrorKind,
    /// What was wrong and what was expected.
    pub message: String,
}

impl ReadError {
    /// An error at a known line.
    pub(crate) fn at(
        path: &Path,
        line: usize,
        kind: ReadErrorKind,
        message: impl Into<String>,
    ) -> Self {
        ReadError {
            path: path.to_path_buf(),
            line: Some(line),
            kind,
            message: message.into(),
        }
    }

    /// An error that belongs to the whole file.
    pub(crate) fn file(path: &Path, kind: ReadErrorKind, message: impl Into<String>) -> Self {
        ReadError {
            path: path.to_path_buf(),
            line: None,
            kind,
            message: message.into(),
        }
    }

    /// Wraps a graph-building error.
    pub(crate) fn build(path: &Path, e: BuildError) -> Self {
        Self::file(path, ReadErrorKind::Graph, e.to_string())
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.path.display(), self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads the whole file as UTF-8 text; a file larger than the memory available for it is
/// refused, and the buffer is reserved fallibly (a failed allocation would abort).
pub(crate) fn read_text(path: &Path) -> Result<String, ReadError> {
    use std::io::Read as _;
    let io =
        |e: std::io::Error| ReadError::file(path, ReadErrorKind::Io, format!("cannot read: {e}"));
    let mut file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let refuse =
        |e: crate::memory::OutOfMemory| ReadError::file(path, ReadErrorKind::Io, e.to_string());
    crate::memory::check(format!("reading the {len}-byte file"), len).map_err(refuse)?;
    let mut text = String::new();
    text.try_reserve_exact(usize::try_from(len).unwrap_or(usize::MAX).saturating_add(1))
        .map_err(|_| {
            refuse(crate::memory::OutOfMemory {
                what: format!("reading the {len}-byte file"),
                needed: len,
                available: crate::memory::available_bytes(),
            })
        })?;
    file.read_to_string(&mut text).map_err(io)?;
    Ok(text)
}

/// Makes room for one more item in a reader's list, fallibly and after a memory check:
/// a file of short lines can need several times its size in parsed entries.
pub(crate) fn grow<T>(path: &Path, list: &mut Vec<T>) -> Result<(), ReadError> {
    if list.len() < list.capacity() {
        return Ok(());
    }
    let more = list.capacity().max(1024);
    let needed = crate::memory::bytes(
        (list.len() + more) as u128,
        std::mem::size_of::<T>() as u128,
    );
    let what = format!("the {} entries read so far", list.len());
    let refuse =
        |e: crate::memory::OutOfMemory| ReadError::file(path, ReadErrorKind::Graph, e.to_string());
    crate::memory::check(what.clone(), needed).map_err(refuse)?;
    list.try_reserve(more).map_err(|_| {
        refuse(crate::memory::OutOfMemory {
            what,
            needed,
            available: crate::memory::available_bytes(),
        })
    })
}

/// The first `K` whitespace-separated fields of a line and how many there are in all, without
/// allocating (readers call this for every one of 10⁷ lines).
pub(crate) fn split_fields<const K: usize>(line: &str) -> ([&str; K], usize) {
    let mut out = [""; K];
    let mut count = 0usize;
    for tok in line.split_ascii_whitespace() {
        if let Some(slot) = out.get_mut(count) {
            *slot = tok;
        }
        count += 1;
    }
    (out, count)
}

/// Trailing nodes without entries from which a reader leaves them out (see
/// [`trailing_unused`]).
pub const UNUSED_TRIM: u64 = 1000;

/// The node count to keep when a file declares `declared` nodes but names only nodes
/// `0..used`: `Some(used)` when the empty tail is more than half the declared nodes and at
/// least [`UNUSED_TRIM`] nodes (a 3-line file declaring 10⁸ nodes would otherwise take
/// gigabytes), `None` to keep the declared count.
pub(crate) fn trailing_unused(declared: u64, used: u64) -> Option<u64> {
    let tail = declared.saturating_sub(used);
    (tail >= UNUSED_TRIM && tail > declared / 2).then_some(used)
}

/// The file stem, used as the graph's name.
pub(crate) fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Parses a non-negative integer field.
pub(crate) fn parse_u64(path: &Path, line: usize, tok: &str, what: &str) -> Result<u64, ReadError> {
    tok.parse::<u64>().map_err(|_| {
        ReadError::at(
            path,
            line,
            ReadErrorKind::Number,
            format!("bad {what} `{tok}`: expected a non-negative integer"),
        )
    })
}

/// Parses a finite real field.
pub(crate) fn parse_f64(path: &Path, line: usize, tok: &str, what: &str) -> Result<f64, ReadError> {
    match tok.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(x),
        _ => Err(ReadError::at(
            path,
            line,
            ReadErrorKind::Number,
            format!("bad {what} `{tok}`: expected a finite real number"),
        )),
    }
}

/// File extensions [`read_graph`] knows, with the reader each selects.
pub(crate) const EXTENSIONS: &[(&str, &str)] = &[
    ("mtx", "Matrix Market coordinate"),
    ("edges", "edge list `u v [w]`"),
    ("edgelist", "edge list `u v [w]`"),
    ("el", "edge list `u v [w]`"),
    ("txt", "edge list `u v [w]`"),
    ("obj", "Wavefront OBJ mesh"),
    ("ply", "PLY mesh"),
    ("off", "OFF mesh"),
    ("xyz", "point cloud (kNN graph; needs k)"),
];

/// Reads a graph, choosing the reader from the extension (case-insensitive): `.mtx`, `.edges` /
/// `.edgelist` / `.el` / `.txt`, `.obj`, `.ply`, `.off`, or `.xyz` (needs `knn_k`).
pub fn read_graph(path: &Path, knn_k: Option<usize>) -> Result<Read, ReadError> {
    read_graph_with(path, knn_k, WeightPolicy::Reject)
}

/// [`read_graph`] with a policy for negative or complex values.
pub fn read_graph_with(
    path: &Path,
    knn_k: Option<usize>,
    weights: WeightPolicy,
) -> Result<Read, ReadError> {
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mtx" => super::mtx::read_matrix_market_with(path, weights),
        "edges" | "edgelist" | "el" | "txt" => super::edgelist::read_edge_list_with(path, weights),
        "obj" => super::mesh::read_obj(path),
        "ply" => super::mesh::read_ply(path),
        "off" => super::mesh::read_off(path),
        "xyz" => match knn_k {
            Some(k) => super::xyz::read_xyz_knn(path, k),
            None => Err(ReadError::file(
                path,
                ReadErrorKind::Format,
                "a .xyz point cloud needs k to become a kNN graph (spec `knn:FILE.xyz:K`)",
            )),
        },
        _ => {
            let known: Vec<String> = EXTENSIONS.iter().map(|(e, _)| format!(".{e}")).collect();
            Err(ReadError::file(
                path,
                ReadErrorKind::Format,
                format!(
                    "unknown graph file extension `{ext}`: expected one of {}",
                    known.join(", ")
                ),
            ))
        }
    }
}
