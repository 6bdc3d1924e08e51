//! `sync`: Kuramoto synchronization of the [`problem::PROBLEMS`] with every [`Method`], in
//! fixed-capacity storage only (no heap).
//!
//! Per run it prints steps, final energy, ρ and instructions per step (per solver stage), then a
//! `PARITY` line with the bit patterns that scripts/firmware.sh compares with the host's.
//! Exits 0 only if every NR run synchronizes (ρ ≥ 0.99) and every direct run either
//! synchronizes or is reported as stalled (a plateau in a local minimum such as a twisted state).
#![no_std]
#![no_main]

use cortex_m as _; // links the critical-section implementation
use cortex_m_rt::entry;
use nrg_core::solve::StopReason;
use nrg_firmware::board::{self, MACHINE, RAM_BYTES};
use nrg_firmware::counter::Counter;
use nrg_firmware::meter::{Meter, StageCost};
use nrg_firmware::problem::{self, Method, Outcome, PROBLEMS, Problem, RunError, Storage};

/// The graph and the solvers' work: a static, so it sits in `.bss` (and in the RAM report),
/// not on the stack.
static mut STORAGE: Storage = Storage::new();

#[entry]
fn main() -> ! {
    board::paint_stack();
    board::check_fpu();
    let storage = &raw mut STORAGE;
    // SAFETY: the only reference to STORAGE, taken once.
    let storage = unsafe { &mut *storage };
    let cp = cortex_m::Peripherals::take().unwrap();
    let counter = Counter::start(cp.SYST);
    defmt::println!(
        "sync on {} ({}); SysTick: {=u64} ticks per 20000 instructions",
        MACHINE,
        problem::math_backend(),
        counter.ticks_per_calibration()
    );
    let mut passed = true;
    for p in &PROBLEMS {
        for method in Method::ALL {
            let mut meter = Meter::new(&counter);
            let result = problem::solve(p, method, storage, &mut meter);
            passed &= check(p, method, result, &meter);
        }
    }
    let ram = board::ram_use();
    defmt::println!(
        "RAM {=usize} bytes static + {=usize} bytes peak stack, of {=usize}",
        ram.statics,
        ram.stack,
        RAM_BYTES
    );
    if ram.overflowed() {
        defmt::error!("the stack ran into the statics: the results above are not trustworthy");
        passed = false;
    }
    board::finish(passed)
}

/// Reports one run; says whether it meets the pass rule.
#[inline(never)] // keeps the logging's frame off the solver's stack: scarce on the 16 KB M0
fn check(p: &Problem, method: Method, result: Result<Outcome, RunError>, meter: &Meter) -> bool {
    match result {
        Ok(outcome) => report(p, method, &outcome, meter),
        Err(RunError::Graph(e)) => {
            defmt::error!("{}: graph does not fit the fixed capacities: {}", p.name, e);
            false
        }
        Err(RunError::Solve(e)) => {
            defmt::error!("{} {}: solver error: {}", p.name, method.name(), e);
            false
        }
    }
}

/// Prints one run and says whether it meets the image's pass rule.
fn report(p: &Problem, method: Method, o: &Outcome, meter: &Meter) -> bool {
    let r = &o.report;
    defmt::println!(
        "{=str} {=str}: {=u32} steps, E = {=f32}, rho = {=f32}, stop: {}",
        p.name,
        method.name(),
        r.steps(),
        r.best_energy,
        o.rho,
        r.reason
    );
    let stage = |name: &str, s: &StageCost, steps: u32| {
        if s.steps > 0 {
            defmt::println!(
                "  stage {=str}: {=u32} steps, last E = {=f32}, {=u64} instructions/step",
                name,
                steps,
                s.last_energy,
                meter.per_step(s)
            );
        }
    };
    stage("nr", &meter.nr, r.nr_steps);
    stage("direct", &meter.direct, r.direct_steps);
    defmt::println!(
        "PARITY {=str} {=str} {=str} steps={=u32} energy={=u32:#010x} rho={=u32:#010x}",
        p.name,
        method.name(),
        problem::math_backend(),
        r.steps(),
        r.best_energy.to_bits(),
        o.rho.to_bits()
    );
    match method {
        _ if o.synchronized() => true,
        Method::Direct if r.reason == StopReason::Plateau => {
            defmt::println!(
                "  direct stalled in a local minimum (rho < 0.99): allowed, NR must synchronize"
            );
            true
        }
        _ => {
            defmt::error!(
                "{=str} {=str}: did not synchronize (rho = {=f32})",
                p.name,
                method.name(),
                o.rho
            );
            false
        }
    }
}
