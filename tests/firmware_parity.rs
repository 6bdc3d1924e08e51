#[path = "../firmware/src/problem.rs"]
mod problem;

use nrg_core::solve::NoObserver;
use problem::*;

#[test]
fn explore() {
    for p in &PROBLEMS {
        let g: Graph = p.topology.build().unwrap();
        let mut work = vec![0.0f32; WORK_LEN];
        for m in Method::ALL {
            let o = run(p, m, g.view().unwrap(), &mut work, &mut NoObserver).unwrap();
            println!("{} {} {:?} rho={}", p.name, m.name(), o.report, o.rho);
        }
    }
}
