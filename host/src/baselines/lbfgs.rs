//! L-BFGS (argmin 0.11 `LBFGS`) on the node states, in f64 parameters wrapping the f32 energy.
//!
//! **Evaluation.** argmin asks for the cost and the gradient separately; both come from one fused
//! `value_and_grad` of the f32 energy at the f32 rounding of argmin's f64 point, cached under that
//! f32 point. A cost followed by a gradient at the same point (the usual pattern), and every point
//! that rounds to the same f32 state (Hager–Zhang's probe at step ε), cost one evaluation.
//!
//! **Driving.** The solver is stepped by hand (`Solver::init`, then `Solver::next_iter` once per
//! iteration, as argmin's `Executor` does) instead of through the `Executor`: an argmin observer
//! must be `'static` and can only abort a run with an error, while the nrg observer is borrowed and
//! must be able to stop the run cleanly. So after every iteration the new iterate goes through
//! the same bookkeeping as Adam: the observer, the target, the patience rule of `Progress`, the
//! step cap. argmin's own stopping tests are switched off (gradient and cost tolerances 0; no
//! `max_iters`, no `target_cost`). How a run ends:
//!
//! | event | `StopReason` |
//! | --- | --- |
//! | nrg observer returns `Stop` | `Observer` |
//! | energy ≤ `stop.target` (argmin's `target_cost`) | `Target` |
//! | no relative improvement > `rel_tol` for `patience` iterations | `Plateau` |
//! | `stop.max_steps` iterations (argmin's `max_iters`) | `MaxSteps` |
//! | the line search fails twice in a row: along the L-BFGS direction, then along `−∇E` after a restart (argmin's `SolverExit`; the f32 energy cannot resolve a further decrease) | `Plateau` |
//!
//! **Line search failures.** A failed line search (argmin ends the iteration with `SolverExit`,
//! or an iteration spends more than 200 cost/gradient calls) restarts L-BFGS from the current
//! iterate with an empty memory; if the restarted solver's first line search (along `−∇E`) fails
//! too, the run ends as a plateau. The call budget exists because argmin's Hager–Zhang bisection
//! loop has no cap and was seen to cycle forever (millions of calls at one point) on the 50×50
//! heat lattice once the f32 rounding of the energy hides the decrease.
//!
//! **Line search.** Moré–Thuente by default, not Hager–Zhang: argmin's Hager–Zhang evaluates the
//! trial steps ε, 1e5 and 1 every iteration with no bracket expansion, and on a periodic energy
//! the point at step 1e5 is random: on the 16-node Kuramoto ring it stalled at E ≈ −14…−18 (line
//! search failing even along `−∇E`) from 4 of 12 seeded starts, where Moré–Thuente reached a
//! minimum from all 12. On heat both work; Moré–Thuente needs fewer evaluations (50×50 lattice to
//! a 1e-4 gap: 99 iterations / 105 evaluations against 108 / 251). [`LineSearch::HagerZhang`]
//! keeps the other one available.
//!
//! A NaN/Inf energy at an accepted iterate is [`SolveError::Diverged`].

use std::cell::RefCell;

use argmin::core::{
    CostFunction, Error as ArgminError, Gradient, IterState, Problem, Solver, State,
};
use argmin::solver::linesearch::{HagerZhangLineSearch, MoreThuenteLineSearch};
use argmin::solver::quasinewton::LBFGS;
use nrg_core::energy::{Energy, EnergyError};
use nrg_core::solve::{Observer, Report, SolveError, StageRunner, StopReason, StopRule};

use super::{check_state, run_direct_baseline};

/// A usual L-BFGS memory (pairs `(s, y)` kept).
pub const LBFGS_DEFAULT_MEMORY: usize = 10;

/// Cost and gradient calls one L-BFGS iteration may make (a line search usually needs 1–6). Past
/// it the iteration fails like a failed line search (module docs).
const MAX_CALLS_PER_ITERATION: u32 = 200;

type Vec64 = Vec<f64>;
type LbfgsState = IterState<Vec64, Vec64, (), (), (), f64>;

/// The f32 energy seen by argmin as an f64 problem, with a one-point cache. The cache lives
/// outside: argmin's L-BFGS drops the problem when its line search fails, and a restart needs it.
struct F32Problem<'c, 'e> {
    inner: &'c RefCell<Cached<'e>>,
}

