//! [`GraphSpec`]: the graph strings the CLI accepts, parsed and built.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::generate;
use super::graph::BuildError;
use super::read::{EXTENSIONS, Read, ReadError, WeightPolicy, read_graph_with};
use super::xyz::read_xyz_knn;

/// A graph named by a string: a generator with its parameters, or a file.
///
/// Grammar (numbers in decimal; `N`, `R`, `C`, … are non-negative integers, `P`, `Q`, `R`
/// reals; `PATH` may itself contain `:`):
///
/// | spec | graph |
/// |---|---|
/// | `lattice2d:RxC[:periodic]` | square lattice, R rows × C columns, optionally wrapped |
/// | `lattice3d:XxYxZ[:periodic]` | cubic lattice |
/// | `triangular:RxC` | triangular lattice of R rows × C columns of triangles, as networkx's `triangular_lattice_graph(R, C)` |
/// | `ring:N` | cycle on N nodes |
/// | `tree:B:H` | balanced tree, branching B, height H |
/// | `sbm:KxS:P:Q` or `sbm:S1,S2,…:P:Q` | stochastic block model: K blocks of S nodes (or the listed sizes), p_in = P, p_out = Q |
/// | `rgg2d:N:R`, `rgg3d:N:R` | random geometric graph, N points in the unit square/cube, radius R |
/// | `er:N:P` | Erdős–Rényi G(N, P) |
/// | `knn:PATH:K` | symmetrized K-nearest-neighbour graph of the points in PATH (`.xyz`) |
/// | `file:PATH` or `PATH` | a graph file; the extension picks the reader: `.mtx`, `.edges` / `.edgelist` / `.el` / `.txt`, `.obj`, `.ply`, `.off` |
///
/// Random generators take their seed in [`GraphSpec::build`].
#[derive(Debug, Clone, PartialEq)]
pub enum GraphSpec {
    /// `lattice2d:RxC[:periodic]`.
    Lattice2d {
        /// Rows.
        rows: u32,
        /// Columns.
        cols: u32,
        /// Wrap both axes.
        periodic: bool,
    },
    /// `lattice3d:XxYxZ[:periodic]`.
    Lattice3d {
        /// Size along x, y, z.
        dims: [u32; 3],
        /// Wrap every axis.
        periodic: bool,
    },
    /// `triangular:RxC` (networkx's `triangular_lattice_graph(R, C)`).
    Triangular {
        /// Rows of triangles.
        rows: u32,
        /// Columns of triangles.
        cols: u32,
    },
    /// `ring:N`.
    Ring {
        /// Nodes.
        n: u32,
    },
    /// `tree:B:H`.
    Tree {
        /// Children per node.
        branching: u32,
        /// Levels below the root.
        height: u32,
    },
    /// `sbm:KxS:P:Q` or `sbm:S1,S2,…:P:Q`.
    Sbm {
        /// Block sizes.
        sizes: Vec<u32>,
        /// Edge probability inside a block.
        p_in: f64,
        /// Edge probability across blocks.
        p_out: f64,
    },
    /// `rgg2d:N:R` / `rgg3d:N:R`.
    Rgg {
        /// 2 or 3.
        dim: usize,
        /// Points.
        n: u32,
        /// Connection radius.
        radius: f64,
    },
    /// `er:N:P`.
    Er {
        /// Nodes.
        n: u32,
        /// Edge probability.
        p: f64,
    },
    /// `knn:PATH:K`.
    Knn {
        /// The point file.
        path: PathBuf,
        /// Neighbours per point.
        k: usize,
    },
    /// `file:PATH` or a bare path with a known extension.
    File {
        /// The graph file.
        path: PathBuf,
    },
}

/// A graph spec string that does not parse, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The spec as given.
    pub spec: String,
    /// What was wrong and what was expected.
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "graph spec `{}`: {}", self.spec, self.message)
    }
}

impl std::error::Error for SpecError {}

