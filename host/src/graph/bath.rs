//! Heat-bath placement for the heat-diffusion energy: which nodes are held hot and which cold.
//!
//! Every placement returns [`Baths`]: sorted, disjoint, in-range node lists, not both empty.
//! [`components_without_bath`] lists the connected components that touch no bath node; heat is
//! ill-posed there (any constant is a minimum), so the caller turns it into an error or warning.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use rand_core::Rng;

use super::generate::rng_from;
use super::graph::Graph;
use super::read::{ReadError, ReadErrorKind, parse_u64, read_text};

/// A coordinate axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// First coordinate.
    X,
    /// Second coordinate.
    Y,
    /// Third coordinate.
    Z,
}

impl Axis {
    /// Index of the axis in a `[x, y, z]` point.
    pub fn index(self) -> usize {
        match self {
            Axis::X => 0,
            Axis::Y => 1,
            Axis::Z => 2,
        }
    }
}

impl FromStr for Axis {
    type Err = String;
    fn from_str(s: &str) -> Result<Axis, String> {
        match s.to_ascii_lowercase().as_str() {
            "x" => Ok(Axis::X),
            "y" => Ok(Axis::Y),
            "z" => Ok(Axis::Z),
            _ => Err(format!("axis `{s}`: expected x, y or z")),
        }
    }
}

impl fmt::Display for Axis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Axis::X => "x",
            Axis::Y => "y",
            Axis::Z => "z",
        })
    }
}

/// Why baths could not be placed.
#[derive(Debug, Clone, PartialEq)]
pub enum BathError {
    /// Placement by coordinate on a graph without coordinates.
    NoCoordinates,
    /// All nodes share one coordinate along the axis, so top and bottom are the same.
    ZeroExtent {
        /// The axis.
        axis: Axis,
    },
    /// A fraction outside `[0, 1]`.
    BadFraction {
        /// Which fraction.
        what: &'static str,
        /// Its value.
        value: f64,
    },
    /// A node ended up both hot and cold.
    Overlap {
        /// The node.
        node: u32,
    },
    /// Neither hot nor cold nodes.
    BothEmpty,
    /// Placement by block on a graph without block labels.
    NoBlocks,
    /// A block id that no node carries.
    UnknownBlock {
        /// The block id.
        block: u32,
    },
    /// A node index `>= n`.
    NodeOutOfRange {
        /// The node.
        node: u32,
        /// Number of nodes.
        n: usize,
    },
    /// More bath nodes requested than the graph has.
    TooMany {
        /// Hot nodes requested.
        hot: usize,
        /// Cold nodes requested.
        cold: usize,
        /// Number of nodes.
        n: usize,
    },
    /// A node-list file could not be read.
    File(ReadError),
}

impl fmt::Display for BathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BathError::NoCoordinates => write!(
                f,
                "the graph has no node coordinates: place baths by block, at random or from files"
            ),
            BathError::ZeroExtent { axis } => write!(
                f,
                "all nodes have the same {axis} coordinate: choose another axis"
            ),
            BathError::BadFraction { what, value } => {
                write!(f, "{what} fraction {value} is not in [0, 1]")
            }
            BathError::Overlap { node } => write!(
                f,
                "node {node} would be both hot and cold: use smaller fractions or disjoint lists"
            ),
            BathError::BothEmpty => {
                write!(
                    f,
                    "no hot and no cold node: heat needs at least one bath node; give a hot or \
                     cold fraction above 0 (--hot-fraction, --cold-fraction) or list nodes \
                     (--hot FILE, --cold FILE)"
                )
            }
            BathError::NoBlocks => write!(f, "the graph has no block labels (only SBM graphs do)"),
            BathError::UnknownBlock { block } => write!(f, "no node is in block {block}"),
            BathError::NodeOutOfRange { node, n } => {
                write!(f, "bath node {node} is out of range 0..{n}")
            }
            BathError::TooMany { hot, cold, n } => write!(
                f,
                "{hot} hot + {cold} cold bath nodes do not fit in a graph of {n} nodes"
            ),
            BathError::File(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for BathError {}

/// Hot and cold bath nodes: each list sorted and duplicate-free, the two disjoint, all in range,
/// not both empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Baths {
    hot: Vec<u32>,
    cold: Vec<u32>,
}

