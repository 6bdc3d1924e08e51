//! The one table of methods and the one table of optimizers.
//!
//! Everything that names a method or an optimizer — parsing, display, the `--method`,
//! `--methods` and `--optimizer` help, the reproduce and sweep lists — is derived from
//! [`METHODS`] and [`OPTIMIZERS`]. Adding a reparametrization or an optimizer means writing it in
//! nrg-core and adding one row here.

use std::fmt;
use std::str::FromStr;

use nrg_core::model::ModelKind;
use nrg_core::optim::{Adagrad, Adam, Optimizer, RmsProp, Sgd};
use nrg_core::propagate::PropagationKind;

/// A way to minimize: direct descent, a reparametrization followed by direct descent, the
/// same-init control, or a baseline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// The optimizer on `w` ("Linear" in the seed).
    Direct,
    /// The two-stage NR solver with this model.
    Nr(NrKind),
    /// Direct descent started from the NR model's initial output (same seed): separates the
    /// gain of the optimization from the gain of the starting point.
    DirectFrom(NrKind),
    /// Plain gradient descent at `1/λ_max` of the initial Hessian.
    Gd,
    /// RK4 on the gradient flow at its stability limit.
    Rk4,
    /// L-BFGS (argmin, memory 10, Moré–Thuente line search).
    Lbfgs,
}

/// The model of an NR method (the GCN family: layer kind and aggregation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NrKind {
    /// Plain or residual layers.
    pub kind: ModelKind,
    /// The aggregation.
    pub propagation: PropagationKind,
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

const fn nr(kind: ModelKind, propagation: PropagationKind) -> Method {
    Method::Nr(NrKind { kind, propagation })
}

/// Every method nrg runs. `direct@NAME` (NAME an NR method) is the same-init control of NAME.
pub const METHODS: &[MethodEntry] = &[
    MethodEntry {
        name: "direct",
        aliases: &["linear"],
        help: "the optimizer on the node states w (the seed's \"Linear\")",
        method: Method::Direct,
        standard: BOTH,
    },
    MethodEntry {
        name: "gcn",
        aliases: &[],
        help: "GCN reparametrization, P = D^-1/2 (A+I) D^-1/2, then direct",
        method: nr(ModelKind::Gcn, PropagationKind::Renormalized),
        standard: BOTH,
    },
    MethodEntry {
        name: "rgcn",
        aliases: &[],
        help: "residual GCN (H = z + LeakyReLU(P z Θ + b)), then direct",
        method: nr(ModelKind::Rgcn, PropagationKind::Renormalized),
        standard: BOTH,
    },
    MethodEntry {
        name: "nograph",
        aliases: &[],
        help: "the GCN with P = I (the graph removed), then direct",
        method: nr(ModelKind::Gcn, PropagationKind::Identity),
        standard: NONE,
    },
    MethodEntry {
        name: "rnograph",
        aliases: &[],
        help: "residual NoGraph, then direct",
        method: nr(ModelKind::Rgcn, PropagationKind::Identity),
        standard: NONE,
    },
    MethodEntry {
        name: "gcn2",
        aliases: &[],
        help: "GCN with two hops, P² (the seed's A² rule), then direct",
        method: nr(ModelKind::Gcn, PropagationKind::RenormalizedSquared),
        standard: NONE,
    },
    MethodEntry {
        name: "rgcn2",
        aliases: &[],
        help: "residual GCN with P², then direct",
        method: nr(ModelKind::Rgcn, PropagationKind::RenormalizedSquared),
        standard: NONE,
    },
    MethodEntry {
        name: "gcn-a",
        aliases: &[],
        help: "GCN with P = D^-1/2 A D^-1/2 (no self-loops), then direct",
        method: nr(ModelKind::Gcn, PropagationKind::Normalized),
        standard: NONE,
    },
    MethodEntry {
        name: "rgcn-a",
        aliases: &[],
        help: "residual GCN with P = D^-1/2 A D^-1/2, then direct",
        method: nr(ModelKind::Rgcn, PropagationKind::Normalized),
        standard: NONE,
    },
    MethodEntry {
        name: "gcn-a2",
        aliases: &[],
        help: "GCN with (D^-1/2 A D^-1/2)², then direct",
        method: nr(ModelKind::Gcn, PropagationKind::NormalizedSquared),
        standard: NONE,
    },
    MethodEntry {
        name: "rgcn-a2",
        aliases: &[],
        help: "residual GCN with (D^-1/2 A D^-1/2)², then direct",
        method: nr(ModelKind::Rgcn, PropagationKind::NormalizedSquared),
        standard: NONE,
    },
    MethodEntry {
        name: "gd",
        aliases: &[],
        help: "plain gradient descent at 1/λ_max of the initial Hessian",
        method: Method::Gd,
        standard: HEAT,
    },
    MethodEntry {
        name: "rk4",
        aliases: &[],
        help: "classical RK4 on the gradient flow at its stability limit",
        method: Method::Rk4,
        standard: HEAT,
    },
    MethodEntry {
        name: "lbfgs",
        aliases: &["l-bfgs"],
        help: "L-BFGS (argmin, memory 10, Moré–Thuente line search)",
        method: Method::Lbfgs,
        standard: HEAT,
    },
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
    pub const GCN: Method = nr(ModelKind::Gcn, PropagationKind::Renormalized);

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

/// One row of the optimizer table.
#[derive(Debug, Clone, Copy)]
pub struct OptimizerEntry {
    /// Canonical name.
    pub name: &'static str,
    /// Other accepted spellings.
    pub aliases: &'static [&'static str],
    /// One line for `--help`.
    pub help: &'static str,
    /// Builds it at learning rate `lr` with its other hyper-parameters at their defaults.
    pub build: fn(lr: f32) -> Box<dyn Optimizer + Send>,
}

