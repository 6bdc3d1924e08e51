//! Sums that hold at scale: the fixed partition of rows and the order their partial sums combine
//! in.
//!
//! One f32 running total loses the answer on large graphs (the rounding of each addition grows
//! with the total). Here rows are summed in f32 over blocks of [`BLOCK_ROWS`]; block partials are
//! combined
//!
//! - in f64 ([`SumMode::Wide`]) where the hardware has f64 (hosts running the fast kernels);
//! - pairwise in f32 ([`SumMode::Pairwise`], a binary-counter cascade) where f64 is software
//!   (Cortex-M) and for the reference kernels, which must stay bit-identical between host and
//!   firmware.
//!
//! Rows are partitioned into chunks of [`CHUNK_ROWS`] fixed by `n` alone ([`chunks`]); a chunk
//! sums its blocks into a [`Partial`] and [`combine`] adds the chunk partials in chunk order.
//! The serial energies and a threaded host run the very same chunks, so a result does not
//! depend on the number of threads.

use core::ops::Range;

use crate::fast::KernelSet;

/// Rows summed in plain f32 before their block's partial joins the wider sum.
pub const BLOCK_ROWS: usize = 16;

/// Rows per chunk: the unit of work of a threaded host and of the partial sums. A multiple of
/// [`BLOCK_ROWS`] and of the fast kernels' 16 lanes, so blocks and SIMD tails fall at the same
/// offsets whether a slice is processed whole or chunk by chunk.
pub const CHUNK_ROWS: usize = 1 << 14;

/// Levels of the cascade inside a chunk: `CHUNK_ROWS / BLOCK_ROWS = 2¹⁰` blocks need 11.
const ROW_LEVELS: usize = 11;

/// Levels of the cascade over chunk partials (2²³ chunks = 1.4·10¹¹ rows before its top level
/// starts adding linearly).
const CHUNK_LEVELS: usize = 24;

/// Whether f64 is software on this target (bare-metal ARM): the fast kernels sum pairwise there.
const SOFT_F64: bool = cfg!(target_os = "none");

/// How block partials are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SumMode {
    /// In f64.
    Wide,
    /// Pairwise in f32 (a binary-counter cascade: each level holds the sum of 2ᵏ blocks).
    Pairwise,
}

impl SumMode {
    /// The mode of a kernel set: pairwise for the reference kernels (bit-identical on every
    /// target) and wherever f64 is software; f64 otherwise.
    pub fn of(kernels: KernelSet) -> Self {
        match kernels {
            KernelSet::Fast(_) if !SOFT_F64 => SumMode::Wide,
            _ => SumMode::Pairwise,
        }
    }
}

/// The row ranges of the fixed partition of `0..n` into chunks of [`CHUNK_ROWS`] (the last one
/// shorter).
pub fn chunks(n: usize) -> impl Iterator<Item = Range<usize>> + Clone {
    (0..n.div_ceil(CHUNK_ROWS)).map(move |c| c * CHUNK_ROWS..((c + 1) * CHUNK_ROWS).min(n))
}

/// Number of chunks of `0..n`.
pub fn chunk_count(n: usize) -> usize {
    n.div_ceil(CHUNK_ROWS)
}

/// The sum over one chunk, in its mode's precision.
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Partial {
    /// An f64 sum ([`SumMode::Wide`]).
    Wide(f64),
    /// An f32 pairwise sum ([`SumMode::Pairwise`]).
    Pairwise(f32),
}

impl Partial {
    /// The value rounded to f32.
    pub fn value(self) -> f32 {
        match self {
            Partial::Wide(x) => x as f32,
            Partial::Pairwise(x) => x,
        }
    }
}

/// A binary-counter cascade of `L` levels: level `k` holds the sum of `2ᵏ` pushed values, so
/// each value takes part in about log₂(count) additions. The top level adds linearly once full.
#[derive(Debug, Clone, Copy)]
struct Cascade<const L: usize> {
    levels: [f32; L],
    count: u32,
}

impl<const L: usize> Cascade<L> {
    const fn new() -> Self {
        Cascade {
            levels: [0.0; L],
            count: 0,
        }
    }

