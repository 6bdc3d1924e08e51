//! The one table of methods and the one table of optimizers.
//!
//! Everything that names a method or an optimizer — parsing, display, the `--method`,
//! `--methods` and `--optimizer` help, the reproduce and sweep lists — is derived from
//! [`METHODS`] and [`OPTIMIZERS`]. Adding a reparametrization or an optimizer means writing it in
//! nrg-core and adding one row here.

use std::fmt;
use std::str::FromStr;

use nrg_core::gat::{Gat, GatConfig};
use nrg_core::gn::{Gn, GnConfig};
use nrg_core::graph::Csr;
use nrg_core::model::{Gcn, ModelConfig, ModelError, ModelKind};
use nrg_core::optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
use nrg_core::propagate::{PropagationKind, propagator_cached_storage_len};
use nrg_core::reparam::Reparametrization;

use crate::optim::{Shampoo, ShampooConfig};
use crate::parallel::{Pool, ThreadedOptimizer};
use crate::threaded_gcn::ThreadedGcn;

/// A way to minimize: direct descent, a reparametrization followed by direct descent, the
/// same-init control, or a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The optimizer on `w` ("Linear" in the seed).
    Direct,
    /// The two-stage NR solver with this model.
    Nr(NrModel),
    /// Direct descent started from the NR model's initial output (same seed): separates the
    /// gain of the optimization from the gain of the starting point.
    DirectFrom(NrModel),
    /// Plain gradient descent at `1/λ_max` of the initial Hessian.
    Gd,
    /// RK4 on the gradient flow at its stability limit.
    Rk4,
    /// L-BFGS (argmin, memory 10, Moré–Thuente line search).
    Lbfgs,
    /// Direct descent with Shampoo on `w`, whatever `--optimizer` says (seed Fig. 4b, 5).
    Shampoo,
}

/// The size of an NR model, as the run settings give it, whatever the architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelSize {
    /// Hidden width `h`.
    pub hidden: usize,
    /// Layers (GCN family: 1–3; GAT and GN: 1).
    pub layers: usize,
}

/// An NR model bound to its graph, borrowing storage the caller owns.
pub type BoxedModel<'a> = Box<dyn Reparametrization + 'a>;

/// Builds a registered NR model of `size` on a graph, over caller-owned storage of
/// [`NrModel::storage_len`] entries.
pub type BuildModel =
    for<'a> fn(&ModelSize, Csr<'a>, &'a mut [f32], &Pool) -> Result<BoxedModel<'a>, ModelError>;

/// The model of an NR method: the name of its row in [`METHODS`], whose `build` makes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NrModel(&'static str);

impl NrModel {
    /// The method name of this model.
    pub fn name(&self) -> &'static str {
        self.0
    }

    /// Entries of the storage [`NrModel::build`] needs on a graph of `n` nodes and `nnz` stored
    /// entries (the propagation's normalization and its cached per-entry products).
    pub fn storage_len(n: usize, nnz: usize) -> usize {
        propagator_cached_storage_len(n, nnz)
    }

    /// Builds the model of `size` on `graph` over `storage` (on the calling thread).
    pub fn build<'a>(
        &self,
        size: &ModelSize,
        graph: Csr<'a>,
        storage: &'a mut [f32],
    ) -> Result<BoxedModel<'a>, ModelError> {
        self.build_on(size, graph, storage, &Pool::serial())
    }

    /// [`NrModel::build`] with the passes on `pool` where the model has threaded ones (the
    /// GCN family: [`ThreadedGcn`], bit-identical for every thread count).
    pub fn build_on<'a>(
        &self,
        size: &ModelSize,
        graph: Csr<'a>,
        storage: &'a mut [f32],
        pool: &Pool,
    ) -> Result<BoxedModel<'a>, ModelError> {
        match entry_named(self.0).and_then(|e| e.build) {
            Some(build) => build(size, graph, storage, pool),
            // Every NrModel is made from a row with a builder (see `nr_row`).
            None => Err(ModelError::ZeroWidth),
        }
    }
}

