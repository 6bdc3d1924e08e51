//! Time to a stated accuracy, read off a run's curve: the wall time and steps at which a run
//! first reaches a relative energy gap (heat), an order parameter or a gap to the ground state
//! (phases). The seed's speedups are "time to the stop rule"; these are the ones a user can
//! plan with.

use serde::{Deserialize, Serialize};

use crate::run::CurvePoint;

/// A level of accuracy a run may reach.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Goal {
    /// Relative energy gap `(E − E_min)/|E_min|` at or below this value.
    Gap(f64),
    /// Order parameter ρ at or above this value.
    Rho(f64),
}

impl Goal {
    /// Short label, e.g. `gap<=1e-4`, `rho>=0.99`.
    pub fn label(&self) -> String {
        match self {
            Goal::Gap(g) => format!("gap<={g:.0e}"),
            Goal::Rho(r) => format!("rho>={r}"),
        }
    }
}

/// The heat goals of the reproduction: relative gaps 1e-2, 1e-3, 1e-4, 1e-6.
pub const HEAT_GOALS: [Goal; 4] = [
    Goal::Gap(1e-2),
    Goal::Gap(1e-3),
    Goal::Gap(1e-4),
    Goal::Gap(1e-6),
];

/// The phase goals: ρ ≥ 0.99 and within 1e-5 of the ground state (relative).
pub const PHASE_GOALS: [Goal; 2] = [Goal::Rho(0.99), Goal::Gap(1e-5)];

/// When a run first reached a goal.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Reached {
    /// Global step.
    pub step: u32,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// The first point of `curve` that meets `goal` (`reference` is `E_min` for gaps).
pub fn first_reached(curve: &[CurvePoint], goal: Goal, reference: Option<f64>) -> Option<Reached> {
    let hit = |p: &CurvePoint| match goal {
        Goal::Gap(g) => reference.is_some_and(|r| {
            let scale = if r == 0.0 { 1.0 } else { r.abs() };
            (p.energy - r) / scale <= g
        }),
        Goal::Rho(target) => p.rho.is_some_and(|rho| rho >= target),
    };
    curve.iter().find(|p| hit(p)).map(|p| Reached {
        step: p.step,
        seconds: p.seconds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::StageName;

    fn point(step: u32, energy: f64, rho: Option<f64>) -> CurvePoint {
        CurvePoint {
            step,
            stage: StageName::Direct,
            seconds: step as f64 * 0.5,
            energy,
            rho,
        }
    }

    #[test]
    fn finds_the_first_step_at_each_goal() {
        let curve = [
            point(0, 2.0, Some(0.1)),
            point(1, 1.1, Some(0.995)),
            point(2, 1.0001, Some(1.0)),
        ];
        assert_eq!(
            first_reached(&curve, Goal::Gap(0.2), Some(1.0)),
            Some(Reached {
                step: 1,
                seconds: 0.5
            })
        );
        assert_eq!(
            first_reached(&curve, Goal::Gap(1e-3), Some(1.0)).map(|r| r.step),
            Some(2)
        );
        assert_eq!(first_reached(&curve, Goal::Gap(1e-6), Some(1.0)), None);
        assert_eq!(
            first_reached(&curve, Goal::Rho(0.99), None).map(|r| r.step),
            Some(1)
        );
        // Negative references (Kuramoto) use |E_min|.
        let k = [point(0, -90.0, None), point(1, -99.9995, None)];
        assert_eq!(
            first_reached(&k, Goal::Gap(1e-5), Some(-100.0)).map(|r| r.step),
            Some(1)
        );
        assert_eq!(first_reached(&k, Goal::Gap(1e-5), None), None);
    }
}
