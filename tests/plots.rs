//! Figures of `nrg_host::plot`: every figure is written as a PNG and an SVG that decode, have
//! matching sizes and leave no temporary files; errors leave nothing behind.
//!
//! Set `NRG_PLOT_SAMPLES=/some/dir` to keep a copy of every figure there for a look.

use std::f64::consts::TAU;
use std::fs;
use std::path::{Path, PathBuf};

use nrg_host::graph::{Graph, erdos_renyi, lattice2d, lattice3d, read_obj};
use nrg_host::plot::{
    Panel, Series, energy_curves, energy_curves_by_step, heat_state_on_graph, rho_curves,
    state_grid, state_on_graph,
};
use nrg_host::run::{CurvePoint, StageName};

// ---------------------------------------------------------------- helpers

/// A fresh scratch directory under the system temp dir.
fn tmp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("nrg-plots-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The bunny mesh from shared data; these tests need it and do not skip.
fn bunny() -> Graph {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/bunny/bunny.obj");
    assert!(
        path.is_file(),
        "bunny mesh not found at {} (expected ../shared/data/bunny/bunny.obj next to the \
         workspace); this test needs it and does not skip",
        path.display()
    );
    read_obj(&path).expect("read bunny.obj").graph
}

/// Width and height attributes of an SVG's root element.
fn svg_size(text: &str) -> (u32, u32) {
    let start = text.find("<svg").expect("an <svg element");
    let head = &text[start..start + text[start..].find('>').expect("end of <svg tag")];
    let attr = |name: &str| -> u32 {
        let key = format!(" {name}=\"");
        let i = head
            .find(&key)
            .unwrap_or_else(|| panic!("no {name} in {head}"))
            + key.len();
        let j = head[i..].find('"').expect("closing quote") + i;
        head[i..j].parse().expect("integer size")
    };
    (attr("width"), attr("height"))
}

/// Checks the pair of files `plot` returned, returns the PNG's size and the SVG's length.
fn check_pair(paths: &[PathBuf], stem: &Path) -> ((u32, u32), usize) {
    let png = PathBuf::from(format!("{}.png", stem.display()));
    let svg = PathBuf::from(format!("{}.svg", stem.display()));
    assert_eq!(paths, [png.clone(), svg.clone()]);
    let bytes = fs::read(&png).expect("read png");
    assert!(!bytes.is_empty());
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "PNG magic");
    let img =
        image::load_from_memory_with_format(&bytes, image::ImageFormat::Png).expect("PNG decodes");
    let dims = (img.width(), img.height());
    let text = fs::read_to_string(&svg).expect("read svg");
    assert!(text.contains("<svg"));
    assert_eq!(svg_size(&text), dims, "PNG and SVG have the same size");
    // The picture is not blank: some pixel is neither white nor grey.
    let rgb = img.to_rgb8();
    assert!(
        rgb.pixels().any(|p| {
            let [r, g, b] = p.0;
            r.abs_diff(g) > 40 || g.abs_diff(b) > 40 || r.abs_diff(b) > 40
        }),
        "no coloured pixel in {}",
        png.display()
    );
    if let Ok(dir) = std::env::var("NRG_PLOT_SAMPLES") {
        let dir = PathBuf::from(dir);
        fs::create_dir_all(&dir).expect("samples dir");
        for p in [&png, &svg] {
            fs::copy(p, dir.join(p.file_name().unwrap())).expect("copy sample");
        }
    }
    (dims, text.len())
}