/// Why [`GraphSpec::build`] failed.
#[derive(Debug, Clone, PartialEq)]
pub enum LoadError {
    /// A generator rejected its parameters.
    Build(BuildError),
    /// A file could not be read.
    Read(ReadError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::Build(e) => write!(f, "{e}"),
            LoadError::Read(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// One-line summary of the grammar, appended to parse errors.
const GRAMMAR: &str = "expected lattice2d:RxC[:periodic], lattice3d:XxYxZ[:periodic], \
triangular:RxC, ring:N, tree:B:H, sbm:KxS:P_IN:P_OUT, rgg2d:N:R, rgg3d:N:R, er:N:P, \
knn:FILE.xyz:K, file:PATH, or a path ending in .mtx/.edges/.obj/.ply/.off";

/// Parser state for one spec string.
struct P<'a> {
    spec: &'a str,
}

impl P<'_> {
    /// An error for this spec.
    fn err(&self, message: impl Into<String>) -> SpecError {
        SpecError {
            spec: self.spec.to_string(),
            message: message.into(),
        }
    }

    /// Parses an integer field.
    fn int<T: FromStr>(&self, tok: &str, what: &str) -> Result<T, SpecError> {
        tok.parse()
            .map_err(|_| self.err(format!("{what} `{tok}` is not a non-negative integer")))
    }

    /// Parses a real field.
    fn real(&self, tok: &str, what: &str) -> Result<f64, SpecError> {
        match tok.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(self.err(format!("{what} `{tok}` is not a finite number"))),
        }
    }

    /// Parses a probability field.
    fn prob(&self, tok: &str, what: &str) -> Result<f64, SpecError> {
        let p = self.real(tok, what)?;
        if (0.0..=1.0).contains(&p) {
            Ok(p)
        } else {
            Err(self.err(format!("{what} {p} is not a probability in [0, 1]")))
        }
    }

    /// Parses `AxBx…` with exactly `k` factors, each at least 1.
    fn dims(&self, tok: &str, k: usize, form: &str) -> Result<Vec<u32>, SpecError> {
        let parts: Vec<&str> = tok.split(['x', 'X']).collect();
        if parts.len() != k {
            return Err(self.err(format!("size `{tok}`: expected {form}")));
        }
        let d: Vec<u32> = parts
            .iter()
            .map(|p| self.int(p, "size"))
            .collect::<Result<_, _>>()?;
        if d.contains(&0) {
            return Err(self.err(format!(
                "size `{tok}` has a 0: the graph would have no nodes; every size must be at \
                 least 1 ({form})"
            )));
        }
        Ok(d)
    }

    /// Parses a node count, at least 1.
    fn count(&self, tok: &str, what: &str, form: &str) -> Result<u32, SpecError> {
        let n: u32 = self.int(tok, what)?;
        if n == 0 {
            return Err(self.err(format!(
                "{what} 0: the graph would have no nodes; give at least 1 ({form})"
            )));
        }
        Ok(n)
    }

    /// Checks the number of `:`-separated fields after the kind.
    fn arity(&self, args: &[&str], allowed: &[usize], form: &str) -> Result<(), SpecError> {
        if allowed.contains(&args.len()) {
            Ok(())
        } else {
            Err(self.err(format!("expected {form}")))
        }
    }
}

/// Whether a string names a file by a known graph extension.
fn has_graph_extension(s: &str) -> bool {
    Path::new(s)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .is_some_and(|e| EXTENSIONS.iter().any(|(x, _)| *x == e))
}

impl FromStr for GraphSpec {
    type Err = SpecError;

