//! nrg-core against the golden vectors of `shared/golden/golden_small.json` (PyTorch autograd,
//! float32 on float32-rounded inputs): every energy value and gradient, the verbatim eq. 14 triple
//! sum, and five steps of direct Adam.

mod common;

use common::*;
use nrg_core::energy::{
    Energy, HOPF_KURAMOTO_SCRATCH_PER_NODE, Heat, HeatParams, HopfKuramoto, HopfKuramotoParams,
    KURAMOTO_SCRATCH_PER_NODE, Kuramoto,
};
use nrg_core::graph::{Csr, FixedCsr};
use nrg_core::optim::{Adam, Optimizer};
use serde_json::Value;

/// Relative tolerance of an energy value against the float32 golden value.
const E_REL: f64 = 1e-5;
/// Relative tolerance of a gradient component, and the floor as a fraction of max |grad|.
const G_REL: f64 = 1e-4;
const G_FLOOR: f64 = 1e-3;

/// The golden graphs as owned storage: lattice4x4 in fixed-capacity `FixedCsr`, ring6 in `Vec`s.
struct Graphs {
    lattice: FixedCsr<16, 48>,
    ring: VecGraph,
}

impl Graphs {
    fn new() -> Self {
        let l = golden_graph("lattice4x4");
        let r = golden_graph("ring6");
        let lattice = FixedCsr::<16, 48>::from_edges(l.n, l.edges.iter().copied())
            .unwrap_or_else(|e| panic!("lattice4x4 from the golden edges: {e}"));
        Graphs {
            lattice,
            ring: VecGraph::from_edges(r.n, &r.edges),
        }
    }

    fn csr(&self, name: &str) -> Csr<'_> {
        match name {
            "lattice4x4" => self.lattice.view().expect("valid"),
            "ring6" => self.ring.csr(),
            other => panic!("unknown golden graph {other}"),
        }
    }
}

/// Our f32 value and gradient for one golden energy entry.
fn evaluate(entry: &Value, csr: Csr<'_>, hot: &[u32], cold: &[u32]) -> (f32, Vec<f32>) {
    let kind = field(entry, "energy").as_str().expect("energy name");
    let params = field(entry, "params");
    let w = f32s(field(entry, "w"));
    let n = csr.n();
    assert_eq!(w.len(), n, "state length of a {kind} entry");
    let mut grad = vec![f32::NAN; n];
    let e = match kind {
        "heat_default" | "heat_nontrivial" => {
            let p = HeatParams {
                lambda: num(field(params, "lam")) as f32,
                t_hot: num(field(params, "T_hot")) as f32,
                t_cold: num(field(params, "T_cold")) as f32,
            };
            if kind == "heat_default" {
                assert_eq!(
                    p,
                    HeatParams::default(),
                    "heat_default uses the default params"
                );
            }
            let mut heat = Heat::new(csr, hot, cold, p).expect("heat energy");
            let v = heat.value(&w).expect("value");
            let e = heat.value_and_grad(&w, &mut grad).expect("value_and_grad");
            assert_eq!(
                v.to_bits(),
                e.to_bits(),
                "value() and value_and_grad() agree"
            );
            e
        }
        "kuramoto" => {
            let mut scratch = vec![0.0; KURAMOTO_SCRATCH_PER_NODE * n];
            let mut k = Kuramoto::new(csr, &mut scratch).expect("kuramoto");
            let v = k.value(&w).expect("value");
            let e = k.value_and_grad(&w, &mut grad).expect("value_and_grad");
            assert_eq!(
                v.to_bits(),
                e.to_bits(),
                "value() and value_and_grad() agree"
            );
            e
        }
        k if k.starts_with("hk_") => {
            let p = HopfKuramotoParams {
                c: num(field(params, "c")) as f32,
                s1: num(field(params, "s1")) as f32,
                s2: num(field(params, "s2")) as f32,
            };
            let mut scratch = vec![0.0; HOPF_KURAMOTO_SCRATCH_PER_NODE * n];
            let mut hk = HopfKuramoto::new(csr, p, &mut scratch).expect("hopf-kuramoto");
            let v = hk.value(&w).expect("value");
            let e = hk.value_and_grad(&w, &mut grad).expect("value_and_grad");
            assert_eq!(
                v.to_bits(),
                e.to_bits(),
                "value() and value_and_grad() agree"
            );
            e
        }
        other => panic!("unknown golden energy {other}"),
    };
    (e, grad)
}

