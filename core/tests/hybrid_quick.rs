use nrg_core::builders::lattice2d;
use nrg_core::energy::*;
use nrg_core::graph::FixedCsr;
use nrg_core::hybrid::*;
use nrg_core::init;
use nrg_core::metrics::order_parameter;
use nrg_core::model::*;
use nrg_core::optim::Adam;
use nrg_core::solve::*;

#[test]
fn kuramoto_25() {
    let g = FixedCsr::<625, 2500>::from_edges(625, lattice2d(25, 25, false)).unwrap();
    let csr = g.view().unwrap();
    for seed in 0..5u64 {
        let mut es = vec![0.0; 2 * 625];
        let mut e = Kuramoto::new(csr, &mut es).unwrap();
        let mut st = vec![0.0; 625];
        let model = Gcn::new(&ModelConfig::gcn(10), csr, &mut st).unwrap();
        let mut p = vec![0.0; model.layout().param_len()];
        let mut rng = init::rng(seed);
        model.init_params(&mut rng, &mut p, LatentInit::Phase).unwrap();
        let mut w = vec![0.0; 625];
        let mut work = vec![0.0; hybrid_work_len(&model)];
        let cfg = HybridConfig { nr_adam: Adam::with_lr(0.01), switch: SwitchRule::AfterSteps(100), direct_adam: Adam::with_lr(0.01), stop: StopRule::steps(300), stage2: Stage2Start::default() };
        let mut first = None;
        let mut obs = |i: &StepInfo| { if first.is_none() && i.stage == Stage::Direct { first = Some(i.energy) }; Control::Continue };
        let r = solve_hybrid(&mut e, &model, &mut p, &mut w, &mut work, &cfg, &mut obs).unwrap();
        // direct
        let mut wd = vec![0.0; 625];
        init::phase_state(&mut init::rng(seed), &mut wd);
        let mut work2 = vec![0.0; 4 * 625];
        let rd = solve_direct(&mut e, &mut wd, &mut work2, &Adam::with_lr(0.01), &StopRule::steps(400), &mut NoObserver).unwrap();
        println!("seed {seed}: hybrid {:?} rho {} | direct best {} rho {}", r, order_parameter(&w), rd.best_energy, order_parameter(&wd));
    }
}
