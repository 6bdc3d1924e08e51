//! The two-stage solver of the seed (Algorithm 1): Adam on the reparametrization
//! `w = GCN(z; θ)` until a switch rule fires, then Adam on `w` directly until a stop rule fires.
//!
//! # Switching without losing progress
//! A fresh Adam moves every coordinate by about `lr` on its first steps, whatever the gradient's
//! size. After a good NR stage that is far larger than the remaining error: measured on a
//! PyTorch reproduction, heat's relative gap jumps from ~1e-5 back to 0.1–4. nrg therefore
//! (a) returns the best iterate over both stages, and (b) by default starts stage 2 from that best
//! iterate with [`Stage2Start::Matched`]: the learning rate starts at the size of the last NR
//! update of `w` (root mean square per node) and grows geometrically to the configured rate,
//! and while it grows any step that would lift the energy above the best so far is rolled back
//! and retried at half the rate. So stage 2 never ends above the energy at the switch.
//! [`Stage2Start::Fresh`] is the seed's plain restart, kept for comparison.

use crate::energy::{Energy, EnergyError};
use crate::model::Gcn;
use crate::optim::{Adam, AdamState};
use crate::solve::{
    Control, DirectStage, Observer, Progress, Report, SolveError, Stage, StepInfo, StopReason,
    StopRule, Warmup, split_work,
};

/// When the NR stage hands over to direct descent.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SwitchRule {
    /// After a fixed number of NR steps (the seed uses 100 for Kuramoto).
    AfterSteps(u32),
    /// When the NR loss plateaus (`patience` steps without a `rel_tol` improvement), or after
    /// `max_steps`.
    Plateau {
        /// Steps without significant improvement.
        patience: u32,
        /// Relative improvement that counts.
        rel_tol: f32,
        /// Most NR steps.
        max_steps: u32,
    },
}

impl SwitchRule {
    fn as_stop_rule(self) -> StopRule {
        match self {
            SwitchRule::AfterSteps(steps) => StopRule::steps(steps),
            SwitchRule::Plateau {
                patience,
                rel_tol,
                max_steps,
            } => StopRule {
                max_steps,
                patience,
                rel_tol,
                target: None,
            },
        }
    }
}

/// How stage 2 starts.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage2Start {
    /// A fresh Adam at the full learning rate from the last NR output (the seed's way; may
    /// lose progress, though the best iterate is still returned).
    Fresh,
    /// From the best iterate, learning rate matched to the last NR step and grown by `growth`
    /// per accepted step, with rises rolled back (see the module docs).
    Matched {
        /// Growth factor of the learning rate per accepted step (> 1).
        growth: f32,
    },
}

impl Default for Stage2Start {
    /// [`Stage2Start::Matched`] with growth 1.1 (full rate after ~100 steps from 1e-4).
    fn default() -> Self {
        Stage2Start::Matched { growth: 1.1 }
    }
}

/// Configuration of [`solve_hybrid`].
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HybridConfig {
    /// Adam on the model parameters.
    pub nr_adam: Adam,
    /// When to switch.
    pub switch: SwitchRule,
    /// Adam on `w` in stage 2.
    pub direct_adam: Adam,
    /// When stage 2 (and the run) ends; a `target` also ends the NR stage early.
    pub stop: StopRule,
    /// How stage 2 starts.
    pub stage2: Stage2Start,
}

/// Entries of the work slice [`solve_hybrid`] needs for `model`.
pub fn hybrid_work_len(model: &Gcn<'_>) -> usize {
    let l = model.layout();
    // grad, m, v over the parameters; the model's scratch; ∂E/∂w, best w, previous w.
    3 * l.param_len() + l.scratch_len() + 3 * l.output_len()
}

/// Root mean square of `a − b`.
fn rms_diff(a: &[f32], b: &[f32]) -> f32 {
    let mut s = 0.0f32;
    for (&x, &y) in a.iter().zip(b) {
        s += (x - y) * (x - y);
    }
    libm::sqrtf(s / a.len().max(1) as f32)
}

