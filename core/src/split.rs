//! Cutting one caller-owned work slice into equal buffers: what every solver and optimizer does
//! with the single slice it is lent.

/// The first `K · n` entries of `slice` as `K` buffers of `n`, or `None` when it is shorter
/// (or `K · n` overflows).
pub(crate) fn split_equal<const K: usize>(slice: &mut [f32], n: usize) -> Option<[&mut [f32]; K]> {
    let mut rest = slice.get_mut(..K.checked_mul(n)?)?;
    Some(core::array::from_fn(|_| {
        let (head, tail) = core::mem::take(&mut rest).split_at_mut(n);
        rest = tail;
        head
    }))
}
