//! Self-test of the panic path: panics at once; scripts/firmware.sh expects a logged panic and
//! exit status 1.
#![no_std]
#![no_main]

use cortex_m as _; // links the critical-section implementation
use nrg_firmware as _; // the panic handler

#[cortex_m_rt::entry]
fn main() -> ! {
    panic!("deliberate panic (self-test)")
}