    #[inline]
    fn push(&mut self, x: f32) {
        let mut v = x;
        let mut c = self.count;
        self.count = c.wrapping_add(1);
        let Some((top, below)) = self.levels.split_last_mut() else {
            return;
        };
        // Carry: occupied levels (set bits of the count) merge into the new value up to the
        // first free one.
        for level in below {
            if c & 1 == 0 {
                *level = v;
                return;
            }
            v += *level;
            *level = 0.0;
            c >>= 1;
        }
        // A full top level adds linearly (past 2^(L−1) pushes; still deterministic).
        *top += v;
    }

    /// Sum of the levels, lowest (fewest values) first; empty levels hold 0.
    fn finish(&self) -> f32 {
        let mut acc = 0.0f32;
        for &l in &self.levels {
            acc += l;
        }
        acc
    }
}

/// Accumulates the row values of one chunk: f32 over blocks of [`BLOCK_ROWS`], block partials
/// in f64 or pairwise ([`SumMode`]).
#[derive(Debug, Clone, Copy)]
pub struct RowSum {
    mode: SumMode,
    block: f32,
    in_block: u32,
    wide: f64,
    cascade: Cascade<ROW_LEVELS>,
}

impl RowSum {
    /// An empty sum.
    #[inline]
    pub fn new(mode: SumMode) -> Self {
        RowSum {
            mode,
            block: 0.0,
            in_block: 0,
            wide: 0.0,
            cascade: Cascade::new(),
        }
    }

    /// Adds one row's value.
    #[inline(always)]
    pub fn add(&mut self, x: f32) {
        self.block += x;
        self.in_block += 1;
        if self.in_block == BLOCK_ROWS as u32 {
            self.flush();
        }
    }

    #[inline(never)]
    fn flush(&mut self) {
        match self.mode {
            SumMode::Wide => self.wide += self.block as f64,
            SumMode::Pairwise => self.cascade.push(self.block),
        }
        self.block = 0.0;
        self.in_block = 0;
    }

    /// Adds a whole block's f32 sum (see [`Block`]); the open block, if any, stays open.
    /// Inlined on hosts (an f64 add there); out of line on bare metal, where the cascade's
    /// frame must stay off the rows' loops.
    #[cfg_attr(target_os = "none", inline(never))]
    #[cfg_attr(not(target_os = "none"), inline)]
    pub fn push_block(&mut self, block: f32) {
        match self.mode {
            SumMode::Wide => self.wide += block as f64,
            SumMode::Pairwise => self.cascade.push(block),
        }
    }

    /// The chunk's partial sum (by reference: a by-value move would copy the cascade, a frame
    /// the Cortex-M0 cannot spare).
    pub fn finish(&mut self) -> Partial {
        if self.in_block > 0 {
            self.flush();
        }
        match self.mode {
            SumMode::Wide => Partial::Wide(self.wide),
            SumMode::Pairwise => Partial::Pairwise(self.cascade.finish()),
        }
    }
}

/// The open block of a [`RowSum`], kept in the hot loop's registers: rows add into a local f32
/// and reach the `RowSum` once per [`BLOCK_ROWS`] rows. The same additions in the same order as
/// [`RowSum::add`], so the bits agree; a running total behind `&mut` would be a load and a store
/// per row (about a third of heat's direct step at 2500 nodes).
#[derive(Debug, Clone, Copy, Default)]
pub struct Block {
    acc: f32,
    rows: u32,
}

impl Block {
    /// Adds one row's value; a full block goes to `sum`.
    #[inline(always)]
    pub fn add(&mut self, x: f32, sum: &mut RowSum) {
        self.acc += x;
        self.rows += 1;
        if self.rows == BLOCK_ROWS as u32 {
            sum.push_block(self.acc);
            *self = Block::default();
        }
    }

    /// Hands the last, partial block to `sum` and returns the chunk's partial sum.
    #[inline(always)]
    pub fn finish(self, sum: &mut RowSum) -> Partial {
        if self.rows > 0 {
            sum.push_block(self.acc);
        }
        sum.finish()
    }
}

