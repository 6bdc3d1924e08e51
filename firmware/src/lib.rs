//! # nrg-firmware
//!
//! Cortex-M images that run `nrg-core` under QEMU and log with defmt over semihosting:
//! `sync` (fixed-capacity storage only) solves the problems of [`problem`] and checks they
//! synchronize; `sweep` (heap-backed) measures per-step cost against graph size.
//!
//! - [`board`]: the machine, exit codes, panic and HardFault handlers, the FPU check.
//! - [`counter`]: instructions executed, from SysTick under QEMU's `-icount`.
//! - [`kernels`]: the fast kernel set (`VSQRT` on hard-float targets).
//! - `fixed`: the soft-float cores' fixed-point `h = 8` products (M0, M3); `sqrt`: the M0's
//!   integer square root.
//! - [`meter`]: an observer that measures instructions per solver step, per stage.
//! - [`problem`]: the `sync` problems, shared with the host parity test.
#![no_std]

pub mod board;
pub mod counter;
#[cfg(not(target_abi = "eabihf"))]
pub mod fixed;
pub mod kernels;
pub mod meter;
pub mod problem;
#[cfg(armv6m)]
pub mod sqrt;