    fn from_str(s: &str) -> Result<GraphSpec, SpecError> {
        let p = P { spec: s };
        let s = s.trim();
        if s.is_empty() {
            return Err(p.err(format!("empty: {GRAMMAR}")));
        }
        if let Some(path) = s.strip_prefix("file:") {
            if path.is_empty() {
                return Err(p.err("expected file:PATH"));
            }
            return Ok(GraphSpec::File { path: path.into() });
        }
        if let Some(rest) = s.strip_prefix("knn:") {
            let form = "knn:FILE.xyz:K";
            let Some((path, k)) = rest.rsplit_once(':') else {
                return Err(p.err(format!("expected {form}")));
            };
            if path.is_empty() {
                return Err(p.err(format!("missing the point file: expected {form}")));
            }
            let k: usize = p.int(k, "k")?;
            if k == 0 {
                return Err(p.err("k must be at least 1"));
            }
            return Ok(GraphSpec::Knn {
                path: path.into(),
                k,
            });
        }
        let (kind, args): (&str, Vec<&str>) = match s.split_once(':') {
            Some((k, rest)) => (k, rest.split(':').collect()),
            None => (s, Vec::new()),
        };
        let periodic_flag = |a: Option<&&str>| -> Result<bool, SpecError> {
            match a {
                None => Ok(false),
                Some(&"periodic") => Ok(true),
                Some(other) => Err(p.err(format!("`{other}`: expected `periodic` or nothing"))),
            }
        };
        match kind {
            "lattice2d" => {
                let form = "lattice2d:RxC[:periodic], e.g. lattice2d:50x50";
                p.arity(&args, &[1, 2], form)?;
                let d = p.dims(args[0], 2, form)?;
                Ok(GraphSpec::Lattice2d {
                    rows: d[0],
                    cols: d[1],
                    periodic: periodic_flag(args.get(1))?,
                })
            }
            "lattice3d" => {
                let form = "lattice3d:XxYxZ[:periodic], e.g. lattice3d:14x14x14";
                p.arity(&args, &[1, 2], form)?;
                let d = p.dims(args[0], 3, form)?;
                Ok(GraphSpec::Lattice3d {
                    dims: [d[0], d[1], d[2]],
                    periodic: periodic_flag(args.get(1))?,
                })
            }
            "triangular" => {
                let form = "triangular:RxC, e.g. triangular:75x75";
                p.arity(&args, &[1], form)?;
                let d = p.dims(args[0], 2, form)?;
                Ok(GraphSpec::Triangular {
                    rows: d[0],
                    cols: d[1],
                })
            }
            "ring" => {
                let form = "ring:N, e.g. ring:625";
                p.arity(&args, &[1], form)?;
                Ok(GraphSpec::Ring {
                    n: p.count(args[0], "node count", form)?,
                })
            }
            "tree" => {
                p.arity(&args, &[2], "tree:BRANCHING:HEIGHT, e.g. tree:2:9")?;
                Ok(GraphSpec::Tree {
                    branching: p.int(args[0], "branching")?,
                    height: p.int(args[1], "height")?,
                })
            }
            "sbm" => {
                let form = "sbm:KxS:P_IN:P_OUT (K blocks of S nodes) or sbm:S1,S2,...:P_IN:P_OUT, \
                            e.g. sbm:10x250:0.1:0.001";
                p.arity(&args, &[3], form)?;
                let sizes: Vec<u32> = if args[0].contains(',') {
                    args[0]
                        .split(',')
                        .map(|t| p.int(t, "block size"))
                        .collect::<Result<_, _>>()?
                } else {
                    let d = p.dims(args[0], 2, form)?;
                    if u64::from(d[0]) * u64::from(d[1]) > u64::from(u32::MAX) {
                        return Err(p.err(format!("{}x{} nodes is too many", d[0], d[1])));
                    }
                    vec![d[1]; d[0] as usize]
                };
                if sizes.is_empty() {
                    return Err(p.err("an SBM needs at least one block"));
                }
                if sizes.contains(&0) {
                    return Err(p.err(format!(
                        "a block of size 0: every block needs a node ({form})"
                    )));
                }
                Ok(GraphSpec::Sbm {
                    sizes,
                    p_in: p.prob(args[1], "p_in")?,
                    p_out: p.prob(args[2], "p_out")?,
                })
            }
            "rgg2d" | "rgg3d" => {
                let dim = if kind == "rgg2d" { 2 } else { 3 };
                p.arity(
                    &args,
                    &[2],
                    &format!("{kind}:N:RADIUS, e.g. {kind}:2500:0.035"),
                )?;
                let radius = p.real(args[1], "radius")?;
                if radius < 0.0 {
                    return Err(p.err(format!("radius {radius} must be >= 0")));
                }
                Ok(GraphSpec::Rgg {
                    dim,
                    n: p.count(args[0], "point count", &format!("e.g. {kind}:2500:0.035"))?,
                    radius,
                })
            }
            "er" => {
                p.arity(&args, &[2], "er:N:P, e.g. er:1000:0.01")?;
                Ok(GraphSpec::Er {
                    n: p.count(args[0], "node count", "er:N:P, e.g. er:1000:0.01")?,
                    p: p.prob(args[1], "p")?,
                })
            }
            _ if has_graph_extension(s) => {
                if s.to_ascii_lowercase().ends_with(".xyz") {
                    return Err(p.err(format!(
                        "expected knn:{s}:K: a point cloud needs k to become a graph (e.g. knn:{s}:6)"
                    )));
                }
                Ok(GraphSpec::File { path: s.into() })
            }
            _ => Err(p.err(format!("unknown graph kind `{kind}`: {GRAMMAR}"))),
        }
    }
}