/// A GCN-family model (layer kind and aggregation) of `size`, its passes by row chunks on
/// `pool` (one chunk, or the reference kernels: the serial model).
fn gcn<'a>(
    size: &ModelSize,
    graph: Csr<'a>,
    storage: &'a mut [f32],
    pool: &Pool,
    kind: ModelKind,
    propagation: PropagationKind,
) -> Result<BoxedModel<'a>, ModelError> {
    let config = ModelConfig {
        kind,
        propagation,
        hidden: size.hidden,
        layers: size.layers,
        outputs: 1,
    };
    let model = Gcn::new(&config, graph, storage)?.with_kernels(crate::simd::selected());
    Ok(Box::new(ThreadedGcn::new(model, pool.clone())))
}

/// A one-block model accepts only `layers = 1`.
fn one_block(size: &ModelSize) -> Result<(), ModelError> {
    match size.layers {
        1 => Ok(()),
        layers => Err(ModelError::OneBlock { layers }),
    }
}

/// One row of the method table.
#[derive(Debug, Clone, Copy)]
pub struct MethodEntry {
    /// Canonical name (what reports print).
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// One line for `--help`.
    pub help: &'static str,
    /// What it runs.
    pub method: Method,
    /// How an NR method builds its model (`None` for the others).
    pub build: Option<BuildModel>,
    /// In the standard method set of `reproduce` for heat / phase problems.
    pub standard: Standard,
}

/// Where a method appears in the standard sets of `reproduce`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standard {
    /// Heat rows.
    pub heat: bool,
    /// Kuramoto and Hopf–Kuramoto rows.
    pub phase: bool,
}

const NONE: Standard = Standard {
    heat: false,
    phase: false,
};
const BOTH: Standard = Standard {
    heat: true,
    phase: true,
};
const HEAT: Standard = Standard {
    heat: true,
    phase: false,
};

/// A row that runs no model.
const fn row(
    name: &'static str,
    aliases: &'static [&'static str],
    help: &'static str,
    method: Method,
    standard: Standard,
) -> MethodEntry {
    MethodEntry {
        name,
        aliases,
        help,
        method,
        build: None,
        standard,
    }
}

/// The row of an NR method: its model is built by `build`.
const fn nr_row(
    name: &'static str,
    help: &'static str,
    build: BuildModel,
    standard: Standard,
) -> MethodEntry {
    MethodEntry {
        name,
        aliases: &[],
        help,
        method: Method::Nr(NrModel(name)),
        build: Some(build),
        standard,
    }
}