/// How the rows of a block join: [`Block`] (one after the other, the reference order) or
/// [`Block4`] (the fast sets' order).
pub trait BlockSum: Default {
    /// Adds one row's value; a full block goes to `sum`.
    fn add(&mut self, x: f32, sum: &mut RowSum);
    /// Hands the last, partial block to `sum` and returns the chunk's partial sum.
    fn finish(self, sum: &mut RowSum) -> Partial;
}

impl BlockSum for Block {
    #[inline(always)]
    fn add(&mut self, x: f32, sum: &mut RowSum) {
        Block::add(self, x, sum)
    }
    #[inline(always)]
    fn finish(self, sum: &mut RowSum) -> Partial {
        Block::finish(self, sum)
    }
}

/// The open block in the fast sets' order: rows go round four f32 lanes (row `r` of the block
/// into lane `r mod 4`), which are added pairwise when the block closes. Four short dependency
/// chains instead of one: a block of 16 rows no longer waits on 16 additions in a row, the
/// bound of a light row (heat, Hopf–Kuramoto's first pass). Deterministic, so still the same
/// for every thread count; not the reference order's bits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Block4 {
    lanes: [f32; 4],
    rows: u32,
}

impl BlockSum for Block4 {
    #[inline(always)]
    fn add(&mut self, x: f32, sum: &mut RowSum) {
        // Rotate so the new value always enters the last lane (registers, not an index).
        let [a, b, c, d] = self.lanes;
        self.lanes = [b, c, d, a + x];
        self.rows += 1;
        if self.rows == BLOCK_ROWS as u32 {
            sum.push_block(self.total());
            *self = Block4::default();
        }
    }

    #[inline(always)]
    fn finish(self, sum: &mut RowSum) -> Partial {
        if self.rows > 0 {
            sum.push_block(self.total());
        }
        sum.finish()
    }
}

impl Block4 {
    /// The lanes added pairwise (after 16 rows the rotation is back at its start).
    #[inline(always)]
    fn total(&self) -> f32 {
        let [a, b, c, d] = self.lanes;
        (a + b) + (c + d)
    }

    /// Adds 16 rows' values in row order with the bits of 16 [`BlockSum::add`] calls, in vector
    /// lanes (a stencil block's values, which then stay in registers). In the rotating frame of
    /// `lanes`, value `t` enters lane `t mod 4`; the open block closes after its `16 − rows`
    /// first values and the rest open the next one, whose lanes come out in the same frame.
    #[inline(always)]
    pub fn add16(&mut self, x: &[f32; BLOCK_ROWS], sum: &mut RowSum) {
        const { assert!(BLOCK_ROWS == 16) };
        let r = self.rows as usize;
        let m = BLOCK_ROWS - r;
        let (mut cur, mut next) = (self.lanes, [0.0f32; 4]);
        for c in 0..4 {
            for j in 0..4 {
                let (t, v) = (4 * c + j, x[4 * c + j]);
                // Each lane's values join in row order. (Adding +0.0 to the other block instead,
                // without the branches this compiles to, measured slower on Kuramoto's rows.)
                cur[j] = if t < m { cur[j] + v } else { cur[j] };
                next[j] = if t < m { next[j] } else { next[j] + v };
            }
        }
        // The closing block's lanes in its own frame: `cur` is rotated by `rows`.
        let [a, b, c, d] = cur;
        let lanes = match r % 4 {
            0 => [a, b, c, d],
            1 => [d, a, b, c],
            2 => [c, d, a, b],
            _ => [b, c, d, a],
        };
        sum.push_block(Block4 { lanes, rows: 0 }.total());
        self.lanes = next;
    }
}

/// Sum of chunk partials given in chunk order, rounded to f32: f64 additions or a pairwise
/// cascade by `mode`. One partial is returned as it is. Both the serial energies and threaded
/// hosts call this, so their totals are bit-identical.
pub fn combine(mode: SumMode, parts: impl IntoIterator<Item = Partial>) -> f32 {
    let mut it = parts.into_iter();
    let Some(first) = it.next() else {
        return 0.0;
    };
    match it.next() {
        None => first.value(),
        Some(second) => combine_many(mode, first, second, it),
    }
}

