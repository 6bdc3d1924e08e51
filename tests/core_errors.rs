//! Every error path of nrg-core returns its typed variant (with the offending data) and a
//! non-empty, informative `Display`; nothing panics on bad input.

use std::fmt::Display;

use nrg_core::builders;
use nrg_core::energy::{
    Energy, EnergyError, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams, Kuramoto,
};
use nrg_core::graph::{Capacity, Csr, Edge, FixedCsr, GraphError};
use nrg_core::optim::{Adagrad, Adam, OptimError, Optimizer, RmsProp, Sgd};
use nrg_core::propagate::{LengthError, PropagationKind, Propagator};
use nrg_core::solve::{NoObserver, SolveError, Stage, StopRule, direct_work_len, solve_direct};

/// Asserts `err` is `want` and its message is non-empty and mentions every string in `mentions`.
#[track_caller]
fn check<E: Display + PartialEq + std::fmt::Debug>(err: E, want: E, mentions: &[&str]) {
    assert_eq!(err, want);
    let msg = err.to_string();
    assert!(!msg.trim().is_empty(), "{err:?} has an empty Display");
    for m in mentions {
        assert!(
            msg.contains(m),
            "Display of {err:?} is {msg:?}, expected it to mention {m:?}"
        );
    }
}

fn csr_err(indptr: &[u32], neighbors: &[u32], weights: &[f32]) -> GraphError {
    Csr::from_indptr(indptr, neighbors, weights).expect_err("invalid CSR must be refused")
}

fn fixed_err<const N: usize, const NNZ: usize>(n: usize, edges: &[Edge]) -> GraphError {
    FixedCsr::<N, NNZ>::from_edges(n, edges.iter().copied())
        .expect_err("invalid edges must be refused")
}

/// A valid 3-node path 0 – 1 – 2.
const P3_INDPTR: [u32; 4] = [0, 1, 3, 4];
const P3_NEIGHBORS: [u32; 4] = [1, 0, 2, 1];
const P3_WEIGHTS: [f32; 4] = [1.0; 4];

fn path3() -> Csr<'static> {
    Csr::from_indptr(&P3_INDPTR, &P3_NEIGHBORS, &P3_WEIGHTS).unwrap()
}

#[test]
fn csr_index_out_of_range() {
    check(
        csr_err(&[0, 1, 2], &[1, 5], &[1.0, 1.0]),
        GraphError::IndexOutOfRange {
            row: 1,
            index: 5,
            n: 2,
        },
        &["5", "2 nodes"],
    );
    check(
        fixed_err::<4, 8>(3, &[(0, 1, 1.0), (1, 3, 1.0)]),
        GraphError::IndexOutOfRange {
            row: 1,
            index: 3,
            n: 3,
        },
        &["3"],
    );
}

#[test]
fn csr_asymmetric_missing_mirror_and_mismatched_weight() {
    // 0 -> 1 stored, 1 -> 0 missing (row 1 is empty).
    check(
        csr_err(&[0, 1, 1], &[1], &[1.0]),
        GraphError::Asymmetric { row: 0, col: 1 },
        &["(0, 1)", "symmetric"],
    );
    // Both directions stored, weights 1 and 2.
    check(
        csr_err(&[0, 1, 2], &[1, 0], &[1.0, 2.0]),
        GraphError::Asymmetric { row: 0, col: 1 },
        &["mirror"],
    );
}

#[test]
fn self_loops_are_refused() {
    check(
        csr_err(&[0, 1, 1], &[0], &[1.0]),
        GraphError::SelfLoop { node: 0 },
        &["self-loop"],
    );
    check(
        fixed_err::<4, 8>(3, &[(0, 1, 1.0), (2, 2, 1.0)]),
        GraphError::SelfLoop { node: 2 },
        &["2"],
    );
}

#[test]
fn nan_and_negative_weights_are_refused() {
    let e = csr_err(&[0, 1, 2], &[1, 0], &[f32::NAN, f32::NAN]);
    check(e, GraphError::BadWeight { row: 0, col: 1 }, &["NaN"]);
    let e = csr_err(&[0, 1, 2], &[1, 0], &[-1.0, -1.0]);
    check(e, GraphError::BadWeight { row: 0, col: 1 }, &["negative"]);
    let e = csr_err(&[0, 1, 2], &[1, 0], &[f32::INFINITY, f32::INFINITY]);
    check(e, GraphError::BadWeight { row: 0, col: 1 }, &["infinite"]);
    check(
        fixed_err::<4, 8>(3, &[(0, 1, 1.0), (1, 2, f32::NAN)]),
        GraphError::BadWeight { row: 1, col: 2 },
        &["(1, 2)"],
    );
    check(
        fixed_err::<4, 8>(3, &[(0, 1, -0.5)]),
        GraphError::BadWeight { row: 0, col: 1 },
        &["(0, 1)"],
    );
}

