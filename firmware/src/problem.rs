//! The `sync` problems, shared by the firmware and the host.
//!
//! `tests/firmware_parity.rs` includes this very file (`#[path = ...] mod problem;`), so the
//! firmware's `sync` image and the host run the same code on the same seeds; the parity check
//! compares their results bit for bit. Only `core` and `nrg_core` may be used here.
//!
//! Everything lives in a [`Storage`] of fixed-capacity arrays (a static in the firmware): no
//! heap, capacities the compiler checks (see the `const` assertion below), and the graph is
//! built in place, because a by-value `FixedCsr` would need 2 KB of stack temporaries that a
//! 16 KB Cortex-M0 does not have next to the NR solver's 13 KB of work.

use nrg_core::builders;
use nrg_core::energy::{KURAMOTO_SCRATCH_PER_NODE, Kuramoto};
use nrg_core::graph::{Capacity, Csr, Edge, GraphError};
use nrg_core::hybrid::{HybridConfig, Stage2Start, SwitchRule, hybrid_work_len, solve_hybrid};
use nrg_core::init;
use nrg_core::metrics::order_parameter;
use nrg_core::model::{Gcn, LatentInit, ModelConfig, ModelKind};
use nrg_core::optim::Adam;
use nrg_core::propagate::{PropagationKind, propagator_storage_len};
use nrg_core::solve::{Observer, Report, SolveError, StopRule, direct_work_len, solve_direct};

/// Node capacity of the `sync` graphs.
pub const NODES: usize = 64;
/// Stored-entry capacity (two per undirected edge): the open 8×8 lattice has 224, the ring 128.
pub const ENTRIES: usize = 224;

/// The shape of a problem's graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// A ring of `n` nodes.
    Ring(u32),
    /// An open `rows × cols` square lattice.
    Lattice(u32, u32),
}

impl Topology {
    /// Number of nodes.
    pub const fn nodes(self) -> usize {
        match self {
            Topology::Ring(n) => n as usize,
            Topology::Lattice(r, c) => (r * c) as usize,
        }
    }

    /// Stored CSR entries (twice the edges).
    pub const fn entries(self) -> usize {
        match self {
            Topology::Ring(n) => 2 * n as usize,
            Topology::Lattice(r, c) => 2 * (r * (c - 1) + c * (r - 1)) as usize,
        }
    }

    /// The energy at which a run counts as converged: `E₀ + TARGET_GAP · |E₀|`, with the ground
    /// state `E₀ = −Σ_ij A_ij = −entries` (unit weights).
    pub const fn target_energy(self) -> f32 {
        let ground = -(self.entries() as f32);
        ground - TARGET_GAP * ground
    }

    /// Builds the graph into CSR arrays (see [`fill_csr`]); returns `(nodes, entries)`.
    pub fn fill(
        self,
        row_ends: &mut [u32],
        neighbors: &mut [u32],
    ) -> Result<(usize, usize), GraphError> {
        let n = self.nodes();
        let nnz = match self {
            Topology::Ring(k) => fill_csr(n, builders::ring(k), row_ends, neighbors),
            Topology::Lattice(r, c) => {
                fill_csr(n, builders::lattice2d(r, c, false), row_ends, neighbors)
            }
        }?;
        Ok((n, nnz))
    }
}

/// Fills the index arrays of an unweighted CSR graph (the layout of [`Csr`]) in place from
/// undirected edges given once each, and returns the number of stored entries. The weights are
/// all 1 and live in flash (see [`UNIT_WEIGHTS`]), which saves RAM on a 16 KB board; another
/// weight is an `Err`, and so is too little room. The rest of the validation is
/// [`Csr::try_new`]'s, which callers run on the result.
pub fn fill_csr<I: Iterator<Item = Edge> + Clone>(
    n: usize,
    edges: I,
    row_ends: &mut [u32],
    neighbors: &mut [u32],
) -> Result<usize, GraphError> {
    let capacity = row_ends.len();
    let row_ends = row_ends.get_mut(..n).ok_or(GraphError::CapacityExceeded {
        what: Capacity::Nodes,
        capacity,
    })?;
    // Degrees, then row starts (advanced to row ends while filling).
    row_ends.fill(0);
    let mut nnz = 0;
    for (u, v, w) in edges.clone() {
        if w != 1.0 {
            return Err(GraphError::BadWeight { row: u, col: v });
        }
        for x in [u, v] {
            let bad = GraphError::IndexOutOfRange {
                row: u,
                index: x,
                n: n as u32,
            };
            *row_ends.get_mut(x as usize).ok_or(bad)? += 1;
        }
        nnz += 2;
    }
    if nnz > neighbors.len() {
        let capacity = neighbors.len();
        return Err(GraphError::CapacityExceeded {
            what: Capacity::Entries,
            capacity,
        });
    }
    let mut start = 0;
    for r in row_ends.iter_mut() {
        (*r, start) = (start, start + *r);
    }
    for (u, v, _) in edges {
        for (a, b) in [(u, v), (v, u)] {
            let slot = &mut row_ends[a as usize];
            neighbors[*slot as usize] = b;
            *slot += 1;
        }
    }
    // Sort each row (rows are short: insertion sort).
    let mut start = 0;
    for &end in row_ends.iter() {
        let cols = &mut neighbors[start..end as usize];
        for k in 1..cols.len() {
            let mut m = k;
            while m > 0 && cols[m - 1] > cols[m] {
                cols.swap(m - 1, m);
                m -= 1;
            }
        }
        start = end as usize;
    }
    Ok(nnz)
}