/// Every method nrg runs. `direct@NAME` (NAME an NR method) is the same-init control of NAME.
pub const METHODS: &[MethodEntry] = &[
    row(
        "direct",
        &["linear"],
        "the optimizer on the node states w (the seed's \"Linear\")",
        Method::Direct,
        BOTH,
    ),
    nr_row(
        "gcn",
        "GCN reparametrization, P = D^-1/2 (A+I) D^-1/2, then direct",
        |s, g, st, p| gcn(s, g, st, p, ModelKind::Gcn, PropagationKind::Renormalized),
        BOTH,
    ),
    nr_row(
        "rgcn",
        "residual GCN (H = z + LeakyReLU(P z Θ + b)), then direct",
        |s, g, st, p| gcn(s, g, st, p, ModelKind::Rgcn, PropagationKind::Renormalized),
        BOTH,
    ),
    nr_row(
        "nograph",
        "the GCN with P = I (the graph removed), then direct",
        |s, g, st, p| gcn(s, g, st, p, ModelKind::Gcn, PropagationKind::Identity),
        NONE,
    ),
    nr_row(
        "rnograph",
        "residual NoGraph, then direct",
        |s, g, st, p| gcn(s, g, st, p, ModelKind::Rgcn, PropagationKind::Identity),
        NONE,
    ),
    nr_row(
        "gcn2",
        "GCN with two hops, P² (the seed's A² rule), then direct",
        |s, g, st, p| {
            gcn(
                s,
                g,
                st,
                p,
                ModelKind::Gcn,
                PropagationKind::RenormalizedSquared,
            )
        },
        NONE,
    ),
    nr_row(
        "rgcn2",
        "residual GCN with P², then direct",
        |s, g, st, p| {
            gcn(
                s,
                g,
                st,
                p,
                ModelKind::Rgcn,
                PropagationKind::RenormalizedSquared,
            )
        },
        NONE,
    ),
    nr_row(
        "gcn-a",
        "GCN with P = D^-1/2 A D^-1/2 (no self-loops), then direct",
        |s, g, st, p| gcn(s, g, st, p, ModelKind::Gcn, PropagationKind::Normalized),
        NONE,
    ),
    nr_row(
        "rgcn-a",
        "residual GCN with P = D^-1/2 A D^-1/2, then direct",
        |s, g, st, p| gcn(s, g, st, p, ModelKind::Rgcn, PropagationKind::Normalized),
        NONE,
    ),
    nr_row(
        "gcn-a2",
        "GCN with (D^-1/2 A D^-1/2)², then direct",
        |s, g, st, p| {
            gcn(
                s,
                g,
                st,
                p,
                ModelKind::Gcn,
                PropagationKind::NormalizedSquared,
            )
        },
        NONE,
    ),
    nr_row(
        "rgcn-a2",
        "residual GCN with (D^-1/2 A D^-1/2)², then direct",
        |s, g, st, p| {
            gcn(
                s,
                g,
                st,
                p,
                ModelKind::Rgcn,
                PropagationKind::NormalizedSquared,
            )
        },
        NONE,
    ),
    nr_row(
        "gat",
        "graph attention (one head over A+I, softmax per row), then direct",
        |s, g, _, _| {
            one_block(s)?;
            Ok(Box::new(Gat::new(&GatConfig::new(s.hidden), g)?))
        },
        NONE,
    ),
    nr_row(
        "gn",
        "graph network block (edge MLP, sum, node MLP), then direct",
        |s, g, _, _| {
            one_block(s)?;
            Ok(Box::new(Gn::new(&GnConfig::new(s.hidden), g)?))
        },
        NONE,
    ),
    row(
        "gd",
        &[],
        "plain gradient descent at 1/λ_max of the initial Hessian",
        Method::Gd,
        HEAT,
    ),
    row(
        "rk4",
        &[],
        "classical RK4 on the gradient flow at its stability limit",
        Method::Rk4,
        BOTH,
    ),
    row(
        "lbfgs",
        &["l-bfgs"],
        "L-BFGS (argmin, memory 10, Moré–Thuente line search)",
        Method::Lbfgs,
        BOTH,
    ),
    row(
        "shampoo",
        &[],
        "direct descent with Shampoo on w (the --optimizer shampoo row; see --shampoo-*)",
        Method::Shampoo,
        NONE,
    ),
];

/// Prefix of the same-init control (`direct@gcn`).
const CONTROL_PREFIX: &str = "direct@";

/// The NR methods whose same-init control the standard phase set runs.
const STANDARD_CONTROLS: &[&str] = &["gcn", "rgcn"];

fn entry_named(name: &str) -> Option<&'static MethodEntry> {
    METHODS
        .iter()
        .find(|e| e.name == name || e.aliases.contains(&name))
}

fn entry_of(method: Method) -> Option<&'static MethodEntry> {
    METHODS.iter().find(|e| e.method == method)
}

impl Method {
    /// The seed's GCN hybrid (`gcn`), the NR method experiments default to.
    pub const GCN: Method = Method::Nr(NrModel("gcn"));

    /// Every accepted method name (canonical names, then `direct@NAME` for the NR ones).
    pub fn names() -> Vec<String> {
        let mut names: Vec<String> = METHODS.iter().map(|e| e.name.to_string()).collect();
        names.extend(
            METHODS
                .iter()
                .filter(|e| matches!(e.method, Method::Nr(_)))
                .map(|e| format!("{CONTROL_PREFIX}{}", e.name)),
        );
        names
    }