/// Files in `dir`, sorted by name.
fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("list dir")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// A synthetic run: NR for `nr_steps` (slow), then direct; energy decays towards `e_min`
/// from `e_min + gap0`, with a little seed-dependent wiggle; ρ rises towards 1.
fn curve(
    steps: u32,
    nr_steps: u32,
    e_min: f64,
    gap0: f64,
    rate: f64,
    seed: u32,
) -> Vec<CurvePoint> {
    let mut t = 0.0;
    (0..steps)
        .map(|s| {
            let nr = s < nr_steps;
            t += if nr { 4e-4 } else { 1e-4 } * (1.0 + 0.05 * f64::from(seed));
            let x = f64::from(s);
            let wiggle = 1.0 + 0.15 * (0.05 * x + f64::from(seed)).sin() * (-x / 3000.0).exp();
            let gap = gap0 * (-rate * x).exp() * wiggle + 1e-9 * gap0;
            CurvePoint {
                step: s,
                stage: if nr { StageName::Nr } else { StageName::Direct },
                seconds: if s == 0 { 0.0 } else { t },
                energy: e_min + gap,
                rho: Some(1.0 - 0.95 * (-(x + 1.0) / (400.0 + 200.0 * f64::from(seed))).exp()),
            }
        })
        .collect()
}

// ---------------------------------------------------------------- curves

