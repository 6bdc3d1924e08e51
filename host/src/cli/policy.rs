//! How arguments become a problem: graph loading with warnings, the energy, bath placement
//! (and what is assumed on tiny graphs), and solver settings merged with the seed defaults.

use anyhow::{Context, Result, bail};
use nrg_core::energy::{HeatParams, HopfKuramotoParams};

use super::args::{
    AxisArg, BathPlacement, ProblemArgs, ProblemName, SolverArgs, Stage2Arg, WeightsArg,
};
use crate::graph::{
    Axis, Baths, GraphSpec, baths_by_block, baths_by_coordinate, baths_from_files, baths_random,
};
use crate::problem::{EnergyKind, Problem};
use crate::run::{Overrides, Settings};

impl WeightsArg {
    /// The readers' policy for negative or complex values.
    pub(super) fn policy(self) -> crate::graph::WeightPolicy {
        match self {
            WeightsArg::Reject => crate::graph::WeightPolicy::Reject,
            WeightsArg::Abs => crate::graph::WeightPolicy::Abs,
        }
    }
}

/// Loads the graph of a spec, printing reader warnings.
pub(super) fn load_graph(
    spec: &str,
    seed: u64,
    largest: bool,
    weights: WeightsArg,
) -> Result<crate::graph::Graph> {
    let parsed: GraphSpec = spec.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
    let read = parsed
        .build_with(seed, weights.policy())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    for w in &read.warnings {
        eprintln!("warning: {w}");
    }
    let mut graph = read.graph;
    if largest {
        let (g, _) = graph.largest_component()?;
        graph = g;
    } else {
        let comps = graph.components();
        if comps.count() > 1 {
            eprintln!(
                "warning: graph {} has {} connected components ({} isolated nodes); \
                 --largest-component keeps the largest",
                graph.name(),
                comps.count(),
                graph.isolated_nodes().len()
            );
        }
    }
    Ok(graph)
}

impl ProblemArgs {
    pub(super) fn energy(&self) -> EnergyKind {
        match self.problem {
            ProblemName::Heat => EnergyKind::Heat(HeatParams {
                lambda: self.lambda,
                t_hot: self.t_hot,
                t_cold: self.t_cold,
            }),
            ProblemName::Kuramoto => EnergyKind::Kuramoto,
            ProblemName::HopfKuramoto => EnergyKind::HopfKuramoto(HopfKuramotoParams {
                c: self.c,
                s1: self.s1,
                s2: self.s2,
            }),
        }
    }

    pub(super) fn baths(&self, g: &crate::graph::Graph) -> Result<Baths> {
        let axis = self.axis.map(|a| match a {
            AxisArg::X => Axis::X,
            AxisArg::Y => Axis::Y,
            AxisArg::Z => Axis::Z,
        });
        let by_block = || -> Result<Baths> {
            let blocks = g.blocks().context("--baths block needs an SBM graph")?;
            let last = blocks.iter().copied().max().unwrap_or(0);
            let hot = if self.hot_blocks.is_empty() {
                vec![0]
            } else {
                self.hot_blocks.clone()
            };
            let cold = if self.cold_blocks.is_empty() {
                vec![last]
            } else {
                self.cold_blocks.clone()
            };
            Ok(baths_by_block(g, &hot, &cold)?)
        };
        let random = || {
            for (what, f) in [("hot", self.hot_fraction), ("cold", self.cold_fraction)] {
                if f > 0.0 && (f * g.n() as f64).round() == 0.0 {
                    eprintln!(
                        "warning: {what} fraction {f} of {} nodes rounds to 0 nodes; using 1 {what} \
                         node (set --{what}-fraction 0 for none)",
                        g.n()
                    );
                }
            }
            Ok(baths_random(
                g,
                self.hot_fraction,
                self.cold_fraction,
                self.bath_seed,
            )?)
        };
        let coordinate = || {
            Ok(baths_by_coordinate(
                g,
                axis,
                self.hot_fraction,
                self.cold_fraction,
            )?)
        };
        if self.hot.is_some() || self.cold.is_some() {
            if !matches!(self.baths, BathPlacement::Files | BathPlacement::Auto) {
                bail!("--hot/--cold files go with --baths files");
            }
            return Ok(baths_from_files(
                g,
                self.hot.as_deref(),
                self.cold.as_deref(),
            )?);
        }
        match self.baths {
            BathPlacement::Files => bail!("--baths files needs --hot FILE and/or --cold FILE"),
            BathPlacement::Coordinate => coordinate(),
            BathPlacement::Block => by_block(),
            BathPlacement::Random => random(),
            BathPlacement::Auto if g.coords().is_some() => coordinate(),
            BathPlacement::Auto if g.blocks().is_some() => by_block(),
            BathPlacement::Auto => random(),
        }
    }

    pub(super) fn build(&self) -> Result<Problem> {
        let graph = load_graph(
            &self.graph,
            self.graph_seed,
            self.largest_component,
            self.weights,
        )?;
        let energy = self.energy();
        if energy.describe().baths && graph.n() < 2 {
            bail!(
                "graph {} has {} node: heat diffusion needs at least 2 nodes (one hot, one \
                 cold); use a larger graph, e.g. ring:10 or lattice2d:10x10",
                graph.name(),
                graph.n()
            );
        }
        let baths = if energy.describe().baths {
            Some(self.baths(&graph)?)
        } else {
            None
        };
        Problem::new(energy, graph, baths)
    }
}

impl SolverArgs {
    /// The user's changes to the seed defaults ([`Settings::resolve`] merges them).
    pub(super) fn settings(&self, energy: &EnergyKind) -> Settings {
        if let Some(k) = &self.kernels
            && let Err(e) = crate::simd::choose(k)
        {
            eprintln!("warning: --kernels: {e}");
        }
        Settings::resolve(
            energy,
            &Overrides {
                optimizer: self.optimizer,
                nr_optimizer: self.nr_optimizer,
                lr: self.lr,
                nr_lr: self.nr_lr,
                hidden: self.hidden,
                layers: self.layers,
                switch_after: self.switch_after,
                switch_auto: self.switch_auto,
                switch_patience: self.switch_patience,
                switch_rel_tol: self.switch_rel_tol,
                switch_max: self.switch_max,
                patience: self.patience,
                rel_tol: self.rel_tol,
                seed_stop_rule: self.seed_stop_rule,
                threads: self.threads.map(|t| t as usize),
                max_steps: self.max_steps,
                target: self.target,
                stage2_fresh: self.stage2 == Stage2Arg::Fresh,
                growth: self.growth,
                max_seconds: self.max_seconds.map(f64::from),
                shampoo: Some(crate::optim::ShampooConfig {
                    eps: self.shampoo_eps,
                    interval: self.shampoo_interval,
                    block: usize::try_from(self.shampoo_block).unwrap_or(usize::MAX),
                }),
            },
        )
    }
}