struct Cached<'e> {
    energy: &'e mut dyn Energy,
    /// f32 point of the cached evaluation.
    key: Vec<f32>,
    valid: bool,
    value: f32,
    grad: Vec<f32>,
    scratch: Vec<f32>,
    /// The energy's error, kept to report it as such.
    error: Option<EnergyError>,
    /// Cost and gradient calls since the current L-BFGS iteration began.
    calls: u32,
}

impl Cached<'_> {
    /// Makes the cache hold the evaluation at the f32 rounding of `x`.
    fn eval(&mut self, x: &[f64]) -> Result<(), ArgminError> {
        self.calls += 1;
        if self.calls > MAX_CALLS_PER_ITERATION {
            return Err(argmin::core::ArgminError::ConditionViolated {
                text: "L-BFGS line search: evaluation budget exhausted".to_string(),
            }
            .into());
        }
        for (s, &v) in self.scratch.iter_mut().zip(x) {
            *s = v as f32;
        }
        if self.valid && self.scratch == self.key {
            return Ok(());
        }
        self.valid = false;
        match self.energy.value_and_grad(&self.scratch, &mut self.grad) {
            Ok(e) => self.value = e,
            Err(err) => {
                self.error = Some(err);
                return Err(err.into());
            }
        }
        std::mem::swap(&mut self.key, &mut self.scratch);
        self.valid = true;
        Ok(())
    }
}

impl CostFunction for F32Problem<'_, '_> {
    type Param = Vec64;
    type Output = f64;

    fn cost(&self, x: &Vec64) -> Result<f64, ArgminError> {
        let mut c = self.inner.borrow_mut();
        c.eval(x)?;
        Ok(c.value as f64)
    }
}

impl Gradient for F32Problem<'_, '_> {
    type Param = Vec64;
    type Gradient = Vec64;

    fn gradient(&self, x: &Vec64) -> Result<Vec64, ArgminError> {
        let mut c = self.inner.borrow_mut();
        c.eval(x)?;
        Ok(c.grad.iter().map(|&g| g as f64).collect())
    }
}

fn over_budget(cell: &RefCell<Cached<'_>>) -> bool {
    cell.borrow().calls > MAX_CALLS_PER_ITERATION
}

/// Turns an argmin error into the energy's own error (the only thing that can fail inside the
/// cost and gradient besides the call budget, which ends an iteration, not the run).
fn map_error(cell: &RefCell<Cached<'_>>, err: &ArgminError) -> SolveError {
    match cell.borrow().error {
        Some(e) => SolveError::Energy(e),
        None => {
            debug_assert!(false, "argmin failed outside the energy: {err}");
            SolveError::BadConfig { name: "lbfgs" }
        }
    }
}

/// The line search inside [`lbfgs_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineSearch {
    /// argmin's `MoreThuenteLineSearch` (defaults: c1 = 1e-4, c2 = 0.9, first trial step 1,
    /// extrapolation ×4): brackets properly, ~1 evaluation per iteration here. The default.
    #[default]
    MoreThuente,
    /// argmin's `HagerZhangLineSearch` (defaults: trial steps ε, 1e5 and 1 every iteration, no
    /// bracket expansion): the upper end 1e5 lands on a random point of a periodic energy and the
    /// search can then fail even along `−∇E` (module docs).
    HagerZhang,
}

/// Minimizes `energy` by L-BFGS with `memory` correction pairs (argmin's `LBFGS` with the
/// default [`LineSearch`], Moré–Thuente) from `w`; on return `w` holds the best iterate. One
/// observer call per L-BFGS iteration with the energy at the accepted iterate (module docs for
/// stopping). `memory` must be at least 1 ([`LBFGS_DEFAULT_MEMORY`] is usual).
pub fn lbfgs(
    energy: &mut dyn Energy,
    w: &mut [f32],
    memory: usize,
    stop: &StopRule,
    observer: &mut dyn Observer,
) -> Result<Report, SolveError> {
    lbfgs_with(energy, w, memory, LineSearch::default(), stop, observer)
}

