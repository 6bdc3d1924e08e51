//! L-BFGS (argmin 0.11, Hager–Zhang line search) on the node states, in f64 parameters wrapping
//! the f32 energy.
//!
//! **Evaluation.** argmin asks for the cost and the gradient separately; both come from one fused
//! `value_and_grad` of the f32 energy at the f32 rounding of argmin's f64 point, cached under that
//! f32 point. A cost followed by a gradient at the same point (the usual pattern), and every point
//! that rounds to the same f32 state (the line search's first probe at step ε), cost one
//! evaluation.
//!
//! **Driving.** The solver is stepped by hand (`Solver::init`, then `Solver::next_iter` once per
//! iteration, as argmin's `Executor` does) instead of through the `Executor`: an argmin observer
//! must be `'static` and can only abort a run with an error, while the nrg observer is borrowed and
//! must be able to stop the run cleanly. So after every iteration the new iterate goes through
//! the same bookkeeping as Adam: the observer, the target, the patience rule of `Progress`, the
//! step cap. argmin's own stopping tests are switched off (gradient and cost tolerances 0; no
//! `max_iters`, no `target_cost`). Mapping of how a run ends:
//!
//! | event | `StopReason` |
//! | --- | --- |
//! | nrg observer returns `Stop` | `Observer` |
//! | energy ≤ `stop.target` (argmin's `target_cost`) | `Target` |
//! | no relative improvement > `rel_tol` for `patience` iterations | `Plateau` |
//! | `stop.max_steps` iterations (argmin's `max_iters`) | `MaxSteps` |
//! | the line search finds no acceptable step, or spends more than 200 cost/gradient calls on one iteration (argmin's `SolverExit`: the f32 energy cannot resolve a further decrease, i.e. converged to f32 precision) | `Plateau` |
//!
//! A NaN/Inf energy at an accepted iterate is [`SolveError::Diverged`].

use std::cell::RefCell;

use argmin::core::{CostFunction, Error as ArgminError, Gradient, IterState, Problem, Solver, State};
use argmin::solver::linesearch::HagerZhangLineSearch;
use argmin::solver::quasinewton::LBFGS;
use nrg_core::energy::{Energy, EnergyError};
use nrg_core::solve::{Observer, Report, SolveError, StopReason, StopRule};

use super::{Tracker, check_state};

/// A usual L-BFGS memory (pairs `(s, y)` kept).
pub const LBFGS_DEFAULT_MEMORY: usize = 10;

/// Cost and gradient calls one L-BFGS iteration may make (a line search usually needs 3–6). Past
/// it the iteration fails like a failed line search: argmin's Hager–Zhang bisection loop has no
/// cap of its own and can cycle forever once the f32 energy's rounding hides the decrease.
const MAX_CALLS_PER_ITERATION: u32 = 200;

type Vec64 = Vec<f64>;
type LbfgsState = IterState<Vec64, Vec64, (), (), (), f64>;

/// The f32 energy seen by argmin as an f64 problem, with a one-point cache.
struct F32Problem<'e> {
    inner: RefCell<Cached<'e>>,
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

impl CostFunction for F32Problem<'_> {
    type Param = Vec64;
    type Output = f64;

    fn cost(&self, x: &Vec64) -> Result<f64, ArgminError> {
        let mut c = self.inner.borrow_mut();
        c.eval(x)?;
        Ok(c.value as f64)
    }
}

impl Gradient for F32Problem<'_> {
    type Param = Vec64;
    type Gradient = Vec64;

    fn gradient(&self, x: &Vec64) -> Result<Vec64, ArgminError> {
        let mut c = self.inner.borrow_mut();
        c.eval(x)?;
        Ok(c.grad.iter().map(|&g| g as f64).collect())
    }
}

/// Turns an argmin error into the energy's own error when it came from there.
fn map_error(problem: &Problem<F32Problem<'_>>, err: &ArgminError) -> SolveError {
    let energy_error = problem
        .problem
        .as_ref()
        .and_then(|p| p.inner.borrow().error);
    match energy_error {
        Some(e) => SolveError::Energy(e),
        None => {
            // Only the energy can fail inside the cost and gradient; anything else is a bug.
            debug_assert!(false, "argmin failed outside the energy: {err}");
            SolveError::BadConfig { name: "lbfgs" }
        }
    }
}

/// Minimizes `energy` by L-BFGS with `memory` correction pairs (argmin's `LBFGS` with
/// `HagerZhangLineSearch`) from `w`; on return `w` holds the best iterate. One observer call per
/// L-BFGS iteration with the energy at the accepted iterate (module docs for stopping). `memory`
/// must be at least 1 ([`LBFGS_DEFAULT_MEMORY`] is usual).
pub fn lbfgs(
    energy: &mut dyn Energy,
    w: &mut [f32],
    memory: usize,
    stop: &StopRule,
    observer: &mut dyn Observer,
) -> Result<Report, SolveError> {
    lbfgs_variant(energy, w, memory, stop, observer, 0)
}