/// [`combine`] over two or more partials (a frame of its own: single-chunk graphs, all a
/// microcontroller holds, never pay for the cascade's stack).
#[inline(never)]
fn combine_many(
    mode: SumMode,
    first: Partial,
    second: Partial,
    rest: impl Iterator<Item = Partial>,
) -> f32 {
    match mode {
        SumMode::Wide => {
            let mut acc = 0.0f64;
            for p in [first, second].into_iter().chain(rest) {
                acc += match p {
                    Partial::Wide(x) => x,
                    Partial::Pairwise(x) => x as f64,
                };
            }
            acc as f32
        }
        SumMode::Pairwise => {
            let mut c = Cascade::<CHUNK_LEVELS>::new();
            for p in [first, second].into_iter().chain(rest) {
                c.push(p.value());
            }
            c.finish()
        }
    }
}

/// `Σ f(i)` for `i` in `0..n`, by the fixed chunks, blocks and `mode` of this module. A frame of
/// its own, so that callers on a microcontroller's deepest path do not carry its blocks.
#[inline(never)]
pub fn sum_by(n: usize, mode: SumMode, mut f: impl FnMut(usize) -> f32) -> f32 {
    combine(
        mode,
        chunks(n).map(|r| {
            let mut s = RowSum::new(mode);
            let mut block = Block::default();
            for i in r {
                block.add(f(i), &mut s);
            }
            block.finish(&mut s)
        }),
    )
}

/// Two sums `(Σ f(i).0, Σ f(i).1)` in one pass, each by the chunks and blocks of [`sum_by`]:
/// the same additions in the same order, so each equals its own `sum_by` bit for bit (for a
/// caller whose two terms come from one evaluation, such as a sine and a cosine).
#[inline(never)]
pub fn sum2_by(n: usize, mode: SumMode, mut f: impl FnMut(usize) -> (f32, f32)) -> (f32, f32) {
    let (mut first, mut second) = (Cascade2::new(mode), Cascade2::new(mode));
    for r in chunks(n) {
        let (a, b) = chunk_sums2(r, mode, &mut f);
        first.push(a);
        second.push(b);
    }
    (first.finish(), second.finish())
}

/// The two partial sums of one chunk `rows` of [`sum2_by`] (a threaded host runs the chunks on
/// its workers and [`combine`]s each component in chunk order: the same bits).
#[inline]
pub fn chunk_sums2(
    rows: Range<usize>,
    mode: SumMode,
    mut f: impl FnMut(usize) -> (f32, f32),
) -> (Partial, Partial) {
    let (mut s0, mut s1) = (RowSum::new(mode), RowSum::new(mode));
    let (mut b0, mut b1) = (Block::default(), Block::default());
    for i in rows {
        let (x, y) = f(i);
        b0.add(x, &mut s0);
        b1.add(y, &mut s1);
    }
    (b0.finish(&mut s0), b1.finish(&mut s1))
}

/// [`combine`] fed one partial at a time (the same additions: f64 in order, or the chunk
/// cascade), rounded to f32 at the end; a single partial is returned as it is.
struct Cascade2 {
    mode: SumMode,
    count: u32,
    first: Option<Partial>,
    wide: f64,
    pairwise: Cascade<CHUNK_LEVELS>,
}

impl Cascade2 {
    fn new(mode: SumMode) -> Self {
        Cascade2 {
            mode,
            count: 0,
            first: None,
            wide: 0.0,
            pairwise: Cascade::new(),
        }
    }

    fn push(&mut self, p: Partial) {
        self.count = self.count.saturating_add(1);
        if self.first.is_none() {
            self.first = Some(p);
        }
        match self.mode {
            SumMode::Wide => {
                self.wide += match p {
                    Partial::Wide(x) => x,
                    Partial::Pairwise(x) => x as f64,
                }
            }
            SumMode::Pairwise => self.pairwise.push(p.value()),
        }
    }