impl Baths {
    /// Validates two node lists for a graph of `n` nodes (sorting and deduplicating each).
    pub fn new(mut hot: Vec<u32>, mut cold: Vec<u32>, n: usize) -> Result<Baths, BathError> {
        for list in [&mut hot, &mut cold] {
            list.sort_unstable();
            list.dedup();
            if let Some(&node) = list.last().filter(|&&v| v as usize >= n) {
                return Err(BathError::NodeOutOfRange { node, n });
            }
        }
        if let Some(&node) = hot.iter().find(|v| cold.binary_search(v).is_ok()) {
            return Err(BathError::Overlap { node });
        }
        if hot.is_empty() && cold.is_empty() {
            return Err(BathError::BothEmpty);
        }
        Ok(Baths { hot, cold })
    }

    /// Hot nodes, increasing.
    pub fn hot(&self) -> &[u32] {
        &self.hot
    }

    /// Cold nodes, increasing.
    pub fn cold(&self) -> &[u32] {
        &self.cold
    }

    /// The two lists `(hot, cold)`.
    pub fn into_parts(self) -> (Vec<u32>, Vec<u32>) {
        (self.hot, self.cold)
    }
}

/// Checks a fraction.
fn fraction(what: &'static str, value: f64) -> Result<f64, BathError> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        Err(BathError::BadFraction { what, value })
    }
}

/// Hot = nodes in the top `hot_fraction` of the extent along `axis`, cold = the bottom
/// `cold_fraction` (slabs of the coordinate range, not node counts: on a 50×50 lattice, 0.1 gives
/// the top 5 rows). `axis = None` picks the axis of largest extent (x on ties). Typical
/// fractions: 0.1 each.
pub fn baths_by_coordinate(
    g: &Graph,
    axis: Option<Axis>,
    hot_fraction: f64,
    cold_fraction: f64,
) -> Result<Baths, BathError> {
    let fh = fraction("hot", hot_fraction)?;
    let fc = fraction("cold", cold_fraction)?;
    let coords = g.coords().ok_or(BathError::NoCoordinates)?;
    let mut lo = [f64::INFINITY; 3];
    let mut hi = [f64::NEG_INFINITY; 3];
    for p in coords {
        for a in 0..3 {
            lo[a] = lo[a].min(p[a]);
            hi[a] = hi[a].max(p[a]);
        }
    }
    let axis = axis.unwrap_or_else(|| {
        let ext = |a: usize| hi[a] - lo[a];
        if ext(0) >= ext(1) && ext(0) >= ext(2) {
            Axis::X
        } else if ext(1) >= ext(2) {
            Axis::Y
        } else {
            Axis::Z
        }
    });
    let a = axis.index();
    let extent = hi[a] - lo[a];
    if extent <= 0.0 {
        return Err(BathError::ZeroExtent { axis });
    }
    // A relative tolerance keeps lattice rows that sit exactly on a slab boundary inside it.
    let tol = 1e-9 * extent;
    let top = hi[a] - fh * extent - tol;
    let bottom = lo[a] + fc * extent + tol;
    let select = |keep: &dyn Fn(f64) -> bool, f: f64| -> Vec<u32> {
        if f == 0.0 {
            return Vec::new();
        }
        (0..coords.len() as u32)
            .filter(|&i| keep(coords[i as usize][a]))
            .collect()
    };
    let hot = select(&|x| x >= top, fh);
    let cold = select(&|x| x <= bottom, fc);
    Baths::new(hot, cold, g.n())
}

/// Hot = every node of the blocks `hot_blocks`, cold = of `cold_blocks` (SBM block labels).
pub fn baths_by_block(
    g: &Graph,
    hot_blocks: &[u32],
    cold_blocks: &[u32],
) -> Result<Baths, BathError> {
    let blocks = g.blocks().ok_or(BathError::NoBlocks)?;
    for &b in hot_blocks.iter().chain(cold_blocks) {
        if !blocks.contains(&b) {
            return Err(BathError::UnknownBlock { block: b });
        }
    }
    let pick = |ids: &[u32]| -> Vec<u32> {
        (0..blocks.len() as u32)
            .filter(|&i| ids.contains(&blocks[i as usize]))
            .collect()
    };
    Baths::new(pick(hot_blocks), pick(cold_blocks), g.n())
}

/// Uniform integer in `0..m` (`m > 0`), without modulo bias.
fn below(rng: &mut impl Rng, m: u64) -> u64 {
    let zone = u64::MAX - u64::MAX % m;
    loop {
        let x = rng.next_u64();
        if x < zone {
            return x % m;
        }
    }
}

