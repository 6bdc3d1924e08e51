//! An [`Observer`] that measures the mean instructions per step of each stage of a solve.

use nrg_core::solve::{Control, Observer, Stage, StepInfo};

use crate::counter::Counter;

/// Steps, last energy and instruction count of one stage.
#[derive(Debug, Clone, Copy, Default)]
pub struct StageCost {
    /// Steps observed in the stage.
    pub steps: u32,
    /// Energy at the stage's last observed step.
    pub last_energy: f32,
    /// SysTick ticks between the stage's first and last observation.
    ticks: u64,
}

/// Times the interval between consecutive observations of the same stage: one optimizer step
/// (update and the next energy evaluation), plus the observer's own timestamp, which is removed.
pub struct Meter<'c> {
    counter: &'c Counter,
    last: Option<(Stage, u64)>,
    /// The reparametrized stage.
    pub nr: StageCost,
    /// The direct stage.
    pub direct: StageCost,
}

impl<'c> Meter<'c> {
    /// A meter with nothing observed yet.
    pub fn new(counter: &'c Counter) -> Self {
        Meter {
            counter,
            last: None,
            nr: StageCost::default(),
            direct: StageCost::default(),
        }
    }

    /// Mean instructions per step of `stage` (0 if it took fewer than two steps).
    pub fn per_step(&self, stage: &StageCost) -> u64 {
        match stage.steps {
            0 | 1 => 0,
            s => (self.counter.to_instructions(stage.ticks) / (s - 1) as u64)
                .saturating_sub(self.counter.overhead()),
        }
    }
}

impl Observer for Meter<'_> {
    fn observe(&mut self, info: &StepInfo) -> Control {
        let now = self.counter.mark();
        let cost = match info.stage {
            Stage::Nr => &mut self.nr,
            Stage::Direct => &mut self.direct,
        };
        if let Some((stage, t)) = self.last
            && stage == info.stage
        {
            cost.ticks += now - t;
        }
        cost.steps += 1;
        cost.last_energy = info.energy;
        // Restart the clock after the bookkeeping so it is not charged to the next step.
        self.last = Some((info.stage, self.counter.mark()));
        Control::Continue
    }
}