    fn finish(&self) -> f32 {
        match (self.count, self.first) {
            (0, _) | (_, None) => 0.0,
            (1, Some(p)) => p.value(),
            _ => match self.mode {
                SumMode::Wide => self.wide as f32,
                SumMode::Pairwise => self.pairwise.finish(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cascade_is_pairwise_and_saturates_without_panicking() {
        let mut c = Cascade::<3>::new();
        for x in [1.0, 2.0, 3.0, 4.0] {
            c.push(x);
        }
        assert_eq!(c.levels, [0.0, 0.0, 10.0]);
        for _ in 0..20 {
            c.push(1.0);
        }
        assert_eq!(c.finish(), 30.0);
    }

    #[test]
    fn block4_add16_gives_the_bits_of_sixteen_adds() {
        // Values of mixed scales and signs, −0.0 among them, entering at every phase.
        let x = |i: usize| match i % 7 {
            3 => -0.0,
            k => libm::sinf(i as f32 * 0.73) * [1.0, 1e-3, 3e4, 1.0, 7.0, 1e-6, 2.0][k],
        };
        for mode in [SumMode::Wide, SumMode::Pairwise] {
            for lead in 0..2 * BLOCK_ROWS {
                let (mut one, mut sum_one) = (Block4::default(), RowSum::new(mode));
                let (mut vec, mut sum_vec) = (Block4::default(), RowSum::new(mode));
                for i in 0..lead {
                    one.add(x(i), &mut sum_one);
                    vec.add(x(i), &mut sum_vec);
                }
                for b in 0..3 {
                    let xs: [f32; 16] = core::array::from_fn(|t| x(lead + 16 * b + t));
                    for &v in &xs {
                        one.add(v, &mut sum_one);
                    }
                    vec.add16(&xs, &mut sum_vec);
                    assert_eq!(one.rows, vec.rows, "lead {lead}");
                    assert_eq!(one.lanes.map(f32::to_bits), vec.lanes.map(f32::to_bits));
                }
                let (a, b) = (one.finish(&mut sum_one), vec.finish(&mut sum_vec));
                assert_eq!(a, b, "{mode:?}, lead {lead}");
                assert_ne!(a.value(), 0.0);
            }
        }
    }

    #[test]
    fn chunks_cover_rows_once() {
        let n = 3 * CHUNK_ROWS + 5;
        assert_eq!(chunks(n).count(), chunk_count(n));
        assert_eq!(chunks(n).nth(3), Some(3 * CHUNK_ROWS..n));
        // Contiguous, in order, covering 0..n.
        let mut next = 0;
        for r in chunks(n) {
            assert_eq!(r.start, next);
            next = r.end;
        }
        assert_eq!(next, n);
        assert_eq!(chunks(0).count(), 0);
    }

    #[test]
    fn two_sums_in_one_pass_match_two_passes() {
        let n = 3 * CHUNK_ROWS + 77;
        let f = |i: usize| {
            (
                libm::sinf(i as f32 * 0.37),
                libm::cosf(i as f32 * 0.11) * 3.0,
            )
        };
        for mode in [SumMode::Wide, SumMode::Pairwise] {
            let (a, b) = sum2_by(n, mode, f);
            assert_eq!(
                a.to_bits(),
                sum_by(n, mode, |i| f(i).0).to_bits(),
                "{mode:?}"
            );
            assert_eq!(
                b.to_bits(),
                sum_by(n, mode, |i| f(i).1).to_bits(),
                "{mode:?}"
            );
            let (a, b) = sum2_by(100, mode, f);
            assert_eq!(
                a.to_bits(),
                sum_by(100, mode, |i| f(i).0).to_bits(),
                "{mode:?}"
            );
            assert_eq!(
                b.to_bits(),
                sum_by(100, mode, |i| f(i).1).to_bits(),
                "{mode:?}"
            );
        }
        assert_eq!(sum2_by(0, SumMode::Wide, f), (0.0, 0.0));
    }

    #[test]
    fn sums_of_many_small_values_stay_accurate() {
        let n = 1 << 22;
        for mode in [SumMode::Wide, SumMode::Pairwise] {
            let s = sum_by(n, mode, |_| 0.1);
            let exact = n as f64 * 0.1f32 as f64;
            assert!(((s as f64 - exact) / exact).abs() < 1e-6, "{mode:?} {s}");
        }
    }
}
