//! Self-test of the HardFault path: executes a permanently undefined instruction;
//! scripts/firmware.sh expects a logged HardFault and exit status 1.
#![no_std]
#![no_main]

use cortex_m as _; // links the critical-section implementation
use nrg_firmware as _; // the HardFault handler

#[cortex_m_rt::entry]
fn main() -> ! {
    // SAFETY: deliberately faults; the HardFault handler ends the run.
    unsafe { core::arch::asm!("udf #0") };
    unreachable!()
}
