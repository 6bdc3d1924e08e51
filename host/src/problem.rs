//! A problem: an energy on a graph, with its heat baths, owned by the host.
//!
//! The core's energies borrow their graph and scratch; [`Problem::with_energy`] builds one for
//! the duration of a closure, so every solver (core or host baseline) sees the same
//! `&mut dyn Energy`.

use anyhow::{Context, Result, bail};
use nrg_core::energy::{Energy, Heat, HeatParams, HopfKuramotoParams};
use nrg_core::graph::Csr;

use nrg_core::hybrid::SwitchRule;
use nrg_core::init;
use nrg_core::model::LatentInit;

use crate::graph::{Baths, Graph, components_without_bath};
use crate::parallel::{Pool, ThreadedHeat, ThreadedHopfKuramoto, ThreadedKuramoto};

/// Where an energy's node states live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Domain {
    /// Real values (heat): direct starts `w ~ N(0, 1/n)`, NR latents `z ~ N(0, 1)`.
    Real,
    /// Phases (Kuramoto, Hopf–Kuramoto): `w, z ~ U(0, 2π)`; ρ is meaningful.
    Phase,
}

impl Domain {
    /// Draws the direct methods' initial state.
    pub fn initial_state(&self, rng: &mut init::Rand, w: &mut [f32]) {
        match self {
            Domain::Real => init::heat_state(rng, w),
            Domain::Phase => init::phase_state(rng, w),
        }
    }

    /// How NR models draw their latent input.
    pub fn latent_init(&self) -> LatentInit {
        match self {
            Domain::Real => LatentInit::Normal,
            Domain::Phase => LatentInit::Phase,
        }
    }
}

/// Where the reference minimum of an energy's gaps comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    /// The exact minimum by Newton's method in f64 (heat).
    ExactNewton,
    /// The closed-form ground state `−Σ_ij A_ij` (Kuramoto).
    GroundState,
    /// None in closed form: the best energy any method found (Hopf–Kuramoto).
    BestFound,
}

/// One energy, described once: its name, state domain, the seed's solver defaults and its
/// reference minimum. Everything that varies by energy reads it from here.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnergyDescription {
    /// Short name used in reports and on the command line.
    pub name: &'static str,
    /// Where its states live.
    pub domain: Domain,
    /// Whether it needs heat baths.
    pub baths: bool,
    /// The seed's learning rate (both stages).
    pub lr: f32,
    /// The seed's hidden width.
    pub hidden: usize,
    /// The default switch rule (the seed's, except heat: the automatic rule).
    pub switch: SwitchRule,
    /// The stop rule's relative tolerance (the seed's 1e-10 for heat; 1e-15 for phases).
    pub rel_tol: f32,
    /// Its reference minimum.
    pub reference: ReferenceKind,
}

/// Heat diffusion with baths (seed eq. 4–5).
pub const HEAT: EnergyDescription = EnergyDescription {
    name: "heat",
    domain: Domain::Real,
    baths: true,
    lr: 0.02,
    hidden: 16,
    // The automatic rule (cost ratio measured by `run_one`): within 25 % of the best fixed
    // switch on 5 of the 6 heat graphs of `nrg reproduce`, where the seed's plateau rule takes
    // 7–15× longer (docs/results/studies.md).
    switch: SwitchRule::auto(0.0),
    rel_tol: 1e-10,
    reference: ReferenceKind::ExactNewton,
};

/// Kuramoto synchronization (seed eq. 6).
pub const KURAMOTO: EnergyDescription = EnergyDescription {
    name: "kuramoto",
    domain: Domain::Phase,
    baths: false,
    lr: 0.01,
    hidden: 10,
    switch: SwitchRule::AfterSteps(100),
    rel_tol: 1e-15,
    reference: ReferenceKind::GroundState,
};

/// Hopf–Kuramoto (seed eq. 7/14).
pub const HOPF_KURAMOTO: EnergyDescription = EnergyDescription {
    name: "hopf-kuramoto",
    reference: ReferenceKind::BestFound,
    ..KURAMOTO
};

/// Which energy, with its parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EnergyKind {
    /// Heat diffusion with baths.
    Heat(HeatParams),
    /// Kuramoto synchronization.
    Kuramoto,
    /// Hopf–Kuramoto.
    HopfKuramoto(HopfKuramotoParams),
}

impl EnergyKind {
    /// The energy's description.
    pub fn describe(&self) -> &'static EnergyDescription {
        match self {
            EnergyKind::Heat(_) => &HEAT,
            EnergyKind::Kuramoto => &KURAMOTO,
            EnergyKind::HopfKuramoto(_) => &HOPF_KURAMOTO,
        }
    }

    /// Short name used in reports (`heat`, `kuramoto`, `hopf-kuramoto`).
    pub fn name(&self) -> &'static str {
        self.describe().name
    }

    /// Whether the states are phases (ρ is meaningful, initial states are U(0, 2π)).
    pub fn is_phase(&self) -> bool {
        self.describe().domain == Domain::Phase
    }
}

/// The energy gaps are measured against, with how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The reference energy, when one is known.
    pub energy: Option<f64>,
    /// How it was obtained (for reports).
    pub kind: String,
}

/// An energy on a graph, ready to solve.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The energy.
    pub energy: EnergyKind,
    /// The graph.
    pub graph: Graph,
    /// Heat baths (empty for phase problems).
    pub baths: Option<Baths>,
}