#[test]
fn energy_curves_with_reference_thin_and_mark_switches() {
    let dir = tmp_dir("energy-ref");
    let e_min = -1234.5;
    let gcn: Vec<Vec<CurvePoint>> = (0..3)
        .map(|s| curve(60_000, 100, e_min, 800.0, 4e-4, s))
        .collect();
    let mut direct = curve(60_000, 0, e_min, 800.0, 1.2e-4, 7);
    // A diverged stretch: non-finite energies break the line without failing the plot.
    for p in &mut direct[30_000..30_010] {
        p.energy = f64::NAN;
    }
    let rgcn = curve(20_000, 300, e_min, 800.0, 6e-4, 3);
    let mut series: Vec<Series<'_>> = gcn
        .iter()
        .map(|c| Series {
            label: "gcn".into(),
            curve: c,
        })
        .collect();
    series.push(Series {
        label: "direct".into(),
        curve: &direct,
    });
    series.push(Series {
        label: "rgcn".into(),
        curve: &rgcn,
    });

    let stem = dir.join("lattice2d:50x50.energy");
    let paths = energy_curves(
        &series,
        Some(e_min),
        "heat, lattice2d 50×50: energy gap",
        &stem,
    )
    .expect("energy plot");
    let ((w, h), svg_len) = check_pair(&paths, &stem);
    assert!(
        (1000..1500).contains(&w) && (500..800).contains(&h),
        "{w}x{h}"
    );
    // 5 series of up to 60k points, thinned to ~2000 each: the SVG stays small.
    assert!(svg_len < 3_000_000, "SVG has {svg_len} bytes");
    assert_eq!(
        listing(&dir),
        ["lattice2d:50x50.energy.png", "lattice2d:50x50.energy.svg"],
        "no temporary files left"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn energy_curves_against_steps() {
    let dir = tmp_dir("energy-steps");
    let e_min = 0.775;
    let gcn = curve(5000, 10, e_min, 300.0, 2e-3, 0);
    let mut direct = curve(5000, 0, e_min, 300.0, 8e-4, 1);
    // Wall time is irrelevant here: a non-finite time must not drop a point.
    direct[100].seconds = f64::NAN;
    let series = [
        Series {
            label: "gcn".into(),
            curve: &gcn,
        },
        Series {
            label: "direct".into(),
            curve: &direct,
        },
    ];
    let stem = dir.join("steps");
    let paths = energy_curves_by_step(&series, Some(e_min), "heat: gap against steps", &stem)
        .expect("step plot");
    check_pair(&paths, &stem);
    let svg = fs::read_to_string(dir.join("steps.svg")).unwrap();
    assert!(svg.contains("\nstep\n</text>"), "x axis is the step");
    assert!(!svg.contains("wall time"), "not the time axis");
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn energy_curves_without_reference() {
    let dir = tmp_dir("energy-noref");
    // Negative energies (phase problems): drawn as E − min E.
    let a = curve(3000, 100, -500.0, 50.0, 2e-3, 0);
    let b = curve(3000, 0, -500.0, 50.0, 1e-3, 1);
    let series = [
        Series {
            label: "gcn".into(),
            curve: &a,
        },
        Series {
            label: "direct".into(),
            curve: &b,
        },
    ];
    let stem = dir.join("negative");
    let paths = energy_curves(&series, None, "Kuramoto on a ring", &stem).expect("plot");
    check_pair(&paths, &stem);

    // Positive energies spread over many decades: drawn as E.
    let c = curve(3000, 0, 0.0, 1e3, 3e-3, 2);
    let series = [Series {
        label: "direct".into(),
        curve: &c,
    }];
    let stem = dir.join("positive");
    let paths = energy_curves(&series, None, "positive energies", &stem).expect("plot");
    check_pair(&paths, &stem);

    // A single point still plots.
    let one = [CurvePoint {
        step: 0,
        stage: StageName::Direct,
        seconds: 0.0,
        energy: 3.0,
        rho: None,
    }];
    let series = [Series {
        label: "one".into(),
        curve: &one,
    }];
    let stem = dir.join("single");
    let paths = energy_curves(&series, Some(1.0), "one point", &stem).expect("plot");
    check_pair(&paths, &stem);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn rho_curves_skip_missing_values() {
    let dir = tmp_dir("rho");
    let a = curve(5000, 100, -100.0, 10.0, 1e-3, 0);
    let b = curve(5000, 100, -100.0, 10.0, 1e-3, 1);
    let mut c = curve(8000, 0, -100.0, 10.0, 1e-3, 2);
    for p in c.iter_mut().step_by(3) {
        p.rho = None;
    }
    let series = [
        Series {
            label: "gcn".into(),
            curve: &a,
        },
        Series {
            label: "gcn".into(),
            curve: &b,
        },
        Series {
            label: "direct".into(),
            curve: &c,
        },
    ];
    let stem = dir.join("rho");
    let paths = rho_curves(
        &series,
        "order parameter, Kuramoto on a 30×30 lattice",
        &stem,
    )
    .expect("rho plot");
    check_pair(&paths, &stem);

    // No ρ anywhere: an error and no files.
    let mut none = a.clone();
    for p in &mut none {
        p.rho = None;
    }
    let err = rho_curves(
        &[Series {
            label: "x".into(),
            curve: &none,
        }],
        "t",
        &dir.join("none"),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("ρ"), "{err:#}");
    assert_eq!(listing(&dir), ["rho.png", "rho.svg"]);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn curve_errors_leave_nothing_behind() {
    let dir = tmp_dir("curve-errors");
    // No series at all.
    assert!(energy_curves(&[], None, "empty", &dir.join("empty")).is_err());
    // Only non-finite energies.
    let bad = [CurvePoint {
        step: 0,
        stage: StageName::Nr,
        seconds: 0.1,
        energy: f64::INFINITY,
        rho: None,
    }];
    let series = [Series {
        label: "bad".into(),
        curve: &bad,
    }];
    assert!(energy_curves(&series, None, "bad", &dir.join("bad")).is_err());
    assert!(energy_curves(&series, Some(f64::NAN), "bad", &dir.join("bad")).is_err());
    // A missing output directory: an error, and no temporary file anywhere.
    let a = curve(100, 10, 0.0, 1.0, 1e-2, 0);
    let series = [Series {
        label: "a".into(),
        curve: &a,
    }];
    let missing = dir.join("no-such-dir").join("energy");
    let err = energy_curves(&series, None, "t", &missing).unwrap_err();
    assert!(format!("{err:#}").contains("energy"), "{err:#}");
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- states on graphs

#[test]
fn heat_and_phase_states_on_a_lattice() {
    let dir = tmp_dir("lattice");
    let g = lattice2d(30, 40, false).expect("lattice");
    let coords = g.coords().expect("lattice has coordinates").to_vec();
    // Heat: hot left column, cold right column, linear in between.
    let heat: Vec<f32> = coords.iter().map(|c| (1.0 - c[0] / 39.0) as f32).collect();
    let stem = dir.join("heat");
    let paths = state_on_graph(&g, &heat, false, "heat, lattice2d 30×40", &stem).expect("heat");
    let ((w, h), _) = check_pair(&paths, &stem);
    assert!(w > h, "a 30×40 lattice is wider than tall: {w}x{h}");

    // Phases: a vortex, values outside [0, 2π) on purpose.
    let phase: Vec<f32> = coords
        .iter()
        .map(|c| ((c[1] - 15.0).atan2(c[0] - 20.0) + 3.0 * TAU) as f32)
        .collect();
    let stem = dir.join("phase");
    let paths = state_on_graph(&g, &phase, true, "phases, lattice2d 30×40", &stem).expect("phase");
    check_pair(&paths, &stem);

    // Constant and partly non-finite states still draw.
    let mut flat = vec![0.5f32; g.n()];
    flat[7] = f32::NAN;
    let stem = dir.join("flat");
    let paths = state_on_graph(&g, &flat, false, "constant", &stem).expect("flat");
    check_pair(&paths, &stem);
    assert_eq!(
        listing(&dir),
        [
            "flat.png",
            "flat.svg",
            "heat.png",
            "heat.svg",
            "phase.png",
            "phase.svg"
        ]
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn state_on_the_bunny_mesh() {
    let dir = tmp_dir("bunny");
    let g = bunny();
    let coords = g.coords().expect("the bunny has coordinates").to_vec();
    let (lo, hi) = coords
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), c| {
            (a.min(c[1]), b.max(c[1]))
        });
    // Heat flowing from the top (ears) to the bottom.
    let w: Vec<f32> = coords
        .iter()
        .map(|c| ((c[1] - lo) / (hi - lo)) as f32)
        .collect();
    let stem = dir.join("bunny.heat");
    let paths = state_on_graph(&g, &w, false, "heat on the Stanford bunny", &stem).expect("bunny");
    let ((w_px, h_px), _) = check_pair(&paths, &stem);
    assert!(w_px >= 560 && h_px >= 300);
    let phase: Vec<f32> = coords
        .iter()
        .map(|c| (20.0 * (c[0] + c[2])) as f32)
        .collect();
    let stem = dir.join("bunny.phase");
    let paths = state_on_graph(&g, &phase, true, "phases on the bunny", &stem).expect("bunny");
    check_pair(&paths, &stem);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn large_lattices_are_fast_and_3d_lattices_draw() {
    let dir = tmp_dir("large");
    let g = lattice2d(200, 300, false).expect("lattice");
    let coords = g.coords().unwrap().to_vec();
    let w: Vec<f32> = coords
        .iter()
        .map(|c| ((c[0] / 30.0).sin() * (c[1] / 20.0).cos()) as f32)
        .collect();
    let stem = dir.join("large");
    // How long it takes belongs in a bench; here: it draws.
    let paths = state_on_graph(&g, &w, false, "lattice2d 200×300", &stem).expect("large");
    check_pair(&paths, &stem);

    let g3 = lattice3d(8, 8, 8, false).expect("lattice3d");
    let w3: Vec<f32> = g3
        .coords()
        .unwrap()
        .iter()
        .map(|c| (c[0] + c[1] + c[2]) as f32)
        .collect();
    let stem = dir.join("cube");
    let paths = state_on_graph(&g3, &w3, false, "lattice3d 8×8×8", &stem).expect("cube");
    check_pair(&paths, &stem);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn state_errors_leave_nothing_behind() {
    let dir = tmp_dir("state-errors");
    let g = erdos_renyi(50, 0.1, 1).expect("er graph");
    assert!(
        g.coords().is_none(),
        "this test needs a graph without coordinates"
    );
    let err = state_on_graph(&g, &[0.0; 50], false, "er", &dir.join("er")).unwrap_err();
    assert!(format!("{err:#}").contains("coordinates"), "{err:#}");

    let lat = lattice2d(4, 4, false).unwrap();
    let err = state_on_graph(&lat, &[0.0; 15], false, "short", &dir.join("short")).unwrap_err();
    assert!(format!("{err:#}").contains("16"), "{err:#}");
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
    let _ = fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- mosaics of states

/// A deterministic pseudo-random number in [0, 1) (splitmix64 of `i`).
fn hash01(i: u64) -> f64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// Twelve synthetic phase patterns on the nodes at `coords` (a 25×25 lattice): vortices,
/// twisted states, random, uniform and mixtures, with titles like a (s1, s2) sweep.
fn phase_patterns(coords: &[[f64; 3]]) -> Vec<(String, Vec<f32>)> {
    let (cx, cy) = (12.0, 12.0);
    let pattern = |k: usize, c: &[f64; 3], i: usize| -> f64 {
        let (x, y) = (c[0], c[1]);
        let vortex = |x0: f64, y0: f64, q: f64| q * (y - y0).atan2(x - x0);
        match k {
            0 => vortex(cx, cy, 1.0),
            1 => vortex(cx, cy, -1.0),
            2 => vortex(6.5, 12.0, 1.0) + vortex(17.5, 12.0, -1.0),
            3 => vortex(cx, cy, 2.0),
            4 => TAU * x / 25.0,
            5 => 2.0 * TAU * (x + y) / 25.0,
            6 => TAU * y / 25.0 + 0.8 * (TAU * x / 25.0).sin(),
            7 => TAU * hash01(i as u64),
            8 => 1.0,
            9 => 4.0 + 0.3 * (hash01(i as u64 + 7_000) - 0.5),
            10 => vortex(cx, cy, 1.0) + 0.15 * ((x - cx).hypot(y - cy)),
            _ => {
                // Random far from a synchronised centre.
                let r = (x - cx).hypot(y - cy) / 12.0;
                let t = (r * r).min(1.0);
                2.0 + t * TAU * (hash01(i as u64 + 99) - 0.5)
            }
        }
    };
    (0..12)
        .map(|k| {
            let (s1, s2) = (-1.0 + 0.5 * (k % 4) as f64, (k / 4) as f64 / 10.0);
            let w = coords
                .iter()
                .enumerate()
                .map(|(i, c)| pattern(k, c, i) as f32)
                .collect();
            (format!("s1={s1} s2={s2}"), w)
        })
        .collect()
}

#[test]
fn state_grid_of_phase_patterns_on_a_lattice() {
    let dir = tmp_dir("grid");
    let g = lattice2d(25, 25, false).expect("lattice");
    let coords = g.coords().expect("coordinates").to_vec();
    let states = phase_patterns(&coords);
    let panels: Vec<Panel<'_>> = states
        .iter()
        .map(|(t, w)| Panel {
            title: t.clone(),
            w,
        })
        .collect();
    let stem = dir.join("phase-diagram");
    let paths = state_grid(
        &g,
        &panels,
        4,
        true,
        "Hopf–Kuramoto phase diagram, lattice2d 25×25",
        &stem,
    )
    .expect("phase mosaic");
    let (dims, svg_len) = check_pair(&paths, &stem);
    // The lattice spans 216 px; with its 9 px tiles, the frame and the gaps a panel is 240 px
    // wide and 262 px tall (with its title). Plus the left margin, a 150 px colour bar, and the
    // title, bottom margin and note bands.
    assert_eq!(
        dims,
        (12 + 4 * 240 + 150, 44 + 3 * 262 + 12 + 28),
        "{dims:?}"
    );
    assert!(svg_len < 3_000_000, "SVG has {svg_len} bytes");

    // Heat states share one viridis range; one column; more columns than panels.
    let heat: Vec<Vec<f32>> = (0..3)
        .map(|k| {
            coords
                .iter()
                .map(|c| ((c[0] + c[1]) * (k + 1) as f64) as f32)
                .collect()
        })
        .collect();
    let heat_panels: Vec<Panel<'_>> = heat
        .iter()
        .enumerate()
        .map(|(k, w)| Panel {
            title: format!("scale {}", k + 1),
            w,
        })
        .collect();
    let stem = dir.join("heat-column");
    let paths = state_grid(&g, &heat_panels, 1, false, "heat", &stem).expect("column");
    let ((w, h), _) = check_pair(&paths, &stem);
    assert!(h > w, "one column of three panels is tall: {w}x{h}");
    let stem = dir.join("heat-row");
    let paths = state_grid(&g, &heat_panels, 10, false, "heat", &stem).expect("row");
    let ((w, h), _) = check_pair(&paths, &stem);
    assert_eq!(
        w,
        12 + 3 * 240 + 150,
        "columns are capped by the panel count"
    );
    assert!(w > h, "{w}x{h}");
    assert_eq!(
        listing(&dir),
        [
            "heat-column.png",
            "heat-column.svg",
            "heat-row.png",
            "heat-row.svg",
            "phase-diagram.png",
            "phase-diagram.svg"
        ]
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn state_grid_of_small_dense_and_3d_graphs() {
    let dir = tmp_dir("grid-other");
    // A small lattice: neighbours far apart, so edges and dots.
    let small = lattice2d(6, 8, false).unwrap();
    let states: Vec<Vec<f32>> = (0..5)
        .map(|k| {
            small
                .coords()
                .unwrap()
                .iter()
                .map(|c| (c[0] * 0.4 * k as f64 + c[1]) as f32)
                .collect()
        })
        .collect();
    let panels: Vec<Panel<'_>> = states
        .iter()
        .enumerate()
        .map(|(k, w)| Panel {
            title: format!("k={k}"),
            w,
        })
        .collect();
    let stem = dir.join("small");
    let paths = state_grid(&small, &panels, 3, true, "small lattice", &stem).expect("small");
    check_pair(&paths, &stem);

    // A large lattice: drawn on coarse cells, so the SVG stays small.
    let large = lattice2d(200, 300, false).unwrap();
    let states: Vec<Vec<f32>> = (0..6)
        .map(|k| {
            large
                .coords()
                .unwrap()
                .iter()
                .map(|c| ((c[0] / (10.0 + 5.0 * k as f64)).sin() * (c[1] / 20.0).cos()) as f32)
                .collect()
        })
        .collect();
    let panels: Vec<Panel<'_>> = states
        .iter()
        .enumerate()
        .map(|(k, w)| Panel {
            title: format!("k={k}"),
            w,
        })
        .collect();
    let stem = dir.join("large");
    let paths = state_grid(&large, &panels, 3, false, "large lattice", &stem).expect("large");
    let (_, svg_len) = check_pair(&paths, &stem);
    assert!(svg_len < 15_000_000, "SVG has {svg_len} bytes");

    // A cube: oblique projection, nearest nodes on top.
    let cube = lattice3d(8, 8, 8, false).unwrap();
    let states: Vec<Vec<f32>> = (0..4)
        .map(|k| {
            cube.coords()
                .unwrap()
                .iter()
                .map(|c| (c[0] + k as f64 * c[2]) as f32)
                .collect()
        })
        .collect();
    let panels: Vec<Panel<'_>> = states
        .iter()
        .enumerate()
        .map(|(k, w)| Panel {
            title: format!("k={k}"),
            w,
        })
        .collect();
    let stem = dir.join("cube");
    let paths = state_grid(&cube, &panels, 2, true, "lattice3d 8×8×8", &stem).expect("cube");
    check_pair(&paths, &stem);

    // A mesh: tiles on irregular node positions.
    let mesh = bunny();
    let scale = mesh
        .coords()
        .unwrap()
        .iter()
        .fold(0.0f64, |m, c| m.max(c[0].abs()).max(c[1].abs()));
    let states: Vec<Vec<f32>> = (0..4)
        .map(|k| {
            mesh.coords()
                .unwrap()
                .iter()
                .map(|c| (TAU * (k + 1) as f64 * (c[0] + c[1]) / scale) as f32)
                .collect()
        })
        .collect();
    let panels: Vec<Panel<'_>> = states
        .iter()
        .enumerate()
        .map(|(k, w)| Panel {
            title: format!("k={k}"),
            w,
        })
        .collect();
    let stem = dir.join("bunny-grid");
    let paths = state_grid(&mesh, &panels, 4, true, "bunny", &stem).expect("bunny");
    check_pair(&paths, &stem);
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn state_grid_errors_leave_nothing_behind() {
    let dir = tmp_dir("grid-errors");
    let lat = lattice2d(4, 4, false).unwrap();
    let good = [0.0f32; 16];
    let short = [0.0f32; 15];
    fn panel<'a>(title: &str, w: &'a [f32]) -> Panel<'a> {
        Panel {
            title: title.to_string(),
            w,
        }
    }
    let (good, short) = (&good[..], &short[..]);

    let err = state_grid(&lat, &[], 3, true, "none", &dir.join("none")).unwrap_err();
    assert!(format!("{err:#}").contains("no panels"), "{err:#}");
    let err = state_grid(
        &lat,
        &[panel("a", good)],
        0,
        true,
        "zero",
        &dir.join("zero"),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("zero columns"), "{err:#}");
    let panels = [panel("a", good), panel("s1=-1 s2=0.1", short)];
    let err = state_grid(&lat, &panels, 2, true, "short", &dir.join("short")).unwrap_err();
    let msg = format!("{err:#}");
    assert!(
        msg.contains("s1=-1 s2=0.1") && msg.contains("15") && msg.contains("16"),
        "{msg}"
    );
    let er = erdos_renyi(16, 0.2, 1).unwrap();
    let err = state_grid(&er, &[panel("a", good)], 1, false, "er", &dir.join("er")).unwrap_err();
    assert!(format!("{err:#}").contains("coordinates"), "{err:#}");
    assert!(listing(&dir).is_empty(), "{:?}", listing(&dir));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn heat_states_ring_their_baths() {
    let dir = tmp_dir("baths");
    let g = lattice2d(12, 12, false).expect("lattice");
    let w: Vec<f32> = g.coords().unwrap().iter().map(|c| c[0] as f32).collect();
    let (hot, cold): (Vec<u32>, Vec<u32>) = ((132..144).collect(), (0..12).collect());
    let stem = dir.join("heat");
    let paths = heat_state_on_graph(&g, &w, &hot, &cold, "heat with baths", &stem).expect("draws");
    check_pair(&paths, &stem);
    // The rings are there in both colours, and the note names the baths.
    let img = image::open(&paths[0]).expect("png").to_rgb8();
    for ring in [[214u8, 39, 40], [31, 119, 180]] {
        assert!(img.pixels().any(|p| p.0 == ring), "no {ring:?} ring pixel");
    }
    let svg = fs::read_to_string(&paths[1]).unwrap();
    assert!(svg.contains("hot bath (12 nodes)") && svg.contains("cold bath (12 nodes)"));
    // A bath node outside the graph is an error, and leaves nothing behind.
    let bad = dir.join("bad");
    assert!(heat_state_on_graph(&g, &w, &[144], &cold, "bad", &bad).is_err());
    assert!(!listing(&dir).iter().any(|f| f.starts_with("bad")));
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn gaps_of_zero_are_left_out_not_clamped() {
    let dir = tmp_dir("zero-gap");
    // Reaches the reference exactly after 3 steps: those points have no place on a log axis.
    let pts: Vec<CurvePoint> = [3.0, 2.0, 1.5, 1.0, 1.0, 1.0]
        .iter()
        .enumerate()
        .map(|(i, &e)| CurvePoint {
            step: i as u32,
            stage: StageName::Direct,
            seconds: 1e-3 * (i + 1) as f64,
            energy: e,
            rho: None,
        })
        .collect();
    let series = [Series {
        label: "direct".into(),
        curve: &pts,
    }];
    let stem = dir.join("gap");
    let paths = energy_curves(&series, Some(1.0), "zero gap", &stem).expect("draws");
    check_pair(&paths, &stem);
    let svg = fs::read_to_string(&paths[1]).unwrap();
    assert!(
        svg.contains("3 points at E_min not drawn"),
        "the label says so"
    );
    // The axis spans the drawn gaps (2, 1, 0.5), not a 1e-12 floor.
    assert!(
        !svg.contains("1e-12") && !svg.contains("1e-11"),
        "no floor decade on the axis"
    );
    // Every point at the reference: the energies themselves are drawn instead.
    let flat = vec![pts[3]; 4];
    let series = [Series {
        label: "direct".into(),
        curve: &flat,
    }];
    assert!(energy_curves(&series, Some(1.0), "all at E_min", &dir.join("flat")).is_ok());
    let _ = fs::remove_dir_all(&dir);
}