#[test]
fn unsorted_and_duplicated_rows_are_refused() {
    // Triangle with row 0 listed as [2, 1].
    check(
        csr_err(&[0, 2, 4, 6], &[2, 1, 0, 2, 0, 1], &[1.0; 6]),
        GraphError::Unsorted { row: 0 },
        &["node 0", "increasing"],
    );
    // Row 0 repeats neighbour 1.
    check(
        csr_err(&[0, 2, 4], &[1, 1, 0, 0], &[1.0; 4]),
        GraphError::Unsorted { row: 0 },
        &["node 0"],
    );
}

#[test]
fn duplicate_edges_in_from_edges() {
    check(
        fixed_err::<4, 8>(3, &[(0, 1, 1.0), (1, 2, 1.0), (1, 0, 1.0)]),
        GraphError::DuplicateEdge { u: 0, v: 1 },
        &["(0, 1)", "twice"],
    );
    check(
        fixed_err::<4, 8>(3, &[(1, 2, 1.0), (1, 2, 3.0)]),
        GraphError::DuplicateEdge { u: 1, v: 2 },
        &["twice"],
    );
}

#[test]
fn capacity_exceeded_for_nodes_and_entries() {
    check(
        fixed_err::<4, 16>(5, &[(0, 1, 1.0)]),
        GraphError::CapacityExceeded {
            what: Capacity::Nodes,
            capacity: 4,
        },
        &["nodes", "4"],
    );
    let ring: Vec<Edge> = builders::ring(4).collect();
    check(
        fixed_err::<4, 6>(4, &ring),
        GraphError::CapacityExceeded {
            what: Capacity::Entries,
            capacity: 6,
        },
        &["entries", "6"],
    );
    // Exactly at capacity is fine.
    let g = FixedCsr::<4, 8>::from_edges(4, builders::ring(4)).unwrap();
    assert_eq!((g.n(), g.nnz()), (4, 8));
}

#[test]
fn malformed_csr_arrays() {
    check(
        csr_err(&[0, 1, 2], &[1, 0], &[1.0]),
        GraphError::LengthMismatch {
            neighbors: 2,
            weights: 1,
        },
        &["2", "1"],
    );
    check(csr_err(&[], &[], &[]), GraphError::BadIndptr, &["indptr"]);
    check(csr_err(&[1, 1], &[], &[]), GraphError::BadIndptr, &["0"]);
    check(
        csr_err(&[0, 1, 1], &[1, 0], &[1.0, 1.0]),
        GraphError::RowEndsMismatch {
            last_row_end: 1,
            entries: 2,
        },
        &["2 entries"],
    );
    check(
        Csr::try_new(&[2, 1, 2], &[1, 2], &[1.0, 1.0]).unwrap_err(),
        GraphError::RowEndsDecrease { row: 1 },
        &["row 1"],
    );
    // The empty graph is valid.
    let empty = Csr::from_indptr(&[0], &[], &[]).unwrap();
    assert_eq!((empty.n(), empty.nnz()), (0, 0));
}

