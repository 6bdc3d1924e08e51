use nrg_core::energy::*;
use nrg_core::graph::Csr;
use nrg_core::model::*;
use serde_json::Value;

fn f32s(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(f32s).collect(),
        Value::Number(x) => vec![x.as_f64().unwrap() as f32],
        _ => panic!(),
    }
}

#[test]
fn quick() {
    let g: Value = serde_json::from_str(&std::fs::read_to_string("../../shared/golden/golden_small.json").unwrap()).unwrap();
    for case in g["gcn"].as_array().unwrap() {
        let gname = case["graph"].as_str().unwrap();
        let gr = &g["graphs"][gname];
        let n = gr["n"].as_u64().unwrap() as usize;
        let mut adj = vec![vec![]; n];
        for e in gr["edges"].as_array().unwrap() {
            let (u, v) = (e[0].as_u64().unwrap() as u32, e[1].as_u64().unwrap() as u32);
            adj[u as usize].push(v); adj[v as usize].push(u);
        }
        let mut ends = vec![]; let mut nb = vec![];
        for r in adj.iter_mut() { r.sort(); nb.extend_from_slice(r); ends.push(nb.len() as u32); }
        let wts = vec![1.0f32; nb.len()];
        let csr = Csr::try_new(&ends, &nb, &wts).unwrap();
        let h = case["h"].as_u64().unwrap() as usize;
        let cfg = match case["kind"].as_str().unwrap() {
            "GCN" => ModelConfig::gcn(h), "RGCN" => ModelConfig::rgcn(h), "NoGraph" => ModelConfig::no_graph(h), "GCN2" => ModelConfig::gcn2(h), k => panic!("{k}") };
        let mut st = vec![0.0; n];
        let model = Gcn::new(&cfg, csr, &mut st).unwrap();
        let l = *model.layout();
        let mut p = vec![0.0f32; l.param_len()];
        p[l.latent()].copy_from_slice(&f32s(&case["z"]));
        p[l.theta(0)].copy_from_slice(&f32s(&case["Theta"]));
        p[l.bias(0)].copy_from_slice(&f32s(&case["b"]));
        p[l.readout_weights()].copy_from_slice(&f32s(&case["Wo"]));
        p[l.readout_bias()].copy_from_slice(&f32s(&case["bo"]));
        let mut scratch = vec![0.0; l.scratch_len()];
        let mut w = vec![0.0; n];
        model.forward(&p, &mut scratch, &mut w).unwrap();
        let gold = &case["float32"];
        let gw = f32s(&gold["w"]);
        let werr = w.iter().zip(&gw).map(|(a,b)| (a-b).abs()).fold(0.0f32, f32::max);
        let hot: Vec<u32> = gr["hot"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        let cold: Vec<u32> = gr["cold"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect();
        let mut es = vec![0.0; 3 * n];
        let mut gw_ = vec![0.0; n];
        let e = match case["loss_energy"].as_str().unwrap() {
            "heat_default" => Heat::new(csr, &hot, &cold, HeatParams::default()).unwrap().value_and_grad(&w, &mut gw_).unwrap(),
            "kuramoto" => Kuramoto::new(csr, &mut es).unwrap().value_and_grad(&w, &mut gw_).unwrap(),
            "hk_nontrivial" => HopfKuramoto::new(csr, HopfKuramotoParams{c:1.0,s1:-0.7,s2:0.45}, &mut es).unwrap().value_and_grad(&w, &mut gw_).unwrap(),
            k => panic!("{k}") };
        let mut grad = vec![0.0; l.param_len()];
        model.backward(&p, &mut scratch, &gw_, &mut grad).unwrap();
        let mut worst = 0.0f32;
        for (name, range) in [("grad_z", l.latent()), ("grad_Theta", l.theta(0)), ("grad_b", l.bias(0)), ("grad_Wo", l.readout_weights()), ("grad_bo", l.readout_bias())] {
            let gg = f32s(&gold[name]);
            for (a, b) in grad[range].iter().zip(&gg) { worst = worst.max((a-b).abs() / b.abs().max(1e-3)); }
        }
        println!("{} {} {}: werr {werr:e} loss {e} vs {} worst grad rel {worst:e}", gname, case["kind"], case["loss_energy"], gold["loss"]);
    }
}