impl fmt::Display for GraphSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = |p: bool| if p { ":periodic" } else { "" };
        match self {
            GraphSpec::Lattice2d {
                rows,
                cols,
                periodic,
            } => write!(f, "lattice2d:{rows}x{cols}{}", per(*periodic)),
            GraphSpec::Lattice3d { dims, periodic } => write!(
                f,
                "lattice3d:{}x{}x{}{}",
                dims[0],
                dims[1],
                dims[2],
                per(*periodic)
            ),
            GraphSpec::Triangular { rows, cols } => write!(f, "triangular:{rows}x{cols}"),
            GraphSpec::Ring { n } => write!(f, "ring:{n}"),
            GraphSpec::Tree { branching, height } => write!(f, "tree:{branching}:{height}"),
            GraphSpec::Sbm { sizes, p_in, p_out } => {
                let uniform = sizes.windows(2).all(|w| w[0] == w[1]);
                match sizes.first() {
                    Some(s) if uniform => write!(f, "sbm:{}x{s}:{p_in}:{p_out}", sizes.len()),
                    _ => {
                        let list: Vec<String> = sizes.iter().map(u32::to_string).collect();
                        write!(f, "sbm:{}:{p_in}:{p_out}", list.join(","))
                    }
                }
            }
            GraphSpec::Rgg { dim, n, radius } => write!(f, "rgg{dim}d:{n}:{radius}"),
            GraphSpec::Er { n, p } => write!(f, "er:{n}:{p}"),
            GraphSpec::Knn { path, k } => write!(f, "knn:{}:{k}", path.display()),
            GraphSpec::File { path } => write!(f, "file:{}", path.display()),
        }
    }
}

impl GraphSpec {
    /// Nodes and (expected) undirected edges a generator will produce, for checking the memory
    /// before generating; `None` for files (their readers check as they read).
    pub fn estimate(&self) -> Option<(u128, u128)> {
        let u = |x: u32| x as u128;
        Some(match self {
            GraphSpec::Lattice2d { rows, cols, .. } => {
                let n = u(*rows) * u(*cols);
                (n, 2 * n)
            }
            GraphSpec::Lattice3d { dims, .. } => {
                let n = u(dims[0]) * u(dims[1]) * u(dims[2]);
                (n, 3 * n)
            }
            GraphSpec::Triangular { rows, cols } => {
                let n = (u(*rows) + 1) * (u(*cols) / 2 + 1);
                (n, 3 * n)
            }
            GraphSpec::Ring { n } => (u(*n), u(*n)),
            GraphSpec::Tree { branching, height } => {
                let mut n: u128 = 1;
                let mut level: u128 = 1;
                for _ in 0..*height {
                    level = level.saturating_mul(u(*branching));
                    n = n.saturating_add(level);
                }
                (n, n.saturating_sub(1))
            }
            GraphSpec::Sbm { sizes, p_in, p_out } => {
                let n: u128 = sizes.iter().map(|&s| u(s)).sum();
                let within: u128 = sizes.iter().map(|&s| u(s) * u(s) / 2).sum();
                let pairs = n * n / 2;
                let e = *p_in * within as f64 + *p_out * pairs.saturating_sub(within) as f64;
                (n, e as u128)
            }
            GraphSpec::Rgg { dim, n, radius } => {
                let ball = if *dim == 3 {
                    4.0 / 3.0 * std::f64::consts::PI * radius.powi(3)
                } else {
                    std::f64::consts::PI * radius * radius
                };
                let n = u(*n);
                (n, ((n * n / 2) as f64 * ball.min(1.0)) as u128)
            }
            GraphSpec::Er { n, p } => {
                let n = u(*n);
                (n, ((n * n / 2) as f64 * p) as u128)
            }
            GraphSpec::Knn { .. } | GraphSpec::File { .. } => return None,
        })
    }