/// One synchronization problem: Kuramoto on a graph from a fixed seed, with its solver settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Problem {
    /// Short name used in logs and parity lines.
    pub name: &'static str,
    /// Its graph.
    pub topology: Topology,
    /// Seed of the initial phases (direct) or of the model's parameters (NR).
    pub seed: u64,
    /// Settings for exact trigonometry (libm): stop at this graph's target energy.
    exact: Settings,
    /// Settings for approximate trigonometry (micromath): its energies err by about 1e-3
    /// relative (they can even dip below the true ground state), so a 1e-5 target would fire
    /// early and wrongly; these runs stop on the plateau rule instead.
    approximate: Settings,
}

/// How the solvers run and stop on one problem.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// When the direct solver stops.
    pub stop: StopRule,
    /// The two-stage solver's settings (same stop rule for its second stage).
    pub hybrid: HybridConfig,
}

impl Settings {
    const fn new(stop: StopRule) -> Self {
        Settings {
            stop,
            hybrid: HybridConfig { stop, ..HYBRID },
        }
    }
}

impl Problem {
    /// The problem on `topology` from `seed`, with the shared solver settings.
    pub const fn new(name: &'static str, topology: Topology, seed: u64) -> Self {
        let target = StopRule {
            target: Some(topology.target_energy()),
            ..DIRECT_STOP
        };
        Problem {
            name,
            topology,
            seed,
            exact: Settings::new(target),
            approximate: Settings::new(DIRECT_STOP),
        }
    }

    /// The settings for the trigonometry the core was built with (see [`math_backend`]).
    pub fn settings(&self) -> &Settings {
        if math_backend() == "libm" {
            &self.exact
        } else {
            &self.approximate
        }
    }
}

/// The problems the `sync` image solves. From seed 2 direct Adam on the ring stalls in the
/// 2-twisted state (E = −128·cos(4π/64) ≈ −125.54, ρ ≈ 0), as most random starts on a ring do,
/// while NR synchronizes; on the lattice both synchronize.
pub const PROBLEMS: [Problem; 2] = [
    Problem::new("lattice8x8", Topology::Lattice(8, 8), 1),
    Problem::new("ring64", Topology::Ring(64), 2),
];

// A problem that outgrows the fixed capacities is a compile error, not a run-time fault.
const _: () = {
    let mut k = 0;
    while k < PROBLEMS.len() {
        let t = PROBLEMS[k].topology;
        assert!(
            t.nodes() <= NODES,
            "a sync problem has more nodes than NODES"
        );
        assert!(
            t.entries() <= ENTRIES,
            "a sync problem has more edges than ENTRIES allows"
        );
        k += 1;
    }
};

/// How a problem is solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Adam on the phases.
    Direct,
    /// The two-stage solver: Adam on a GCN reparametrization ([`MODEL`]), then on the phases.
    Nr,
}

impl Method {
    /// Every method, in the order the `sync` image runs them.
    pub const ALL: [Method; 2] = [Method::Direct, Method::Nr];

    /// Short name used in logs and parity lines.
    pub const fn name(self) -> &'static str {
        match self {
            Method::Direct => "direct",
            Method::Nr => "nr",
        }
    }
}

/// The order parameter a run must reach to count as synchronized.
pub const RHO_SYNC: f32 = 0.99;

/// Adam for the direct solver and for the NR solver's second stage.
pub const DIRECT_ADAM: Adam = Adam::with_lr(0.05);

/// Adam for the NR solver's first stage (on the model's parameters).
pub const NR_ADAM: Adam = Adam::with_lr(0.01);

