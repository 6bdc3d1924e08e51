//! What every image needs from the board: its name, a way to exit QEMU with a status, and
//! handlers that turn a panic or a HardFault into a logged, non-zero exit.

use cortex_m_rt::{ExceptionFrame, exception};
// The defmt global logger writes to semihosting (QEMU's stdout, decoded by defmt-print).
use defmt_semihosting as _;

include!(concat!(env!("OUT_DIR"), "/machine.rs"));

/// Exit status of a run that met its checks.
pub const PASS: i32 = 0;
/// Exit status of a failed check, a panic or a fault.
pub const FAIL: i32 = 1;

/// Ends the QEMU run with `code` as its exit status.
pub fn exit(code: i32) -> ! {
    semihosting::process::exit(code)
}

/// Logs `result` and exits with [`PASS`] or [`FAIL`].
pub fn finish(passed: bool) -> ! {
    if passed {
        defmt::println!("RESULT pass");
        exit(PASS)
    } else {
        defmt::error!("RESULT fail");
        exit(FAIL)
    }
}

/// Stops early, with a message, when a hard-float image runs on a core without an FPU (the
/// runner and build.rs refuse that pairing; this catches a hand-started QEMU).
pub fn check_fpu() {
    if cfg!(target_abi = "eabihf") {
        const MVFR0: *const u32 = 0xE000_EF40 as *const u32;
        // SAFETY: MVFR0 is a read-only System Control Space register on every ARMv7-M and
        // ARMv8-M core (the only hard-float targets); it reads 0 when there is no FPU.
        if unsafe { MVFR0.read_volatile() } == 0 {
            defmt::error!(
                "{} has no FPU but this image was built for a hard-float target",
                MACHINE
            );
            exit(FAIL);
        }
    }
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("panic: {}", defmt::Display2Format(info));
    exit(FAIL)
}

#[exception]
unsafe fn HardFault(frame: &ExceptionFrame) -> ! {
    defmt::error!(
        "HardFault at pc {=u32:#010x} (lr {=u32:#010x})",
        frame.pc(),
        frame.lr()
    );
    exit(FAIL)
}

/// Word written over the unused stack by [`paint_stack`].
const STACK_PAINT: u32 = 0x5EED_C0DE;

unsafe extern "C" {
    /// End of the statics (`.bss`/`.uninit`), where the stack may grow down to (cortex-m-rt).
    static mut __sheap: u32;
    /// Top of the stack (cortex-m-rt).
    static _stack_start: u32;
}

/// Paints the free stack (from the end of the statics up to just below the current stack
/// pointer) so that [`stack_peak`] can later tell how deep the stack went. Call it first.
#[inline(never)]
pub fn paint_stack() {
    let mut p = &raw mut __sheap;
    let sp = cortex_m::register::msp::read() as usize;
    // Leave this function's own frame alone.
    while (p as usize) + 64 < sp {
        // SAFETY: [__sheap, sp − 64) is RAM no one uses yet: above the statics, below the stack.
        unsafe {
            p.write_volatile(STACK_PAINT);
            p = p.add(1);
        }
    }
}

/// RAM demand of an image, measured at run time.
#[derive(Debug, Clone, Copy, defmt::Format)]
pub struct RamUse {
    /// Bytes of statics (`.data`, `.bss`, `.uninit`).
    pub statics: usize,
    /// Deepest stack use since [`paint_stack`], in bytes.
    pub stack: usize,
}

impl RamUse {
    /// Whether the stack reached the statics (and may have overwritten them).
    pub fn overflowed(&self) -> bool {
        self.statics + self.stack >= RAM_BYTES
    }
}

/// How much RAM the statics and the stack (since [`paint_stack`]) have used.
pub fn ram_use() -> RamUse {
    let start = &raw const __sheap as usize;
    let top = &raw const _stack_start as usize;
    let mut p = start;
    // SAFETY: reads within [__sheap, _stack_start), which is RAM.
    while p < top && unsafe { (p as *const u32).read_volatile() } == STACK_PAINT {
        p += 4;
    }
    RamUse {
        statics: start - (top - RAM_BYTES),
        stack: top - p,
    }
}