    /// True for the generators that place their nodes (and so keep coordinates).
    fn has_coords(&self) -> bool {
        matches!(
            self,
            GraphSpec::Lattice2d { .. }
                | GraphSpec::Lattice3d { .. }
                | GraphSpec::Triangular { .. }
                | GraphSpec::Rgg { .. }
        )
    }

    /// True for the generators that use the seed.
    pub fn is_random(&self) -> bool {
        matches!(
            self,
            GraphSpec::Sbm { .. } | GraphSpec::Rgg { .. } | GraphSpec::Er { .. }
        )
    }

    /// Generates or reads the graph; `seed` drives the random generators (ignored otherwise).
    /// Generated graphs are named by the spec; their only warning is for a spec expected to
    /// leave most nodes without edges.
    pub fn build(&self, seed: u64) -> Result<Read, LoadError> {
        self.build_with(seed, WeightPolicy::Reject)
    }

    /// [`GraphSpec::build`] with a policy for negative or complex values in graph files.
    pub fn build_with(&self, seed: u64, weights: WeightPolicy) -> Result<Read, LoadError> {
        let mut warnings = Vec::new();
        let mut bar = None;
        if let Some((nodes, edges)) = self.estimate() {
            crate::graph::graph::check_memory(nodes, edges, self.has_coords())
                .map_err(LoadError::Build)?;
            // Far fewer edges than nodes: most nodes will have none, and cost memory anyway.
            if nodes >= super::progress::NODES && edges.saturating_mul(4) < nodes {
                warnings.push(format!(
                    "{self}: about {edges} edges are expected on {nodes} nodes: most nodes will \
                     have no edges (each still costs memory and a state entry)"
                ));
            }
            bar = super::progress::spinner(&self.to_string(), nodes);
        }
        let generated = match self {
            GraphSpec::Lattice2d {
                rows,
                cols,
                periodic,
            } => generate::lattice2d(*rows, *cols, *periodic),
            GraphSpec::Lattice3d { dims, periodic } => {
                generate::lattice3d(dims[0], dims[1], dims[2], *periodic)
            }
            GraphSpec::Triangular { rows, cols } => generate::triangular(*rows, *cols),
            GraphSpec::Ring { n } => generate::ring(*n),
            GraphSpec::Tree { branching, height } => generate::balanced_tree(*branching, *height),
            GraphSpec::Sbm { sizes, p_in, p_out } => generate::sbm(sizes, *p_in, *p_out, seed),
            GraphSpec::Rgg { dim, n, radius } => {
                generate::random_geometric(*n, *radius, *dim, seed)
            }
            GraphSpec::Er { n, p } => generate::erdos_renyi(*n, *p, seed),
            GraphSpec::Knn { path, k } => return read_xyz_knn(path, *k).map_err(LoadError::Read),
            GraphSpec::File { path } => {
                return read_graph_with(path, None, weights).map_err(LoadError::Read);
            }
        };
        super::progress::finish(bar);
        let mut graph = generated.map_err(LoadError::Build)?;
        graph.set_name(self.to_string());
        Ok(Read { graph, warnings })
    }
}