/// When a direct run (or stage) stops: synchronized (the target is set per graph, see
/// [`Topology::target_energy`]), stalled, or out of steps.
pub const DIRECT_STOP: StopRule = StopRule {
    max_steps: 3000,
    patience: 100,
    rel_tol: 1e-6,
    target: None,
};

/// Stop once the energy is within this fraction of the ground state `−Σ A_ij`.
pub const TARGET_GAP: f32 = 1e-5;

/// Hidden width of the GCN.
pub const HIDDEN: usize = 8;

/// The reparametrization: one GCN layer, `h = 8`, renormalized propagation.
pub const MODEL: ModelConfig = ModelConfig {
    kind: ModelKind::Gcn,
    propagation: PropagationKind::Renormalized,
    hidden: HIDDEN,
    layers: 1,
    outputs: 1,
};

/// The two-stage solver's settings (its stop rule is set per problem by [`Problem::new`]).
/// The switch comes after 20 NR steps (the seed uses 100; here NR alone reaches the target in
/// 8–95 steps, so 20 leaves both stages something to do).
pub const HYBRID: HybridConfig = HybridConfig {
    switch: SwitchRule::AfterSteps(20),
    stop: DIRECT_STOP,
    stage2: Stage2Start::Matched { growth: 1.05 },
};

/// Parameters of [`MODEL`] on [`NODES`] nodes: latent `n·h`, `Θ` and `b`, readout `h + 1`
/// (`nrg_core::model::Layout` reports the same; a test checks it).
pub const NR_PARAMS: usize = NODES * HIDDEN + HIDDEN * HIDDEN + HIDDEN + HIDDEN + 1;
/// Forward/backward scratch of [`MODEL`] on [`NODES`] nodes (one layer: `n·h + 2h`).
pub const NR_SCRATCH: usize = NODES * HIDDEN + 2 * HIDDEN;
/// The two-stage solver's work: gradient and Adam moments of the parameters and the model's
/// scratch (stage 2's Adam moments and best gradient reuse them), then `∂E/∂w` and the best
/// `w`.
pub const NR_WORK: usize = 3 * NR_PARAMS + NR_SCRATCH + 2 * NODES;

/// Floats of work storage the largest run needs: energy scratch and phases, then either the
/// direct solver's work or the propagation storage, parameters and NR work.
pub const WORK_LEN: usize = KURAMOTO_SCRATCH_PER_NODE * NODES
    + NODES
    + max(
        direct_work_len(NODES, 2 * NODES),
        propagator_storage_len(NODES) + NR_PARAMS + NR_WORK,
    );

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

/// The weight of every edge of the `sync` graphs: a constant in flash, which saves 896 bytes
/// of RAM on the 16 KB board.
pub static UNIT_WEIGHTS: [f32; ENTRIES] = [1.0; ENTRIES];

/// Fixed-capacity storage for one `sync` run: the graph's CSR arrays (its weights are
/// [`UNIT_WEIGHTS`]) and the solvers' work.
pub struct Storage {
    row_ends: [u32; NODES],
    neighbors: [u32; ENTRIES],
    work: [f32; WORK_LEN],
}

impl Storage {
    /// Zeroed storage (a `const fn`, so a `static` of it lands in `.bss`).
    pub const fn new() -> Self {
        Storage {
            row_ends: [0; NODES],
            neighbors: [0; ENTRIES],
            work: [0.0; WORK_LEN],
        }
    }

    /// Builds `topology`'s graph in place; returns its validated view and the work slice.
    #[inline(never)] // the builder's iterators must not share a frame with the solver
    pub fn load(&mut self, topology: Topology) -> Result<(Csr<'_>, &mut [f32]), GraphError> {
        let (n, nnz) = topology.fill(&mut self.row_ends, &mut self.neighbors)?;
        let graph = Csr::try_new(
            &self.row_ends[..n],
            &self.neighbors[..nnz],
            &UNIT_WEIGHTS[..nnz],
        )?;
        Ok((graph, &mut self.work))
    }
}

impl Default for Storage {
    fn default() -> Self {
        Self::new()
    }
}

/// What a run produced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outcome {
    /// The solver's report (its `best_energy` is the energy of the returned phases).
    pub report: Report,
    /// Order parameter of the returned phases.
    pub rho: f32,
}

impl Outcome {
    /// Whether the run synchronized.
    pub fn synchronized(&self) -> bool {
        self.rho >= RHO_SYNC
    }
}

/// Builds `problem`'s graph in `storage` and solves it by `method`, reporting each step to
/// `observer`.
#[inline(never)] // keeps the caller's frame off the solver's stack: scarce on the 16 KB M0
pub fn solve<O: Observer>(
    problem: &Problem,
    method: Method,
    storage: &mut Storage,
    observer: &mut O,
) -> Result<Outcome, RunError> {
    let (graph, work) = storage.load(problem.topology).map_err(RunError::Graph)?;
    run(problem, method, graph, work, observer).map_err(RunError::Solve)
}