/// [`lbfgs`] with a chosen line search.
pub fn lbfgs_with(
    energy: &mut dyn Energy,
    w: &mut [f32],
    memory: usize,
    line_search: LineSearch,
    stop: &StopRule,
    observer: &mut dyn Observer,
) -> Result<Report, SolveError> {
    check_state(energy, w)?;
    if memory == 0 {
        return Err(SolveError::BadConfig { name: "memory" });
    }
    let n = w.len();
    let cell = RefCell::new(Cached {
        energy,
        key: vec![0.0; n],
        valid: false,
        value: f32::NAN,
        grad: vec![0.0; n],
        scratch: vec![0.0; n],
        error: None,
        calls: 0,
    });
    // Tolerances 0: argmin's own convergence tests never fire; the nrg stop rule decides.
    let bad = |_| SolveError::BadConfig { name: "lbfgs" };
    run_direct_baseline(w, stop, observer, |runner, w| match line_search {
        LineSearch::MoreThuente => drive(
            || {
                LBFGS::new(MoreThuenteLineSearch::new(), memory)
                    .with_tolerance_grad(0.0)
                    .and_then(|s| s.with_tolerance_cost(0.0))
                    .map_err(bad)
            },
            &cell,
            runner,
            w,
        ),
        LineSearch::HagerZhang => drive(
            || {
                LBFGS::new(HagerZhangLineSearch::new(), memory)
                    .with_tolerance_grad(0.0)
                    .and_then(|s| s.with_tolerance_cost(0.0))
                    .map_err(bad)
            },
            &cell,
            runner,
            w,
        ),
    })
}

/// Steps a fresh solver from `make` (restarted on a failed line search) under the nrg stop rule.
fn drive<'c, 'e, S>(
    make: impl Fn() -> Result<S, SolveError>,
    cell: &'c RefCell<Cached<'e>>,
    runner: &mut StageRunner<'_, dyn Observer + '_>,
    w: &mut [f32],
) -> Result<StopReason, SolveError>
where
    S: Solver<F32Problem<'c, 'e>, LbfgsState>,
{
    type Started<'c, 'e, S> = (S, Problem<F32Problem<'c, 'e>>, LbfgsState);
    let start = |w: &[f32]| -> Result<Started<'c, 'e, S>, SolveError> {
        let mut solver = make()?;
        let mut problem = Problem::new(F32Problem { inner: cell });
        cell.borrow_mut().calls = 0;
        let x0: Vec64 = w.iter().map(|&x| x as f64).collect();
        match solver.init(&mut problem, LbfgsState::new().param(x0)) {
            Ok((state, _)) => Ok((solver, problem, state)),
            Err(err) => Err(map_error(cell, &err)),
        }
    };
    let (mut solver, mut problem, mut state) = start(w)?;
    let mut fresh = true;
    loop {
        let energy_k = state.get_cost() as f32;
        if let Some(x) = state.get_param() {
            for (wi, &xi) in w.iter_mut().zip(x) {
                *wi = xi as f32;
            }
        }
        let cached = cell.borrow();
        let grad: &[f32] = if cached.valid && cached.key == w {
            &cached.grad
        } else {
            &[]
        };
        let end = runner.record(energy_k, w, grad);
        drop(cached);
        if let Some(reason) = end? {
            return Ok(reason);
        }
        loop {
            cell.borrow_mut().calls = 0;
            match solver.next_iter(&mut problem, state) {
                Ok((s, _)) if !s.terminated() => {
                    state = s;
                    fresh = false;
                    break;
                }
                // A failed line search (argmin ends the iteration with `SolverExit`).
                Ok(_) => {}
                // The call budget ran out outside the line search.
                Err(_) if cell.borrow().error.is_none() && over_budget(cell) => {}
                Err(err) => return Err(map_error(cell, &err)),
            }
            if let Some(e) = cell.borrow().error {
                return Err(SolveError::Energy(e));
            }
            if fresh {
                // Even steepest descent finds no decrease the f32 energy can resolve.
                return Ok(StopReason::Plateau);
            }
            // Restart: forget the curvature pairs and search along the gradient.
            (solver, problem, state) = start(w)?;
            fresh = true;
        }
        state.increment_iter();
        runner.advance();
    }
}