#[test]
fn energy_state_and_gradient_lengths() {
    let g = path3();
    let mut heat = Heat::new(g, &[0], &[2], HeatParams::default()).unwrap();
    let mut grad = [0.0f32; 3];
    let want = EnergyError::StateLength {
        expected: 3,
        found: 2,
    };
    check(
        heat.value(&[0.0; 2]).unwrap_err(),
        want,
        &["2 entries", "3 nodes"],
    );
    check(
        heat.value_and_grad(&[0.0; 2], &mut grad).unwrap_err(),
        want,
        &[],
    );
    check(
        heat.value_and_grad(&[0.0; 3], &mut [0.0; 4]).unwrap_err(),
        EnergyError::StateLength {
            expected: 3,
            found: 4,
        },
        &["4"],
    );
    let mut scratch = [0.0f32; 9];
    let mut k = Kuramoto::new(g, &mut scratch).unwrap();
    check(
        k.value(&[0.0; 4]).unwrap_err(),
        EnergyError::StateLength {
            expected: 3,
            found: 4,
        },
        &[],
    );
    check(
        k.value_and_grad(&[0.0; 3], &mut [0.0; 2]).unwrap_err(),
        EnergyError::StateLength {
            expected: 3,
            found: 2,
        },
        &[],
    );
    let mut hk = HopfKuramoto::new(g, HopfKuramotoParams::ORDERED, &mut scratch).unwrap();
    check(
        hk.value(&[]).unwrap_err(),
        EnergyError::StateLength {
            expected: 3,
            found: 0,
        },
        &[],
    );
    check(
        hk.value_and_grad(&[0.0; 3], &mut [0.0; 1]).unwrap_err(),
        EnergyError::StateLength {
            expected: 3,
            found: 1,
        },
        &[],
    );
}

#[test]
fn scratch_too_short() {
    let g = path3();
    let mut short = [0.0f32; 5];
    check(
        Kuramoto::new(g, &mut short).unwrap_err(),
        EnergyError::ScratchTooShort {
            needed: 6,
            found: 5,
        },
        &["5", "6"],
    );
    let mut short = [0.0f32; 8];
    check(
        HopfKuramoto::new(g, HopfKuramotoParams::ORDERED, &mut short).unwrap_err(),
        EnergyError::ScratchTooShort {
            needed: 9,
            found: 8,
        },
        &["9"],
    );
}

#[test]
fn baths_out_of_range_overlapping_or_unsorted() {
    let g = path3();
    let p = HeatParams::default();
    check(
        Heat::new(g, &[0, 3], &[], p).unwrap_err(),
        EnergyError::BathOutOfRange { node: 3, n: 3 },
        &["3 nodes"],
    );
    check(
        Heat::new(g, &[], &[7], p).unwrap_err(),
        EnergyError::BathOutOfRange { node: 7, n: 3 },
        &["7"],
    );
    check(
        Heat::new(g, &[0, 1], &[1, 2], p).unwrap_err(),
        EnergyError::BathOverlap { node: 1 },
        &["node 1", "hot and cold"],
    );
    check(
        Heat::new(g, &[1, 0], &[], p).unwrap_err(),
        EnergyError::BathUnsorted,
        &["sorted"],
    );
    check(
        Heat::new(g, &[], &[2, 2], p).unwrap_err(),
        EnergyError::BathUnsorted,
        &["repeat"],
    );
}

#[test]
fn bad_energy_parameters() {
    let g = path3();
    let p = HeatParams {
        lambda: f32::NAN,
        ..HeatParams::default()
    };
    check(
        Heat::new(g, &[0], &[2], p).unwrap_err(),
        EnergyError::BadParameter { name: "lambda" },
        &["lambda"],
    );
    let p = HeatParams {
        t_cold: f32::NEG_INFINITY,
        ..HeatParams::default()
    };
    check(
        Heat::new(g, &[0], &[2], p).unwrap_err(),
        EnergyError::BadParameter { name: "t_cold" },
        &[],
    );
    // λ < 0 makes the bath term −|λ|(w² − T²)²: unbounded below, refused; λ = 0 is fine.
    let p = HeatParams {
        lambda: -1.0,
        ..HeatParams::default()
    };
    check(
        Heat::new(g, &[0], &[2], p).unwrap_err(),
        EnergyError::UnboundedBelow { name: "lambda" },
        &["lambda", "unbounded below", ">= 0"],
    );
    let p = HeatParams {
        lambda: 0.0,
        ..HeatParams::default()
    };
    assert!(Heat::new(g, &[0], &[2], p).is_ok());
    let mut scratch = [0.0f32; 9];
    let p = HopfKuramotoParams {
        s2: f32::INFINITY,
        ..HopfKuramotoParams::ORDERED
    };
    check(
        HopfKuramoto::new(g, p, &mut scratch).unwrap_err(),
        EnergyError::BadParameter { name: "s2" },
        &["s2"],
    );
}

