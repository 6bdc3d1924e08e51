//! Instructions executed, counted with SysTick under QEMU's `-icount` (shared/docs/firmware.md §4).
//!
//! With `-icount shift=7` every guest instruction advances virtual time by 128 ns, so SysTick
//! ticks at a fixed number of ticks per instruction on each machine. Rather than keep a clock
//! table, [`Counter::start`] calibrates itself against a loop of exactly two instructions per
//! iteration. These are **instructions, not cycles**: QEMU models no pipeline, wait states or
//! FPU latency. Without `-icount` the readings are meaningless.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{SCB, SYST, syst::SystClkSource};
use cortex_m_rt::exception;

/// SysTick wraps (its counter is 24 bits wide).
static WRAPS: AtomicU32 = AtomicU32::new(0);
const RELOAD: u32 = 0x00FF_FFFF;

#[exception]
fn SysTick() {
    // Load + store, not fetch_add: ARMv6-M has no atomic read-modify-write, and only this
    // handler writes the counter.
    WRAPS.store(
        WRAPS.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// A calibrated instruction counter; owns SysTick.
pub struct Counter {
    _syst: SYST,
    /// SysTick ticks per `CAL_INSNS` instructions.
    ticks_per_cal: u64,
    /// Instructions an empty measurement reports (subtracted from every measurement).
    overhead: u64,
}

/// Instructions in the calibration difference: 10 000 more iterations of a 2-instruction loop.
const CAL_INSNS: u64 = 20_000;

/// Runs `iters` iterations of a loop of exactly two instructions.
#[inline(never)]
fn spin(iters: u32) {
    // SAFETY: pure register arithmetic on a scratch register; no memory, no stack.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {0}, #1",
            "bne 2b",
            inout(reg) iters => _,
            options(nomem, nostack),
        );
    }
}

impl Counter {
    /// Starts SysTick from the processor clock and calibrates ticks per instruction.
    pub fn start(mut syst: SYST) -> Self {
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        syst.enable_interrupt();
        syst.enable_counter();
        let mut c = Counter {
            _syst: syst,
            ticks_per_cal: 1,
            overhead: 0,
        };
        let short = c.ticks(|| spin(10_000));
        let long = c.ticks(|| spin(20_000));
        c.ticks_per_cal = (long - short).max(1);
        c.overhead = c.instructions(|| ());
        c
    }

    /// SysTick ticks since start, wraps included.
    fn now(&self) -> u64 {
        cortex_m::interrupt::free(|_| {
            let mut wraps = WRAPS.load(Ordering::Relaxed);
            let mut cvr = SYST::get_current();
            // A wrap not yet handled (interrupts are masked here): count it and re-read.
            if SCB::is_pendst_pending() {
                wraps += 1;
                cvr = SYST::get_current();
            }
            ((wraps as u64) << 24) | (RELOAD - cvr) as u64
        })
    }

    fn ticks(&self, f: impl FnOnce()) -> u64 {
        let t0 = self.now();
        f();
        self.now() - t0
    }

    /// Converts SysTick ticks to instructions.
    pub fn to_instructions(&self, ticks: u64) -> u64 {
        (ticks * CAL_INSNS + self.ticks_per_cal / 2) / self.ticks_per_cal
    }

    /// SysTick ticks per 20 000 instructions, as calibrated (shared/docs/firmware.md §4 lists
    /// the expected value per machine).
    pub fn ticks_per_calibration(&self) -> u64 {
        self.ticks_per_cal
    }

    /// Instructions one empty measurement reports (a timestamp's own cost).
    pub fn overhead(&self) -> u64 {
        self.overhead
    }

    /// A timestamp for [`Counter::since`].
    pub fn mark(&self) -> u64 {
        self.now()
    }

    /// Instructions since `mark` (measurement overhead removed).
    pub fn since(&self, mark: u64) -> u64 {
        self.to_instructions(self.now() - mark)
            .saturating_sub(self.overhead)
    }

    /// Instructions `f` executes (measurement overhead removed).
    pub fn instructions(&self, f: impl FnOnce()) -> u64 {
        let t = self.ticks(f);
        self.to_instructions(t).saturating_sub(self.overhead)
    }
}