    /// The method list for `--help`: one line per method.
    pub fn help() -> String {
        let mut out = String::from("Methods:\n");
        for e in METHODS {
            let aliases = if e.aliases.is_empty() {
                String::new()
            } else {
                format!(" (also {})", e.aliases.join(", "))
            };
            out.push_str(&format!("  {:<10} {}{aliases}\n", e.name, e.help));
        }
        out.push_str(&format!(
            "  {CONTROL_PREFIX}NAME direct descent from NR method NAME's initial output (same seed)\n"
        ));
        out
    }

    /// The standard method set of `reproduce` for heat (`phase = false`) or phase problems.
    pub fn standard_set(phase: bool) -> Vec<Method> {
        let mut set: Vec<Method> = METHODS
            .iter()
            .filter(|e| {
                if phase {
                    e.standard.phase
                } else {
                    e.standard.heat
                }
            })
            .map(|e| e.method)
            .collect();
        if phase {
            for name in STANDARD_CONTROLS {
                if let Some(Method::Nr(k)) = entry_named(name).map(|e| e.method) {
                    set.push(Method::DirectFrom(k));
                }
            }
        }
        set
    }

    /// Whether this method trains a reparametrization (and so has an NR stage).
    pub fn is_nr(&self) -> bool {
        matches!(self, Method::Nr(_))
    }
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        let found = match lower.strip_prefix(CONTROL_PREFIX) {
            Some(model) => match entry_named(model).map(|e| e.method) {
                Some(Method::Nr(k)) => Some(Method::DirectFrom(k)),
                _ => None,
            },
            None => entry_named(&lower).map(|e| e.method),
        };
        found.ok_or_else(|| {
            format!(
                "unknown method `{s}`; expected one of: {}",
                Method::names().join(", ")
            )
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Method::DirectFrom(k) => match entry_of(Method::Nr(k)) {
                Some(e) => write!(f, "{CONTROL_PREFIX}{}", e.name),
                None => write!(f, "{CONTROL_PREFIX}nr"),
            },
            m => f.write_str(entry_of(m).map_or("unregistered", |e| e.name)),
        }
    }
}

/// Builds an optimizer at learning rate `lr` stepping on `pool`.
pub type BuildThreaded = fn(lr: f32, pool: Pool) -> Box<dyn Optimizer + Send>;

/// One row of the optimizer table.
#[derive(Debug, Clone, Copy)]
pub struct OptimizerEntry {
    /// Canonical name.
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// One line for `--help`.
    pub help: &'static str,
    /// Builds it at learning rate `lr` with its other hyper-parameters at their defaults
    /// (or from `options`, for the optimizers that have some there).
    pub build: fn(lr: f32, options: &OptimizerOptions<'_>) -> Box<dyn Optimizer + Send>,
    /// Builds it stepping chunk by chunk on a pool ([`ThreadedOptimizer`]), for the
    /// elementwise optimizers; `None` runs it serially (Shampoo).
    pub threaded: Option<BuildThreaded>,
}

/// What an optimizer may need besides its learning rate.
#[derive(Debug, Clone, Copy, Default)]
pub struct OptimizerOptions<'a> {
    /// Row-major block shapes `(m, k)` of the flat parameter vector, in order (Shampoo's
    /// blocks; empty: one vector).
    pub shapes: &'a [(usize, usize)],
    /// Shampoo's ε, root interval and tile size.
    pub shampoo: ShampooConfig,
}