#[test]
fn propagator_rejects_inconsistent_lengths() {
    let g = path3();
    for kind in [
        PropagationKind::Renormalized,
        PropagationKind::NormalizedSquared,
    ] {
        let mut storage = [0.0f32; 3];
        let p = Propagator::new(g, kind, &mut storage).unwrap();
        let x = [1.0f32; 6];
        let (mut y, mut tmp) = ([0.0f32; 6], [0.0f32; 6]);
        p.try_apply(&x, &mut y, 2, &mut tmp).unwrap();
        assert!(y.iter().all(|v| v.is_finite() && *v > 0.0), "{y:?}");
        let mut short = [0.0f32; 5];
        check(
            p.try_apply(&x, &mut short, 2, &mut tmp).unwrap_err(),
            LengthError {
                slice: "y",
                expected: 6,
                found: 5,
            },
            &["`y`", "5", "6"],
        );
        check(
            p.try_apply(&x[..4], &mut y, 2, &mut tmp).unwrap_err(),
            LengthError {
                slice: "x",
                expected: 6,
                found: 4,
            },
            &["`x`"],
        );
        let mut long_tmp = [0.0f32; 7];
        check(
            p.try_apply(&x, &mut y, 2, &mut long_tmp).unwrap_err(),
            LengthError {
                slice: "tmp",
                expected: 6,
                found: 7,
            },
            &["`tmp`"],
        );
    }
}

#[test]
fn optimizer_lengths_and_hyper_parameters() {
    // Adam's state is m then v: 2 n entries; a shorter slice is refused, naming n and what the
    // slice holds per buffer.
    let mut adam = Adam::default();
    assert_eq!(adam.state_len(3), 6);
    let mut state = [0.0f32; 5];
    adam.reset(&mut state);
    let mut p = [0.0f32; 3];
    check(
        adam.step(&mut state, &mut p, &[0.0; 3], 1.0).unwrap_err(),
        OptimError::LengthMismatch {
            params: 3,
            other: 2,
        },
        &["3", "2"],
    );
    let mut state = [0.0f32; 6];
    adam.reset(&mut state);
    let mut p = [0.0f32; 2];
    check(
        adam.step(&mut state, &mut p, &[0.0; 3], 1.0).unwrap_err(),
        OptimError::LengthMismatch {
            params: 2,
            other: 3,
        },
        &[],
    );
    let mut p = [0.0f32; 3];
    check(
        adam.step(&mut state, &mut p, &[0.0; 5], 1.0).unwrap_err(),
        OptimError::LengthMismatch {
            params: 3,
            other: 5,
        },
        &[],
    );
    assert_eq!(adam.steps(), 0, "a refused step does not count");
    // The step count is private, so variants are made by setting the public fields (struct
    // update syntax `..adam` is not available outside the crate).
    fn set<O: Copy>(mut o: O, f: impl FnOnce(&mut O)) -> O {
        f(&mut o);
        o
    }
    for (bad, name) in [
        (set(adam, |a| a.lr = f32::NAN), "lr"),
        (set(adam, |a| a.lr = -0.1), "lr"),
        (set(adam, |a| a.beta1 = 1.0), "beta1"),
        (set(adam, |a| a.beta2 = -0.5), "beta2"),
        (set(adam, |a| a.eps = 0.0), "eps"),
    ] {
        check(
            bad.validate().unwrap_err(),
            OptimError::BadHyperParameter { name },
            &[name],
        );
    }
    let sgd = Sgd::momentum(0.1, 1.5);
    check(
        sgd.validate().unwrap_err(),
        OptimError::BadHyperParameter { name: "momentum" },
        &[],
    );
    for (bad, name) in [
        (Sgd::plain(-1.0).validate(), "lr"),
        (Sgd::nesterov(0.1, 0.0).validate(), "nesterov"),
        (
            set(Sgd::nesterov(0.1, 0.9), |o| o.dampening = 0.5).validate(),
            "nesterov",
        ),
        (
            set(Sgd::momentum(0.1, 0.9), |o| o.dampening = 1.0).validate(),
            "dampening",
        ),
        (
            RmsProp {
                alpha: 1.0,
                ..RmsProp::with_lr(0.01)
            }
            .validate(),
            "alpha",
        ),
        (
            RmsProp {
                eps: 0.0,
                ..RmsProp::with_lr(0.01)
            }
            .validate(),
            "eps",
        ),
        (
            set(Adagrad::with_lr(0.1), |o| o.lr_decay = -1.0).validate(),
            "lr_decay",
        ),
        (
            set(Adagrad::with_lr(0.1), |o| o.initial_accumulator = f32::NAN).validate(),
            "initial_accumulator",
        ),
    ] {
        check(
            bad.unwrap_err(),
            OptimError::BadHyperParameter { name },
            &[name],
        );
    }
    // Momentum SGD keeps one buffer of n entries; plain SGD needs none.
    let mut sgd = Sgd::momentum(0.1, 0.9);
    assert_eq!((sgd.state_len(3), Sgd::plain(0.1).state_len(3)), (3, 0));
    check(
        sgd.step(&mut [0.0; 2], &mut [0.0; 3], &[0.0; 3], 1.0)
            .unwrap_err(),
        OptimError::LengthMismatch {
            params: 3,
            other: 2,
        },
        &[],
    );
    check(
        RmsProp::with_lr(0.01)
            .step(&mut [0.0; 3], &mut [0.0; 3], &[0.0; 2], 1.0)
            .unwrap_err(),
        OptimError::LengthMismatch {
            params: 3,
            other: 2,
        },
        &[],
    );
    check(
        Adagrad::with_lr(0.1)
            .step(&mut [0.0; 1], &mut [0.0; 3], &[0.0; 3], 1.0)
            .unwrap_err(),
        OptimError::LengthMismatch {
            params: 3,
            other: 1,
        },
        &[],
    );
}

