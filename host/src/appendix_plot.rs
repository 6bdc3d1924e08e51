//! Figures of the appendix experiments (`nrg ph`, `nrg classify`): point clouds side by side
//! and loss curves. Each figure is written as `<stem>.png` and `<stem>.svg` with the DejaVu Sans
//! font embedded by the `dejavu` crate (no system fonts), like [`crate::plot`].

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

const FONT: &str = "sans-serif";

fn err<E: std::fmt::Debug>(e: E) -> anyhow::Error {
    anyhow!("plotting failed: {e:?}")
}

/// Renders `draw` to `<stem>.png` and `<stem>.svg` at `size`.
fn render(
    stem: &Path,
    size: (u32, u32),
    draw_png: impl Fn(&DrawingArea<BitMapBackend<'_>, Shift>) -> Result<()>,
    draw_svg: impl Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> Result<()>,
) -> Result<Vec<PathBuf>> {
    crate::plot::ensure_font()?;
    if let Some(dir) = stem.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory {}", dir.display()))?;
    }
    let png = stem.with_extension("png");
    let svg = stem.with_extension("svg");
    {
        let root = BitMapBackend::new(&png, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_png(&root)?;
        root.present()
            .map_err(err)
            .with_context(|| format!("cannot write {}", png.display()))?;
    }
    {
        let root = SVGBackend::new(&svg, size).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_svg(&root)?;
        root.present()
            .map_err(err)
            .with_context(|| format!("cannot write {}", svg.display()))?;
    }
    Ok(vec![png, svg])
}

const COLORS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
];

/// Point clouds side by side, each panel titled, all on `[−lim, lim]²`.
pub fn clouds(
    panels: &[(String, Vec<[f64; 2]>)],
    lim: f64,
    title: &str,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    let size = (420 * panels.len().max(1) as u32, 460);
    fn body<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        panels: &[(String, Vec<[f64; 2]>)],
        lim: f64,
        title: &str,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let root = root.titled(title, (FONT, 20)).map_err(err)?;
        let areas = root.split_evenly((1, panels.len().max(1)));
        for ((name, pts), area) in panels.iter().zip(areas) {
            let mut chart = ChartBuilder::on(&area)
                .caption(name, (FONT, 16))
                .margin(8)
                .x_label_area_size(28)
                .y_label_area_size(36)
                .build_cartesian_2d(-lim..lim, -lim..lim)
                .map_err(err)?;
            chart
                .configure_mesh()
                .label_style((FONT, 11))
                .draw()
                .map_err(err)?;
            chart
                .draw_series(
                    pts.iter()
                        .map(|p| Circle::new((p[0], p[1]), 3, COLORS[0].filled())),
                )
                .map_err(err)?;
        }
        Ok(())
    }
    render(
        stem,
        size,
        |root| body(root, panels, lim, title),
        |root| body(root, panels, lim, title),
    )
}

/// Curves `(x, y)` with a legend; `logx` draws x on a log axis (x must then be > 0).
pub fn curves(
    series: &[(String, Vec<(f64, f64)>)],
    labels: (&str, &str),
    title: &str,
    logx: bool,
    stem: &Path,
) -> Result<Vec<PathBuf>> {
    fn body<DB: DrawingBackend>(
        root: &DrawingArea<DB, Shift>,
        series: &[(String, Vec<(f64, f64)>)],
        labels: (&str, &str),
        title: &str,
        logx: bool,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let pts = || {
            series
                .iter()
                .flat_map(|s| s.1.iter().copied())
                .filter(|p| p.0.is_finite() && p.1.is_finite() && (!logx || p.0 > 0.0))
        };
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for (x, y) in pts() {
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (1.0, 2.0, 0.0, 1.0);
        }
        if x1 <= x0 {
            x1 = x0 + 1.0;
        }
        let pad = ((y1 - y0) * 0.05).max(1e-9);
        let mut chart = ChartBuilder::on(root);
        chart
            .caption(title, (FONT, 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(64);
        if logx {
            let mut c = chart
                .build_cartesian_2d((x0..x1).log_scale(), (y0 - pad)..(y1 + pad))
                .map_err(err)?;
            c.configure_mesh()
                .x_desc(labels.0)
                .y_desc(labels.1)
                .x_label_formatter(&|x| format!("{x:.0e}"))
                .label_style((FONT, 12))
                .draw()
                .map_err(err)?;
            for (k, (name, s)) in series.iter().enumerate() {
                let col = COLORS[k % COLORS.len()];
                c.draw_series(LineSeries::new(
                    s.iter().copied().filter(|p| p.0 > 0.0 && p.1.is_finite()),
                    col.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col));
            }
            c.configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font((FONT, 13))
                .draw()
                .map_err(err)?;
        } else {
            let mut c = chart
                .build_cartesian_2d(x0..x1, (y0 - pad)..(y1 + pad))
                .map_err(err)?;
            c.configure_mesh()
                .x_desc(labels.0)
                .y_desc(labels.1)
                .label_style((FONT, 12))
                .draw()
                .map_err(err)?;
            for (k, (name, s)) in series.iter().enumerate() {
                let col = COLORS[k % COLORS.len()];
                c.draw_series(LineSeries::new(
                    s.iter().copied().filter(|p| p.1.is_finite()),
                    col.stroke_width(2),
                ))
                .map_err(err)?
                .label(name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], col));
            }
            c.configure_series_labels()
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font((FONT, 13))
                .draw()
                .map_err(err)?;
        }
        Ok(())
    }
    render(
        stem,
        (900, 560),
        |root| body(root, series, labels, title, logx),
        |root| body(root, series, labels, title, logx),
    )
}