#[test]
fn golden_graphs_build_identically_both_ways() {
    for name in ["lattice4x4", "ring6"] {
        let g = golden_graph(name);
        let fixed = FixedCsr::<16, 48>::from_edges(g.n, g.edges.iter().copied()).expect("fixed");
        let vec = VecGraph::from_edges(g.n, &g.edges);
        let (a, b) = (fixed.view().expect("view"), vec.csr());
        assert_eq!(a.row_ends(), b.row_ends(), "{name}: row ends");
        assert_eq!(a.neighbors(), b.neighbors(), "{name}: neighbours");
        assert_eq!(a.weights(), b.weights(), "{name}: weights");
        assert_eq!(a.edge_count(), g.edges.len(), "{name}: edge count");
        let golden_degrees = u32s(field(field(field(golden(), "graphs"), name), "degrees"));
        let degrees: Vec<u32> = (0..a.n()).map(|i| a.neighbor_count(i) as u32).collect();
        assert_eq!(degrees, golden_degrees, "{name}: degrees");
    }
}

#[test]
fn golden_energies_and_gradients_match_float32() {
    let graphs = Graphs::new();
    let entries = field(golden(), "energies").as_array().expect("energies");
    assert_eq!(entries.len(), 10, "golden file has 10 energy entries");
    let mut checked = 0;
    for entry in entries {
        let gname = field(entry, "graph").as_str().expect("graph name");
        let kind = field(entry, "energy").as_str().expect("energy name");
        let label = format!("{gname}/{kind}");
        let g = golden_graph(gname);
        let (e, grad) = evaluate(entry, graphs.csr(gname), &g.hot, &g.cold);
        let f32e = field(entry, "float32");
        assert_rel(
            &format!("{label} E"),
            e as f64,
            num(field(f32e, "E")),
            E_REL,
        );
        let want = f64s(field(f32e, "grad"));
        assert_close_rel_floor(&format!("{label} grad"), &grad, &want, G_REL, G_FLOOR);
        checked += 1;
    }
    assert_eq!(checked, 10);
}

#[test]
fn golden_hk_literal_eq14_equals_fast_value() {
    let graphs = Graphs::new();
    let mut checked = 0;
    for entry in field(golden(), "energies").as_array().expect("energies") {
        let Some(literal) = entry.get("E_literal_eq14") else {
            continue;
        };
        let literal = num(literal);
        let gname = field(entry, "graph").as_str().expect("graph name");
        let kind = field(entry, "energy").as_str().expect("energy name");
        let g = golden_graph(gname);
        // Our fast f32 value on f32-rounded phases against the verbatim f64 triple sum.
        let (e, _) = evaluate(entry, graphs.csr(gname), &g.hot, &g.cold);
        assert_rel(
            &format!("{gname}/{kind} fast vs E_literal_eq14"),
            e as f64,
            literal,
            E_REL,
        );
        // Our own literal triple sum (tests/common) reproduces the golden one in f64.
        let p = field(entry, "params");
        let (c, s1, s2) = (num(field(p, "c")), num(field(p, "s1")), num(field(p, "s2")));
        let dense = Dense::from_edges(g.n, &g.edges);
        let ours = hk_literal_f64(&dense, c, s1, s2, &f64s(field(entry, "w")));
        assert_rel(&format!("{gname}/{kind} f64 literal"), ours, literal, 1e-12);
        checked += 1;
    }
    assert_eq!(
        checked, 4,
        "four Hopf–Kuramoto entries carry E_literal_eq14"
    );
}

#[test]
fn golden_adam_linear_five_steps() {
    let entry = field(golden(), "adam")
        .as_array()
        .expect("adam entries")
        .iter()
        .find(|a| field(a, "model").as_str() == Some("Linear"))
        .expect("a Linear adam entry");
    let gname = field(entry, "graph").as_str().expect("graph");
    assert_eq!(field(entry, "energy").as_str(), Some("heat_default"));
    let g = golden_graph(gname);
    let graphs = Graphs::new();
    let mut heat =
        Heat::new(graphs.csr(gname), &g.hot, &g.cold, HeatParams::default()).expect("heat");
    let mut adam = Adam::with_lr(num(field(entry, "lr")) as f32);
    assert_eq!((adam.beta1, adam.beta2, adam.eps), (0.9, 0.999, 1e-8));
    let mut w = f32s(field(entry, "w0"));
    let n = w.len();
    let mut grad = vec![0.0; n];
    let mut state = vec![f32::NAN; adam.state_len(n)];
    adam.reset(&mut state);
    let steps = field(entry, "steps").as_array().expect("steps");
    assert_eq!(steps.len(), 5);
    for (k, step) in steps.iter().enumerate() {
        let loss = heat.value_and_grad(&w, &mut grad).expect("value_and_grad");
        assert_rel(
            &format!("adam step {k} loss"),
            loss as f64,
            num(field(step, "loss_before_step")),
            E_REL,
        );
        adam.step(&mut state, &mut w, &grad, 1.0)
            .expect("adam step");
        assert_eq!(adam.steps(), k as u32 + 1);
        let want = f64s(field(step, "w_after_step"));
        assert_close_rel_floor(&format!("adam step {k} w"), &w, &want, 1e-4, 1e-2);
    }
}