fn heat_on_path3() -> Heat<'static> {
    Heat::new(path3(), &[0], &[2], HeatParams::default()).unwrap()
}

#[test]
fn solver_configuration_errors() {
    let mut heat = heat_on_path3();
    let mut w = [0.5f32; 3];
    let mut work = [0.0f32; direct_work_len(3, 2 * 3)];
    let stop = StopRule::default();
    let adam = Adam::default();
    let mut solve = |w: &mut [f32], work: &mut [f32], adam: &Adam, stop: &StopRule| {
        solve_direct(&mut heat, w, work, &mut { *adam }, stop, &mut NoObserver).unwrap_err()
    };
    check(
        solve(&mut w, &mut [0.0; 11], &adam, &stop),
        SolveError::WorkspaceTooShort {
            needed: 12,
            found: 11,
        },
        &["11", "12"],
    );
    check(
        solve(&mut [0.5; 4], &mut work, &adam, &stop),
        SolveError::Energy(EnergyError::StateLength {
            expected: 3,
            found: 4,
        }),
        &["energy", "4 entries"],
    );
    check(
        solve(&mut w, &mut work, &Adam::with_lr(f32::NAN), &stop),
        SolveError::Optim(OptimError::BadHyperParameter { name: "lr" }),
        &["optimizer", "lr"],
    );
    check(
        solve(
            &mut w,
            &mut work,
            &adam,
            &StopRule {
                rel_tol: -1.0,
                ..stop
            },
        ),
        SolveError::BadConfig { name: "rel_tol" },
        &["rel_tol"],
    );
    check(
        solve(
            &mut w,
            &mut work,
            &adam,
            &StopRule {
                target: Some(f32::NAN),
                ..stop
            },
        ),
        SolveError::BadConfig { name: "target" },
        &["target"],
    );
}

#[test]
fn divergence_is_an_error() {
    let mut heat = heat_on_path3();
    let mut work = [0.0f32; direct_work_len(3, 2 * 3)];
    // A NaN start diverges at once.
    let mut w = [0.5, f32::NAN, 0.5];
    let err = solve_direct(
        &mut heat,
        &mut w,
        &mut work,
        &mut Adam::default(),
        &StopRule::default(),
        &mut NoObserver,
    )
    .unwrap_err();
    check(
        err,
        SolveError::Diverged {
            step: 0,
            stage: Stage::Direct,
        },
        &["non-finite", "step 0"],
    );
    // Nothing was evaluated successfully: the state is left as it was.
    assert!(w[1].is_nan() && w[0] == 0.5 && w[2] == 0.5);
    // A huge learning rate throws w to ~1e30 in one step, where (w − T)⁴ overflows f32.
    let mut w = [0.9f32, 0.5, 0.1];
    let err = solve_direct(
        &mut heat,
        &mut w,
        &mut work,
        &mut Adam::with_lr(1e30),
        &StopRule::default(),
        &mut NoObserver,
    )
    .unwrap_err();
    check(
        err,
        SolveError::Diverged {
            step: 1,
            stage: Stage::Direct,
        },
        &["step 1", "best state"],
    );
    // The best state seen (the start) is returned, not the overflowed iterate.
    assert_eq!(w, [0.9, 0.5, 0.1]);
}