/// Bath nodes for a fraction of `n` nodes: `round(fraction·n)`, but at least 1 when the
/// fraction is above 0 (10 % of 3 nodes is 1 node, not none).
pub fn bath_count(fraction: f64, n: usize) -> usize {
    let k = (fraction * n as f64).round() as usize;
    if fraction > 0.0 && n > 0 { k.max(1) } else { k }
}

/// [`bath_count`] hot and cold nodes drawn uniformly without replacement (disjoint),
/// reproducible for a seed.
pub fn baths_random(
    g: &Graph,
    hot_fraction: f64,
    cold_fraction: f64,
    seed: u64,
) -> Result<Baths, BathError> {
    let n = g.n();
    let nh = bath_count(fraction("hot", hot_fraction)?, n);
    let nc = bath_count(fraction("cold", cold_fraction)?, n);
    if nh + nc > n {
        return Err(BathError::TooMany {
            hot: nh,
            cold: nc,
            n,
        });
    }
    let mut rng = rng_from(seed);
    let mut perm: Vec<u32> = (0..n as u32).collect();
    // Partial Fisher–Yates: the first nh + nc entries become a uniform sample.
    for i in 0..nh + nc {
        let j = i + below(&mut rng, (n - i) as u64) as usize;
        perm.swap(i, j);
    }
    let cold = perm[nh..nh + nc].to_vec();
    perm.truncate(nh);
    Baths::new(perm, cold, n)
}

/// Reads a node list: one 0-based index per line, `#` comments and blank lines skipped; indices
/// must be `< n` and not repeated. Errors name the file and line.
pub fn read_node_list(path: &Path, n: usize) -> Result<Vec<u32>, ReadError> {
    let text = read_text(path)?;
    let mut nodes: Vec<(u32, usize)> = Vec::new();
    for (idx, raw) in text.lines().enumerate() {
        let line = idx + 1;
        let t = raw.split('#').next().unwrap_or("").trim();
        if t.is_empty() {
            continue;
        }
        if t.split_whitespace().count() != 1 {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                format!("expected one node index per line, found `{t}`"),
            ));
        }
        let x = parse_u64(path, line, t, "node index")?;
        if x >= n as u64 {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::OutOfRange,
                format!("node {x} is out of range 0..{n}"),
            ));
        }
        nodes.push((x as u32, line));
    }
    nodes.sort_unstable();
    if let Some(w) = nodes.windows(2).find(|w| w[0].0 == w[1].0) {
        let (first, second) = (w[0].1.min(w[1].1), w[0].1.max(w[1].1));
        return Err(ReadError::at(
            path,
            second,
            ReadErrorKind::Duplicate,
            format!("node {} is listed again (first on line {first})", w[0].0),
        ));
    }
    Ok(nodes.into_iter().map(|(v, _)| v).collect())
}

/// Baths from node-list files (see [`read_node_list`]); a missing file means an empty list,
/// but a file that lists no node is an error (a forgotten bath, not a choice).
pub fn baths_from_files(
    g: &Graph,
    hot: Option<&Path>,
    cold: Option<&Path>,
) -> Result<Baths, BathError> {
    let read = |p: Option<&Path>| -> Result<Vec<u32>, BathError> {
        match p {
            Some(p) => {
                let nodes = read_node_list(p, g.n()).map_err(BathError::File)?;
                if nodes.is_empty() {
                    return Err(BathError::File(ReadError::file(
                        p,
                        ReadErrorKind::Format,
                        "lists no node (one 0-based index per line expected); to run with one \
                         bath only, leave this file out",
                    )));
                }
                Ok(nodes)
            }
            None => Ok(Vec::new()),
        }
    };
    Baths::new(read(hot)?, read(cold)?, g.n())
}

/// Ids (as in [`Graph::components`]) of the connected components with no hot or cold node.
pub fn components_without_bath(g: &Graph, baths: &Baths) -> Vec<u32> {
    let comps = g.components();
    let mut has = vec![false; comps.count()];
    for &v in baths.hot().iter().chain(baths.cold()) {
        if let Some(&c) = comps.id.get(v as usize)
            && let Some(h) = has.get_mut(c as usize)
        {
            *h = true;
        }
    }
    (0..comps.count() as u32)
        .filter(|&c| !has[c as usize])
        .collect()
}