/// Minimizes `energy` over `w = model(params)` then over `w` directly. `params` holds the
/// initialized model parameters (trained in place); on return `w` holds the best iterate seen
/// in either stage. `work` needs [`hybrid_work_len`] entries.
pub fn solve_hybrid<E: Energy, O: Observer>(
    energy: &mut E,
    model: &Gcn<'_>,
    params: &mut [f32],
    w: &mut [f32],
    work: &mut [f32],
    config: &HybridConfig,
    observer: &mut O,
) -> Result<Report, SolveError> {
    let l = *model.layout();
    let (np, n) = (l.param_len(), l.output_len());
    // The energy and `w` must both have one entry per model output.
    for found in [energy.n(), w.len()] {
        if found != n {
            return Err(EnergyError::StateLength { expected: n, found }.into());
        }
    }
    if params.len() != np {
        return Err(SolveError::Model(crate::model::ModelError::Length {
            what: "params",
            expected: np,
            found: params.len(),
        }));
    }
    config.nr_adam.validate()?;
    config.direct_adam.validate()?;
    config.stop.validate()?;
    if let Stage2Start::Matched { growth } = config.stage2
        && !(growth.is_finite() && growth > 1.0)
    {
        return Err(SolveError::BadConfig { name: "growth" });
    }
    let needed = hybrid_work_len(model);
    if work.len() < needed {
        return Err(SolveError::WorkspaceTooShort {
            needed,
            found: work.len(),
        });
    }
    let (nr_area, w_area) = work.split_at_mut(3 * np + l.scratch_len());
    let [grad_w, best_w, prev_w] = split_work::<3>(w_area, n)?;
    let switch = config.switch.as_stop_rule();
    let mut progress = Progress::default();

    // Stage 1: Adam on the parameters.
    let (nr_steps, nr_last_energy, last_move, early_end) = {
        let (grad_p, rest) = nr_area.split_at_mut(np);
        let (m, rest) = rest.split_at_mut(np);
        let (v, scratch) = rest.split_at_mut(np);
        let mut state = AdamState::new(m, v)?;
        let mut last_move = 0.0f32;
        let mut k = 0u32;
        loop {
            model.forward(params, scratch, w)?;
            if k > 0 {
                last_move = rms_diff(w, prev_w);
            }
            prev_w.copy_from_slice(w);
            let e = energy.value_and_grad(w, grad_w)?;
            if !e.is_finite() {
                return Err(SolveError::Diverged {
                    step: k,
                    stage: Stage::Nr,
                });
            }
            let upd = progress.update(e, k, &switch);
            if upd.improved {
                best_w.copy_from_slice(w);
            }
            let info = StepInfo {
                step: k,
                stage: Stage::Nr,
                stage_step: k,
                energy: e,
                best: progress.best,
                w,
            };
            if observer.observe(&info) == Control::Stop {
                break (k, e, last_move, Some(StopReason::Observer));
            }
            if config.stop.target.is_some_and(|t| e <= t) {
                break (k, e, last_move, Some(StopReason::Target));
            }
            if upd.plateau || k >= switch.max_steps {
                break (k, e, last_move, None);
            }
            model.backward(params, scratch, grad_w, grad_p)?;
            config.nr_adam.step(&mut state, params, grad_p)?;
            k += 1;
        }
    };
    if let Some(reason) = early_end {
        w.copy_from_slice(best_w);
        return Ok(Report {
            nr_steps,
            direct_steps: 0,
            best_energy: progress.best,
            best_step: progress.best_step,
            final_energy: nr_last_energy,
            reason,
        });
    }

    // Stage 2: Adam on w, its buffers carved from the now idle NR area.
    let warmup = match config.stage2 {
        Stage2Start::Fresh => None,
        Stage2Start::Matched { growth } => {
            w.copy_from_slice(best_w);
            let lr = config.direct_adam.lr;
            let start = if lr > 0.0 {
                (last_move / lr).clamp(1e-4, 1.0)
            } else {
                1.0
            };
            Some(Warmup {
                start,
                growth,
                max_rejects: 30,
            })
        }
    };
    // Stage 2 has its own patience: the switch rule's stall count does not carry over.
    progress.stall = 0;
    let [m, v] = split_work::<2>(nr_area, n)?;
    let mut stage = DirectStage {
        adam: &config.direct_adam,
        state: AdamState::new(m, v)?,
        stop: &config.stop,
        first_step: nr_steps + 1,
        warmup,
    };
    // The switch step itself was the last NR evaluation; stage 2 re-evaluates its start.
    let (direct_steps, final_energy, reason) = crate::solve::run_direct_stage(
        energy,
        w,
        best_w,
        grad_w,
        &mut stage,
        &mut progress,
        observer,
    )?;
    w.copy_from_slice(best_w);
    Ok(Report {
        nr_steps,
        direct_steps,
        best_energy: progress.best,
        best_step: progress.best_step,
        final_energy,
        reason,
    })
}