/// Every optimizer nrg offers, for `w` (`--optimizer`) and for the NR model (`--nr-optimizer`).
pub const OPTIMIZERS: &[OptimizerEntry] = &[
    OptimizerEntry {
        name: "adam",
        aliases: &[],
        help: "Adam, β = (0.9, 0.999), ε = 1e-8, bias-corrected (torch.optim.Adam)",
        build: |lr| Box::new(Adam::with_lr(lr).with_kernels(crate::simd::selected())),
    },
    OptimizerEntry {
        name: "sgd",
        aliases: &["gd"],
        help: "plain gradient descent w −= lr·g (torch.optim.SGD)",
        build: |lr| Box::new(Sgd::plain(lr)),
    },
    OptimizerEntry {
        name: "momentum",
        aliases: &["sgd-momentum"],
        help: "SGD with heavy-ball momentum 0.9",
        build: |lr| Box::new(Sgd::momentum(lr, 0.9)),
    },
    OptimizerEntry {
        name: "nesterov",
        aliases: &["sgd-nesterov"],
        help: "SGD with Nesterov momentum 0.9",
        build: |lr| Box::new(Sgd::nesterov(lr, 0.9)),
    },
    OptimizerEntry {
        name: "rmsprop",
        aliases: &[],
        help: "RMSprop, α = 0.99, ε = 1e-8 (torch.optim.RMSprop)",
        build: |lr| Box::new(RmsProp::with_lr(lr)),
    },
    OptimizerEntry {
        name: "adagrad",
        aliases: &[],
        help: "Adagrad, ε = 1e-10 (torch.optim.Adagrad)",
        build: |lr| Box::new(Adagrad::with_lr(lr)),
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

    /// A fresh optimizer of this kind at learning rate `lr`.
    pub fn build(&self, lr: f32) -> Box<dyn Optimizer + Send> {
        (self.0.build)(lr)
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
    fn standard_sets() {
        let heat: Vec<String> = Method::standard_set(false)
            .iter()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(heat, ["direct", "gcn", "rgcn", "gd", "rk4", "lbfgs"]);
        let phase: Vec<String> = Method::standard_set(true)
            .iter()
            .map(|m| m.to_string())
            .collect();
        assert_eq!(
            phase,
            ["direct", "gcn", "rgcn", "direct@gcn", "direct@rgcn"]
        );
    }
}