/// Every optimizer nrg offers, for `w` (`--optimizer`) and for the NR model (`--nr-optimizer`).
pub const OPTIMIZERS: &[OptimizerEntry] = &[
    OptimizerEntry {
        name: "adam",
        aliases: &[],
        help: "Adam, β = (0.9, 0.999), ε = 1e-8, bias-corrected (torch.optim.Adam)",
        build: |lr, _| Box::new(Adam::with_lr(lr).with_kernels(crate::simd::selected())),
        threaded: Some(|lr, pool| {
            Box::new(ThreadedOptimizer::new(
                Adam::with_lr(lr).with_kernels(crate::simd::selected()),
                pool,
            ))
        }),
    },
    OptimizerEntry {
        name: "sgd",
        aliases: &["gd"],
        help: "plain gradient descent w −= lr·g (torch.optim.SGD)",
        build: |lr, _| Box::new(Sgd::plain(lr)),
        threaded: Some(|lr, pool| Box::new(ThreadedOptimizer::new(Sgd::plain(lr), pool))),
    },
    OptimizerEntry {
        name: "momentum",
        aliases: &["sgd-momentum"],
        help: "SGD with heavy-ball momentum 0.9",
        build: |lr, _| Box::new(Sgd::momentum(lr, 0.9)),
        threaded: Some(|lr, pool| Box::new(ThreadedOptimizer::new(Sgd::momentum(lr, 0.9), pool))),
    },
    OptimizerEntry {
        name: "nesterov",
        aliases: &["sgd-nesterov"],
        help: "SGD with Nesterov momentum 0.9",
        build: |lr, _| Box::new(Sgd::nesterov(lr, 0.9)),
        threaded: Some(|lr, pool| Box::new(ThreadedOptimizer::new(Sgd::nesterov(lr, 0.9), pool))),
    },
    OptimizerEntry {
        name: "rmsprop",
        aliases: &[],
        help: "RMSprop, α = 0.99, ε = 1e-8 (torch.optim.RMSprop)",
        build: |lr, _| Box::new(RmsProp::with_lr(lr)),
        threaded: Some(|lr, pool| Box::new(ThreadedOptimizer::new(RmsProp::with_lr(lr), pool))),
    },
    OptimizerEntry {
        name: "adagrad",
        aliases: &[],
        help: "Adagrad, ε = 1e-10 (torch.optim.Adagrad)",
        build: |lr, _| Box::new(Adagrad::with_lr(lr)),
        threaded: Some(|lr, pool| Box::new(ThreadedOptimizer::new(Adagrad::with_lr(lr), pool))),
    },
    OptimizerEntry {
        name: "shampoo",
        aliases: &[],
        help: "Shampoo (Gupta et al. 2018), ε = 1e-4, tiles of at most 128 (--shampoo-*)",
        build: |lr, o| Box::new(Shampoo::new(lr, o.shampoo).with_shapes(o.shapes)),
        threaded: None,
    },
];

/// A registered optimizer, by its table row (cheap to copy, compare and print).
#[derive(Clone, Copy)]
pub struct OptimizerChoice(&'static OptimizerEntry);

impl OptimizerChoice {
    /// Adam, the seed's optimizer and the default everywhere.
    pub fn adam() -> Self {
        OptimizerChoice(&OPTIMIZERS[0])
    }

    /// Canonical name.
    pub fn name(&self) -> &'static str {
        self.0.name
    }

    /// A fresh optimizer of this kind at learning rate `lr`, other settings at defaults.
    pub fn build(&self, lr: f32) -> Box<dyn Optimizer + Send> {
        (self.0.build)(lr, &OptimizerOptions::default())
    }

    /// A fresh optimizer of this kind at learning rate `lr` with `options`.
    pub fn build_with(&self, lr: f32, options: &OptimizerOptions<'_>) -> Box<dyn Optimizer + Send> {
        (self.0.build)(lr, options)
    }

    /// [`OptimizerChoice::build_with`] for the state `w` on `pool`: an elementwise optimizer
    /// steps chunk by chunk on the pool (bit-identical for every thread count); others, and
    /// every optimizer on a one-thread pool, are built as usual.
    pub fn build_on(
        &self,
        lr: f32,
        options: &OptimizerOptions<'_>,
        pool: &Pool,
    ) -> Box<dyn Optimizer + Send> {
        match self.0.threaded {
            Some(threaded) if pool.threads() > 1 => threaded(lr, pool.clone()),
            _ => self.build_with(lr, options),
        }
    }

    /// The registered optimizer called `name`, if any.
    pub fn named(name: &str) -> Option<Self> {
        name.parse().ok()
    }

    /// Every accepted optimizer name.
    pub fn names() -> Vec<&'static str> {
        OPTIMIZERS.iter().map(|e| e.name).collect()
    }

    /// The optimizer list for `--help`.
    pub fn help() -> String {
        let mut out = String::from("Optimizers:\n");
        for e in OPTIMIZERS {
            out.push_str(&format!("  {:<10} {}\n", e.name, e.help));
        }
        out
    }
}