/// Why a `sync` run failed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RunError {
    /// The graph does not fit the fixed capacities (or is invalid).
    Graph(GraphError),
    /// The solver failed.
    Solve(SolveError),
}

/// Solves `problem` on `graph` (built from `problem.topology`) by `method`, in `work`
/// ([`WORK_LEN`] floats), reporting each step to `observer`.
pub fn run<O: Observer>(
    problem: &Problem,
    method: Method,
    graph: Csr<'_>,
    work: &mut [f32],
    observer: &mut O,
) -> Result<Outcome, SolveError> {
    let n = graph.n();
    let short = SolveError::WorkspaceTooShort {
        needed: WORK_LEN,
        found: work.len(),
    };
    let (scratch, rest) = work
        .split_at_mut_checked(KURAMOTO_SCRATCH_PER_NODE * n)
        .ok_or(short)?;
    let (w, rest) = rest.split_at_mut_checked(n).ok_or(short)?;
    let mut energy = Kuramoto::new(graph, scratch)?;
    let mut rng = init::rng(problem.seed);
    let settings = problem.settings();
    let report = match method {
        Method::Direct => run_direct(&mut energy, &mut rng, w, rest, &settings.stop, observer)?,
        Method::Nr => run_nr(&mut energy, &mut rng, w, rest, &settings.hybrid, observer)?,
    };
    Ok(Outcome {
        report,
        rho: order_parameter(w),
    })
}

/// The direct arm of [`run`]: random phases, then Adam.
#[inline(never)] // keeps the arms' frames apart: stack is scarce on the 16 KB M0
fn run_direct<O: Observer>(
    energy: &mut Kuramoto<'_, '_>,
    rng: &mut init::Rand,
    w: &mut [f32],
    work: &mut [f32],
    stop: &StopRule,
    observer: &mut O,
) -> Result<Report, SolveError> {
    init::phase_state(rng, w);
    let mut adam = DIRECT_ADAM;
    solve_direct(energy, w, work, &mut adam, stop, observer)
}

/// The NR arm of [`run`]: model, parameters and two-stage solve, carved from `work`.
#[inline(never)] // keeps the arms' frames apart: stack is scarce on the 16 KB M0
fn run_nr<O: Observer>(
    energy: &mut Kuramoto<'_, '_>,
    rng: &mut init::Rand,
    w: &mut [f32],
    work: &mut [f32],
    config: &HybridConfig,
    observer: &mut O,
) -> Result<Report, SolveError> {
    let graph = energy.graph();
    let short = SolveError::WorkspaceTooShort {
        needed: propagator_storage_len(graph.n()) + NR_PARAMS + NR_WORK,
        found: work.len(),
    };
    let (storage, rest) = work
        .split_at_mut_checked(propagator_storage_len(graph.n()))
        .ok_or(short)?;
    let model = Gcn::new(&MODEL, graph, storage)?;
    let (params, rest) = rest
        .split_at_mut_checked(model.layout().param_len())
        .ok_or(short)?;
    model.init_params(rng, params, LatentInit::Phase)?;
    let (mut nr_adam, mut direct_adam) = (NR_ADAM, DIRECT_ADAM);
    solve_hybrid(
        energy,
        &model,
        params,
        w,
        rest,
        &mut nr_adam,
        &mut direct_adam,
        config,
        observer,
    )
}

/// The model's layout lengths on `n` nodes `(params, scratch, hybrid work)`, as the core
/// reports them (for checking [`NR_PARAMS`], [`NR_SCRATCH`], [`NR_WORK`]).
pub fn nr_lengths(graph: Csr<'_>, storage: &mut [f32]) -> Option<(usize, usize, usize)> {
    let model = Gcn::new(&MODEL, graph, storage).ok()?;
    let l = model.layout();
    Some((
        l.param_len(),
        l.scratch_len(),
        hybrid_work_len(&model, &NR_ADAM, &DIRECT_ADAM),
    ))
}

/// Which sin/cos the core was built with, `"libm"` or `"micromath"`. The feature belongs to
/// `nrg-core`, not to the crates that include this file, so it is told apart by one value:
/// libm's `sinf(1)` is correctly rounded (bits `0x3F576AA4`), micromath's approximation is not.
pub fn math_backend() -> &'static str {
    if nrg_core::math::sin_cos(1.0).0.to_bits() == 0x3F57_6AA4 {
        "libm"
    } else {
        "micromath"
    }
}
