//! The passes over whole vectors that the stage runner makes every step: the gradient's finite
//! check and the best-iterate copy. They run serially here; a host may supply threaded ones
//! through its [`Observer`](super::Observer) (their results cannot depend on how they are cut).

use crate::kernels::all_finite;

/// Whole-vector passes of the stage runner.
pub trait Sweeps {
    /// Whether every entry of `x` is finite.
    fn all_finite(&self, x: &[f32]) -> bool {
        all_finite(x)
    }

    /// `dst = src`; the runner only calls it with equal lengths.
    fn copy(&self, src: &[f32], dst: &mut [f32]) {
        let m = src.len().min(dst.len());
        dst[..m].copy_from_slice(&src[..m]);
    }
}

/// The serial passes (the default of every observer).
#[derive(Debug, Clone, Copy, Default)]
pub struct SerialSweeps;

impl Sweeps for SerialSweeps {}

/// The one [`SerialSweeps`] observers hand out by default.
pub static SERIAL_SWEEPS: SerialSweeps = SerialSweeps;