impl PartialEq for OptimizerChoice {
    fn eq(&self, other: &Self) -> bool {
        self.0.name == other.0.name
    }
}

impl fmt::Debug for OptimizerChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl fmt::Display for OptimizerChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.name)
    }
}

impl FromStr for OptimizerChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let lower = s.trim().to_ascii_lowercase();
        OPTIMIZERS
            .iter()
            .find(|e| e.name == lower || e.aliases.contains(&lower.as_str()))
            .map(OptimizerChoice)
            .ok_or_else(|| {
                format!(
                    "unknown optimizer `{s}`; expected one of: {}",
                    OptimizerChoice::names().join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_round_trips() {
        for name in Method::names() {
            let m: Method = name.parse().unwrap();
            assert_eq!(m.to_string(), name);
        }
        for name in OptimizerChoice::names() {
            let o: OptimizerChoice = name.parse().unwrap();
            assert_eq!(o.name(), name);
        }
        assert_eq!("linear".parse::<Method>().unwrap(), Method::Direct);
        assert!("direct@gd".parse::<Method>().is_err());
        assert!("nope".parse::<Method>().is_err());
        assert!("nope".parse::<OptimizerChoice>().is_err());
    }

    #[test]
    fn nr_models_build_through_the_table() {
        // A path 0–1–2: 4 stored entries.
        let (indptr, nbrs, wts) = ([0u32, 1, 3, 4], [1u32, 0, 2, 1], [1.0f32; 4]);
        let csr = Csr::from_indptr(&indptr, &nbrs, &wts).unwrap();
        let size = ModelSize {
            hidden: 4,
            layers: 1,
        };
        // (name, parameters): GCN 3·4 + 16 + 4 + 4 + 1, GAT + 2h, GN 3·4 + 4·16 + 8 + 4 + 1.
        for (name, params) in [("gcn", 37), ("gat", 45), ("gn", 89)] {
            let Method::Nr(model) = name.parse::<Method>().unwrap() else {
                panic!("{name} is not an NR method");
            };
            assert_eq!(model.name(), name);
            let control: Method = format!("direct@{name}").parse().unwrap();
            assert_eq!(control, Method::DirectFrom(model));
            let mut storage = vec![0.0; NrModel::storage_len(3, csr.nnz())];
            let built = model.build(&size, csr, &mut storage).unwrap();
            assert_eq!((built.param_len(), built.output_len()), (params, 3));
        }
        for name in ["gat", "gn"] {
            let Ok(Method::Nr(model)) = name.parse::<Method>() else {
                panic!("{name}");
            };
            let mut storage = vec![0.0; 3];
            let deep = ModelSize {
                hidden: 4,
                layers: 2,
            };
            let err = model.build(&deep, csr, &mut storage).err();
            assert_eq!(err, Some(ModelError::OneBlock { layers: 2 }));
        }
    }

    #[test]
    fn standard_sets() {
        let heat: Vec<String> = Method::standard_set(false)
            .iter()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(heat, ["direct", "gcn", "rgcn", "gd", "rk4", "lbfgs"]);
        assert_eq!("shampoo".parse::<Method>().unwrap().to_string(), "shampoo");
        let phase: Vec<String> = Method::standard_set(true)
            .iter()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(
            phase,
            [
                "direct",
                "gcn",
                "rgcn",
                "rk4",
                "lbfgs",
                "direct@gcn",
                "direct@rgcn"
            ]
        );
    }
}