impl Problem {
    /// Checks that the problem can be posed: the graph is a valid CSR, and for heat every
    /// connected component holds a bath node (otherwise its minimum is not unique).
    pub fn new(energy: EnergyKind, graph: Graph, baths: Option<Baths>) -> Result<Self> {
        graph
            .csr()
            .with_context(|| format!("graph {} is not a valid symmetric graph", graph.name()))?;
        if graph.n() == 0 {
            bail!("graph {} has no nodes", graph.name());
        }
        if energy.describe().baths {
            let Some(b) = &baths else {
                bail!("heat diffusion needs hot and/or cold bath nodes");
            };
            let orphans = components_without_bath(&graph, b);
            if !orphans.is_empty() {
                bail!(
                    "heat diffusion is ill-posed on graph {}: {} connected component(s) hold no bath node \
                     (e.g. component {}); use its largest component or place baths in every component",
                    graph.name(),
                    orphans.len(),
                    orphans[0]
                );
            }
        }
        Ok(Problem {
            energy,
            graph,
            baths,
        })
    }

    /// Number of nodes.
    pub fn n(&self) -> usize {
        self.graph.n()
    }

    /// Builds the core energy and hands it to `f`.
    pub fn with_energy<R>(&self, f: impl FnOnce(&mut dyn Energy) -> R) -> Result<R> {
        self.with_energy_on(&Pool::serial(), f)
    }

    /// Builds the energy evaluated on `pool` (the core's row kernels chunk by chunk; the same
    /// bits for every thread count) and hands it to `f`.
    pub fn with_energy_on<R>(
        &self,
        pool: &Pool,
        f: impl FnOnce(&mut dyn Energy) -> R,
    ) -> Result<R> {
        self.with_energy_on_csr(self.graph.csr()?, pool, f)
    }

    /// [`Problem::with_energy_on`] with this problem's graph already checked as `csr` (the
    /// check reads every entry and its mirror: ~30 ms at 10⁶ nodes, so a run does it once).
    pub(crate) fn with_energy_on_csr<R>(
        &self,
        csr: Csr<'_>,
        pool: &Pool,
        f: impl FnOnce(&mut dyn Energy) -> R,
    ) -> Result<R> {
        let kernels = crate::simd::selected();
        match self.energy {
            EnergyKind::Heat(params) => {
                let (hot, cold) = self
                    .baths
                    .as_ref()
                    .map(|b| (b.hot(), b.cold()))
                    .unwrap_or((&[], &[]));
                let heat = Heat::new(csr, hot, cold, params)?.with_kernels(kernels);
                Ok(f(&mut ThreadedHeat::new(heat, pool)))
            }
            EnergyKind::Kuramoto => Ok(f(&mut ThreadedKuramoto::new(csr, kernels, pool)?)),
            EnergyKind::HopfKuramoto(params) => Ok(f(&mut ThreadedHopfKuramoto::new(
                csr, params, kernels, pool,
            )?)),
        }
    }

    /// Energy of a state (checks its length).
    pub fn energy_of(&self, w: &[f32]) -> Result<f32> {
        Ok(self.with_energy(|e| e.value(w))??)
    }

    /// Energy and gradient of a state.
    pub fn energy_and_grad(&self, w: &[f32]) -> Result<(f32, Vec<f32>)> {
        let mut grad = vec![0.0; w.len()];
        let e = self.with_energy(|e| e.value_and_grad(w, &mut grad))??;
        Ok((e, grad))
    }

    /// The reference energy of gaps and how it was obtained: heat's exact minimum (Newton in
    /// f64, evaluated by the same f32 code the solvers use), Kuramoto's ground state, none for
    /// Hopf–Kuramoto (no known minimum).
    pub fn reference(&self) -> Result<Reference> {
        match (self.energy.describe().reference, self.energy) {
            (ReferenceKind::ExactNewton, EnergyKind::Heat(params)) => {
                let baths = self.baths.as_ref().context("heat without baths")?;
                let exact = crate::baselines::exact_heat_minimum(
                    self.graph.csr()?,
                    baths.hot(),
                    baths.cold(),
                    params,
                )?;
                // Gaps compare f32 energies, so E_min is the exact minimizer's energy as the
                // same f32 code computes it: the f32-vs-f64 rounding difference (≈1e-5 relative
                // at 2500 nodes) would otherwise swamp the small gaps.
                let w32: Vec<f32> = exact.w.iter().map(|&x| x as f32).collect();
                let e32 = self.energy_of(&w32)? as f64;
                Ok(Reference {
                    energy: Some(e32),
                    kind: format!(
                        "exact minimizer (Newton in f64, |grad| = {:.1e}, E = {:.10e}) evaluated \
                         in f32",
                        exact.grad_norm, exact.energy
                    ),
                })
            }
            (ReferenceKind::GroundState, _) => Ok(Reference {
                energy: self.known_minimum(),
                kind: "ground state −Σ A_ij (all phases equal: the global minimum)".into(),
            }),
            _ => Ok(Reference {
                energy: None,
                kind: "none known".into(),
            }),
        }
    }

    /// The known minimum energy where it has a closed form: the Kuramoto ground state
    /// `−Σ_ij A_ij`. (Heat's exact minimum comes from a Newton solve; see the baselines.)
    pub fn known_minimum(&self) -> Option<f64> {
        match self.energy.describe().reference {
            ReferenceKind::GroundState => {
                Some(-self.graph.weights().iter().map(|&a| a as f64).sum::<f64>())
            }
            ReferenceKind::ExactNewton | ReferenceKind::BestFound => None,
        }
    }
}