#[doc(hidden)]
pub fn lbfgs_variant(
    energy: &mut dyn Energy,
    w: &mut [f32],
    memory: usize,
    stop: &StopRule,
    observer: &mut dyn Observer,
    variant: u8,
) -> Result<Report, SolveError> {
    check_state(energy, w)?;
    if memory == 0 {
        return Err(SolveError::BadConfig { name: "memory" });
    }
    let tracker = Tracker::new(stop, observer, w)?;
    let n = w.len();
    let problem = Problem::new(F32Problem {
        inner: RefCell::new(Cached {
            energy,
            key: vec![0.0; n],
            valid: false,
            value: f32::NAN,
            grad: vec![0.0; n],
            scratch: vec![0.0; n],
            error: None,
            calls: 0,
        }),
    });
    let bad = |_| SolveError::BadConfig { name: "lbfgs" };
    match variant {
        0 => drive(
            || {
                LBFGS::new(HagerZhangLineSearch::new(), memory)
                    .with_tolerance_grad(0.0)
                    .and_then(|s| s.with_tolerance_cost(0.0))
                    .map_err(bad)
            },
            problem,
            tracker,
            w,
        ),
        1 => drive(
            || {
                let ls = HagerZhangLineSearch::new().with_bounds(0.0, 10.0).map_err(bad)?;
                LBFGS::new(ls, memory)
                    .with_tolerance_grad(0.0)
                    .and_then(|s| s.with_tolerance_cost(0.0))
                    .map_err(bad)
            },
            problem,
            tracker,
            w,
        ),
        _ => drive(
            || {
                LBFGS::new(argmin::solver::linesearch::MoreThuenteLineSearch::new(), memory)
                    .with_tolerance_grad(0.0)
                    .and_then(|s| s.with_tolerance_cost(0.0))
                    .map_err(bad)
            },
            problem,
            tracker,
            w,
        ),
    }
}

/// The energy's own error, if the last failure came from it.
fn energy_error(problem: &Problem<F32Problem<'_>>) -> Option<EnergyError> {
    problem.problem.as_ref().and_then(|p| p.inner.borrow().error)
}

/// Steps a fresh solver from `make` (restarted on a failed line search) under the nrg stop rule.
fn drive<'e, S>(
    make: impl Fn() -> Result<S, SolveError>,
    mut problem: Problem<F32Problem<'e>>,
    mut tracker: Tracker<'_>,
    w: &mut [f32],
) -> Result<Report, SolveError>
where
    S: Solver<F32Problem<'e>, LbfgsState>,
{
    let start = |problem: &mut Problem<F32Problem<'e>>, w: &[f32]| {
        let mut solver = make()?;
        let x0: Vec64 = w.iter().map(|&x| x as f64).collect();
        match solver.init(problem, LbfgsState::new().param(x0)) {
            Ok((state, _)) => Ok((solver, state)),
            Err(err) => Err(map_error(problem, &err)),
        }
    };
    let (mut solver, mut state) = match start(&mut problem, w) {
        Ok(s) => s,
        Err(err) => return tracker.fail(w, err),
    };
    let mut fresh = true;
    let mut k = 0u32;
    loop {
        let energy_k = state.get_cost() as f32;
        if let Some(x) = state.get_param() {
            for (wi, &xi) in w.iter_mut().zip(x) {
                *wi = xi as f32;
            }
        }
        match tracker.record(k, energy_k, w) {
            Ok(Some(reason)) => return Ok(tracker.finish(w, k, reason)),
            Ok(None) => {}
            Err(err) => return tracker.fail(w, err),
        }
        loop {
            if let Some(p) = problem.problem.as_ref() {
                p.inner.borrow_mut().calls = 0;
            }
            state = match solver.next_iter(&mut problem, state) {
                Ok((s, _)) => s,
                Err(err) => return tracker.fail(w, map_error(&problem, &err)),
            };
            if !state.terminated() {
                fresh = false;
                break;
            }
            if let Some(e) = energy_error(&problem) {
                return tracker.fail(w, SolveError::Energy(e));
            }
            if fresh {
                // Even steepest descent finds no decrease the f32 energy can resolve.
                return Ok(tracker.finish(w, k, StopReason::Plateau));
            }
            // Restart: forget the curvature pairs and search along the gradient.
            (solver, state) = match start(&mut problem, w) {
                Ok(s) => s,
                Err(err) => return tracker.fail(w, err),
            };
            fresh = true;
        }
        state.increment_iter();
        k += 1;
    }
}
