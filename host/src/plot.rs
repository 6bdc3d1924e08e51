//! Figures: energy against wall time, ρ against step, the final state drawn on the graph, and
//! a mosaic of states on one graph (a phase diagram).
//!
//! Every figure is written twice, `<stem>.png` and `<stem>.svg`. Both are rendered to hidden
//! temporary files in the destination directory and renamed into place only once both have
//! been written, so an error leaves no partial figure behind. Text uses the DejaVu Sans font
//! embedded by the `dejavu` crate (registered once with plotters' `ab_glyph` backend), so no
//! system font or fontconfig is needed.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::graph::Graph;
use crate::run::{CurvePoint, StageName};

/// One curve of a figure: a label (method name) and its recorded points. Several series may
/// share a label (seeds of one method); they then share a colour and one legend entry.
#[derive(Debug, Clone)]
pub struct Series<'a> {
    /// Legend label; series with equal labels share a colour.
    pub label: String,
    /// The recorded curve.
    pub curve: &'a [CurvePoint],
}

/// At most this many points of one series are drawn (first and last always kept).
const MAX_POINTS: usize = 2000;
/// Edges are drawn only for graphs with fewer edges than this.
const MAX_DRAWN_EDGES: usize = 20_000;
/// Lowest value shown on a log axis of gaps.
const GAP_FLOOR: f64 = 1e-12;
/// The only font family used (and registered).
const FONT: &str = "sans-serif";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// Energy against wall time on log–log axes, one colour per label, with a dot where each NR
/// series hands over to direct Adam (the seed paper's Figures 2 and 4b).
///
/// With `reference` the y axis is the relative gap `(E − ref)/|ref|` (the absolute gap when
/// `ref` is 0), clamped below at 1e-12. Without it the energy itself is drawn when every energy
/// is positive and they spread over at least two decades; otherwise `E − min E` (the minimum
/// over all series) with a small floor. Non-finite energies break the line. Series are thinned
/// to about 2000 points. Returns the written paths (`<stem>.png`, `<stem>.svg`).
pub fn energy_curves(
    series: &[Series<'_>],
    reference: Option<f64>,
    title: &str,
    out_stem: &Path,
) -> Result<Vec<PathBuf>> {
    let fig = EnergyFigure::new(series, reference, title, false)?;
    render(&fig, out_stem)
}

/// [`energy_curves`] against the step instead of wall time (step `k` drawn at `k + 1`, the log
/// axis's left end): the seed's Fig. 4b reads both.
pub fn energy_curves_by_step(
    series: &[Series<'_>],
    reference: Option<f64>,
    title: &str,
    out_stem: &Path,
) -> Result<Vec<PathBuf>> {
    let fig = EnergyFigure::new(series, reference, title, true)?;
    render(&fig, out_stem)
}

/// The order parameter ρ against step (log x axis, linear y in [0, 1.02]), one colour per
/// label, points without ρ skipped, with a dot at each NR → direct switch. Step 0 is drawn at
/// step 1 (the left end of the log axis).
pub fn rho_curves(series: &[Series<'_>], title: &str, out_stem: &Path) -> Result<Vec<PathBuf>> {
    let fig = RhoFigure::new(series, title)?;
    render(&fig, out_stem)
}

/// The state `w` drawn on the graph's node coordinates: nodes as coloured dots (viridis for
/// heat values; HSV hue of `w mod 2π` for phases), edges as thin grey lines when the graph has
/// fewer than 20 000 of them, and a colour bar. 3D coordinates are projected onto the two axes
/// of largest extent (x–y for a mesh with y up such as the bunny); a cube-like point set gets
/// an oblique projection so its depth shows. Nearer nodes are drawn over farther ones.
///
/// Fails when the graph has no coordinates or `w.len() != graph.n()`.
pub fn state_on_graph(
    graph: &Graph,
    w: &[f32],
    phase: bool,
    title: &str,
    out_stem: &Path,
) -> Result<Vec<PathBuf>> {
    let fig = StateFigure::new(graph, w, phase, title)?;
    render(&fig, out_stem)
}

/// One panel of [`state_grid`]: its title (e.g. `s1=-1 s2=0.1`) and its state, one value per
/// node of the graph.
#[derive(Debug, Clone)]
pub struct Panel<'a> {
    /// Title drawn above the panel.
    pub title: String,
    /// The state drawn in the panel.
    pub w: &'a [f32],
}

/// A mosaic of states on one graph, like the seed paper's Hopf–Kuramoto phase diagrams
/// (Figures 7 and 11: the final phase pattern at each `(s1, s2)` grid point).
///
/// The panels fill a grid of `columns` columns row by row (fewer columns when there are fewer
/// panels), each titled by [`Panel::title`] and drawn with the projection and colours of
/// [`state_on_graph`]: all on the graph's coordinates, with one shared colour bar (cyclic hue
/// of `w mod 2π` for phases; viridis from the smallest to the largest finite value of all
/// panels otherwise). Panels are about 236 px wide (smaller with more than ten columns). Nodes
/// are drawn as tiles, about one neighbour distance wide, so a lattice looks like an image;
/// only when neighbours are far apart and the graph is small are edges drawn, with dots for
/// the nodes. Dense graphs are drawn on a coarser grid of cells so that a mosaic holds about
/// 150 000 shapes at most. Returns the written paths (`<stem>.png`, `<stem>.svg`).
///
/// Fails when there are no panels, `columns` is 0, the graph has no coordinates or a panel's
/// state does not have one value per node.
pub fn state_grid(
    graph: &Graph,
    panels: &[Panel<'_>],
    columns: usize,
    phase: bool,
    title: &str,
    out_stem: &Path,
) -> Result<Vec<PathBuf>> {
    let fig = GridFigure::new(graph, panels, columns, phase, title)?;
    render(&fig, out_stem)
}

// ---------------------------------------------------------------------------------------------
// Rendering to files
// ---------------------------------------------------------------------------------------------

/// A figure that can draw itself on any plotters backend.
trait Figure {
    /// Picture size in pixels.
    fn size(&self) -> (u32, u32);
    /// Draws the whole picture on `root` (already white).
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static;
}

/// Registers DejaVu Sans as plotters' `sans-serif` once; later calls return the first outcome.
pub(crate) fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "could not register the embedded DejaVu Sans font with plotters"
        ))
    }
}

/// `stem` + `.ext`, keeping any dots already in the stem.
fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// A hidden, unique sibling of `path` ending in `.ext` (the bitmap encoder picks the format
/// from the extension).
fn temp_sibling(path: &Path, ext: &str) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| anyhow!("output path {} has no file name", path.display()))?;
    let k = COUNTER.fetch_add(1, Ordering::Relaxed);
    let mut tmp = OsString::from(".");
    tmp.push(name);
    tmp.push(format!(".tmp{}-{k}.{ext}", std::process::id()));
    Ok(path.with_file_name(tmp))
}

/// Draws `fig` into `<stem>.png` and `<stem>.svg` via temporary files and renames.
fn render(fig: &impl Figure, out_stem: &Path) -> Result<Vec<PathBuf>> {
    ensure_font()?;
    let png = with_ext(out_stem, "png");
    let svg = with_ext(out_stem, "svg");
    let tmp_png = temp_sibling(&png, "png")?;
    let tmp_svg = temp_sibling(&svg, "svg")?;
    let size = fig.size();
    let result = (|| -> Result<()> {
        {
            let root = BitMapBackend::new(&tmp_png, size).into_drawing_area();
            root.fill(&WHITE)?;
            fig.draw(&root)?;
            root.present()
                .with_context(|| format!("writing {}", png.display()))?;
        }
        {
            let root = SVGBackend::new(&tmp_svg, size).into_drawing_area();
            root.fill(&WHITE)?;
            fig.draw(&root)?;
            root.present()
                .with_context(|| format!("writing {}", svg.display()))?;
        }
        fs::rename(&tmp_png, &png).with_context(|| format!("writing {}", png.display()))?;
        if let Err(e) = fs::rename(&tmp_svg, &svg) {
            // Keep the pair consistent: no PNG without its SVG.
            let _ = fs::remove_file(&png);
            return Err(e).with_context(|| format!("writing {}", svg.display()));
        }
        Ok(())
    })();
    match result {
        Ok(()) => Ok(vec![png, svg]),
        Err(e) => {
            let _ = fs::remove_file(&tmp_png);
            let _ = fs::remove_file(&tmp_svg);
            Err(e.context(format!("plotting {}", out_stem.display())))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shared helpers: colours, number formats, axis ranges, thinning, legend
// ---------------------------------------------------------------------------------------------

/// Matplotlib's "tab10" palette.
const TAB10: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];

/// Colour of the `k`-th label: tab10, then golden-ratio hues.
fn label_color(k: usize) -> RGBColor {
    if let Some(&c) = TAB10.get(k) {
        c
    } else {
        let h = ((k - TAB10.len()) as f64 * 0.618_033_988_75 + 0.05).fract();
        hsv(h, 0.75, 0.8)
    }
}

/// HSV (all in [0, 1]) to RGB.
fn hsv(h: f64, s: f64, v: f64) -> RGBColor {
    let h6 = h.rem_euclid(1.0) * 6.0;
    let c = v * s;
    let x = c * (1.0 - ((h6 % 2.0) - 1.0).abs());
    let (r, g, b) = match h6 as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    let to8 = |t: f64| ((t + m) * 255.0).round().clamp(0.0, 255.0) as u8;
    RGBColor(to8(r), to8(g), to8(b))
}

/// Viridis anchors (matplotlib), evenly spaced.
const VIRIDIS: [(f64, f64, f64); 9] = [
    (68.0, 1.0, 84.0),
    (71.0, 44.0, 122.0),
    (59.0, 81.0, 139.0),
    (44.0, 113.0, 142.0),
    (33.0, 144.0, 141.0),
    (39.0, 173.0, 129.0),
    (92.0, 200.0, 99.0),
    (170.0, 220.0, 50.0),
    (253.0, 231.0, 37.0),
];

/// Viridis at `t` in [0, 1] (clamped; NaN gives the low end).
fn viridis(t: f64) -> RGBColor {
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let x = t * (VIRIDIS.len() - 1) as f64;
    let i = (x.floor() as usize).min(VIRIDIS.len() - 2);
    let f = x - i as f64;
    let (a, b) = (VIRIDIS[i], VIRIDIS[i + 1]);
    let mix = |p: f64, q: f64| (p + (q - p) * f).round().clamp(0.0, 255.0) as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// Cyclic colour of a phase (any real; taken mod 2π).
fn phase_color(w: f64) -> RGBColor {
    hsv(
        w.rem_euclid(std::f64::consts::TAU) / std::f64::consts::TAU,
        0.85,
        0.92,
    )
}

/// A tick label on a log axis: plain decimals between 0.01 and 1000, else `1e-4` style.
fn fmt_log_tick(v: f64) -> String {
    if !v.is_finite() || v <= 0.0 {
        return String::new();
    }
    if (0.01..1000.0).contains(&v) {
        trim_decimal(&format!("{v:.2}"))
    } else {
        // `{:.0e}` rounds 9.999999e-5 to 1e-4.
        format!("{v:.0e}")
    }
}

/// A tick label on a log axis of steps: integers below 10 000, else `1e4` style.
fn fmt_step_tick(v: f64) -> String {
    if v.is_finite() && (1.0..10_000.0).contains(&v.round()) {
        format!("{}", v.round())
    } else {
        fmt_log_tick(v)
    }
}

/// Round tick values strictly inside `(lo, hi)`: steps of 1, 2 or 5 × 10^k, about `want` of
/// them, each with its label (decimals from the step, so 0 prints as `0`).
fn nice_ticks(lo: f64, hi: f64, want: usize) -> Vec<(f64, String)> {
    let span = hi - lo;
    if !(span > 0.0 && span.is_finite()) || want == 0 {
        return Vec::new();
    }
    let raw = span / want as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|&s| s >= raw)
        .unwrap_or(10.0 * mag);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let first = (lo / step).ceil() as i64;
    let last = (hi / step).floor() as i64;
    if last - first > 100 {
        return Vec::new();
    }
    (first..=last)
        .map(|k| (k, k as f64 * step))
        .filter(|&(_, v)| v > lo && v < hi)
        .map(|(k, v)| {
            let text = if k == 0 {
                "0".to_string()
            } else if v.abs() < 1e-4 || v.abs() >= 1e5 {
                format!("{v:.1e}")
            } else {
                format!("{v:.decimals$}")
            };
            (v, text)
        })
        .collect()
}

/// A tick label on a linear axis.
fn fmt_lin_tick(v: f64) -> String {
    trim_decimal(&format!("{v:.2}"))
}

/// Drops trailing zeros (and a trailing point) of a decimal string.
fn trim_decimal(s: &str) -> String {
    if s.contains('.') {
        let t = s.trim_end_matches('0').trim_end_matches('.');
        if t == "-0" {
            "0".to_string()
        } else {
            t.to_string()
        }
    } else {
        s.to_string()
    }
}

/// A value label (colour bar): 4 significant digits, scientific for extreme magnitudes.
fn fmt_value(v: f64) -> String {
    if !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if (1e-3..1e5).contains(&a) {
        let decimals = (3 - a.log10().floor() as i32).clamp(0, 6) as usize;
        trim_decimal(&format!("{v:.decimals$}"))
    } else {
        format!("{v:.3e}")
    }
}

/// A log-axis range around the positive values `[lo, hi]`: whole decades when the data span
/// less than two of them (so that ticks exist), else the data padded by 4% of the span.
fn log_range(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = if lo.is_finite() && hi.is_finite() && lo > 0.0 && hi >= lo {
        (lo, hi)
    } else {
        (1e-3, 1.0)
    };
    let (a, b) = (lo.log10(), hi.log10());
    if b - a < 2.0 {
        let a = a.floor();
        let mut b = b.ceil();
        if b <= a {
            b = a + 1.0;
        }
        // Nudged outwards so that plotters' tick search (which rounds log10 of the ends)
        // keeps both end decades.
        (10f64.powf(a) * (1.0 - 1e-9), 10f64.powf(b) * (1.0 + 1e-9))
    } else {
        let pad = 0.04 * (b - a);
        (10f64.powf(a - pad), 10f64.powf(b + pad))
    }
}

/// Indices of at most about [`MAX_POINTS`] points of a series of `n`: evenly spaced in index,
/// plus evenly spaced in log(index) (the start of a log-x curve), plus `extra`; first and last
/// always included, sorted, unique.
fn thin_indices(n: usize, extra: &[usize]) -> Vec<usize> {
    if n <= MAX_POINTS {
        return (0..n).collect();
    }
    let half = MAX_POINTS / 2;
    let mut idx = Vec::with_capacity(MAX_POINTS + extra.len() + 2);
    let last = n - 1;
    for i in 0..half {
        idx.push(((i as f64) * last as f64 / (half - 1) as f64).round() as usize);
        let l = ((i as f64) * (n as f64).ln() / (half - 1) as f64)
            .exp()
            .round() as usize;
        idx.push(l.saturating_sub(1).min(last));
    }
    idx.push(0);
    idx.push(last);
    idx.extend(extra.iter().copied().filter(|&i| i < n));
    idx.sort_unstable();
    idx.dedup();
    idx
}

/// Index of the first direct point that follows an NR point (the switch), if any.
fn switch_index(curve: &[CurvePoint]) -> Option<usize> {
    let first_nr = curve.iter().position(|p| p.stage == StageName::Nr)?;
    curve
        .iter()
        .skip(first_nr)
        .position(|p| p.stage == StageName::Direct)
        .map(|k| k + first_nr)
}

/// Assigns label colours in order of first appearance; returns per-series colour index and the
/// distinct labels with their run counts.
fn group_labels(series: &[Series<'_>]) -> (Vec<usize>, Vec<(String, usize)>) {
    let mut labels: Vec<(String, usize)> = Vec::new();
    let mut of_series = Vec::with_capacity(series.len());
    for s in series {
        let k = match labels.iter().position(|(l, _)| *l == s.label) {
            Some(k) => k,
            None => {
                labels.push((s.label.clone(), 0));
                labels.len() - 1
            }
        };
        labels[k].1 += 1;
        of_series.push(k);
    }
    (of_series, labels)
}

/// A legend entry.
struct LegendEntry {
    text: String,
    color: RGBColor,
    /// Line sample (true) or dot sample (false).
    line: bool,
}

/// Legend entries for the labels, plus the switch marker when shown.
fn legend_entries(labels: &[(String, usize)], with_switch: bool) -> Vec<LegendEntry> {
    let mut v: Vec<LegendEntry> = labels
        .iter()
        .enumerate()
        .map(|(k, (l, count))| LegendEntry {
            text: if *count > 1 {
                format!("{l} ({count} runs)")
            } else {
                l.clone()
            },
            color: label_color(k),
            line: true,
        })
        .collect();
    if with_switch {
        v.push(LegendEntry {
            text: "NR → direct switch".to_string(),
            color: RGBColor(90, 90, 90),
            line: false,
        });
    }
    v
}

/// Width in pixels of the legend panel for these entries.
fn legend_width(entries: &[LegendEntry]) -> u32 {
    // DejaVu Sans at 15 px averages about 8.5 px per character.
    let chars = entries
        .iter()
        .map(|e| e.text.chars().count())
        .max()
        .unwrap_or(0);
    (60 + (chars as f64 * 8.5) as u32).clamp(120, 380)
}

/// Draws the legend in its own panel (so it never covers data), starting `top` px down.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[LegendEntry],
    top: i32,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (w, h) = area.dim_in_pixel();
    let row = 24;
    let x0 = 8;
    let max_rows = ((h as i32 - top - 10) / row).max(1) as usize;
    let shown = if entries.len() > max_rows {
        max_rows - 1
    } else {
        entries.len()
    };
    let text_style = TextStyle::from((FONT, 15).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    let max_chars = ((w as f64 - 50.0) / 8.5).max(4.0) as usize;
    for (i, e) in entries.iter().take(shown).enumerate() {
        let y = top + row * i as i32 + row / 2;
        if e.line {
            area.draw(&PathElement::new(
                vec![(x0, y), (x0 + 30, y)],
                e.color.stroke_width(3),
            ))?;
        } else {
            area.draw(&Circle::new((x0 + 15, y), 5, e.color.filled()))?;
            area.draw(&Circle::new((x0 + 15, y), 5, BLACK.stroke_width(1)))?;
        }
        area.draw_text(&ellipsize(&e.text, max_chars), &text_style, (x0 + 40, y))?;
    }
    if shown < entries.len() {
        let y = top + row * shown as i32 + row / 2;
        let more = format!("… {} more", entries.len() - shown);
        area.draw_text(&more, &text_style, (x0 + 40, y))?;
    }
    Ok(())
}

/// Cuts `s` to `max` characters with an ellipsis.
fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Splits the figure into title, chart and legend panels.
fn layout<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    legend_w: u32,
) -> Result<(DrawingArea<DB, Shift>, DrawingArea<DB, Shift>)>
where
    DB::ErrorType: 'static,
{
    let body = root.titled(title, (FONT, 22).into_font())?;
    let (w, _) = body.dim_in_pixel();
    let (chart, legend) = body.split_horizontally(w.saturating_sub(legend_w));
    Ok((chart, legend))
}

/// A prepared series: line segments (split at non-finite values) and the switch point.
struct Drawn {
    color: RGBColor,
    segments: Vec<Vec<(f64, f64)>>,
    switch: Option<(f64, f64)>,
}

/// Splits the thinned points of `curve` into finite segments of `(x, y)` given by `f`
/// (`None` for a point to drop without breaking the line, `Some(NaN)` to break it).
fn prepare_series(
    curve: &[CurvePoint],
    color: RGBColor,
    f: impl Fn(&CurvePoint) -> Option<(f64, f64)>,
) -> Drawn {
    let sw = switch_index(curve);
    let extra: Vec<usize> = sw
        .into_iter()
        .flat_map(|i| [i.saturating_sub(1), i])
        .collect();
    let mut segments = Vec::new();
    let mut current: Vec<(f64, f64)> = Vec::new();
    for i in thin_indices(curve.len(), &extra) {
        match f(&curve[i]) {
            None => {}
            Some((x, y)) if x.is_finite() && y.is_finite() => current.push((x, y)),
            Some(_) if !current.is_empty() => segments.push(std::mem::take(&mut current)),
            Some(_) => {}
        }
    }
    if !current.is_empty() {
        segments.push(current);
    }
    // The switch marker sits on the first direct point that can be drawn.
    let switch = sw.and_then(|i| {
        curve[i..]
            .iter()
            .take(64)
            .filter_map(&f)
            .find(|(x, y)| x.is_finite() && y.is_finite())
    });
    Drawn {
        color,
        segments,
        switch,
    }
}

/// Extent of all drawn points: `((xmin, xmax), (ymin, ymax))`.
fn extent(drawn: &[Drawn]) -> Option<((f64, f64), (f64, f64))> {
    let mut it = drawn.iter().flat_map(|d| d.segments.iter().flatten());
    let &(x, y) = it.next()?;
    let mut e = ((x, x), (y, y));
    for &(x, y) in it {
        e.0 = (e.0.0.min(x), e.0.1.max(x));
        e.1 = (e.1.0.min(y), e.1.1.max(y));
    }
    Some(e)
}

/// Draws the series and their switch dots on a chart.
fn draw_series<DB: DrawingBackend, X, Y>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<X, Y>>,
    drawn: &[Drawn],
) -> Result<()>
where
    DB::ErrorType: 'static,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    for d in drawn {
        for seg in &d.segments {
            if seg.len() == 1 {
                chart.draw_series(std::iter::once(Circle::new(seg[0], 3, d.color.filled())))?;
            } else {
                chart.draw_series(std::iter::once(PathElement::new(
                    seg.clone(),
                    d.color.stroke_width(2),
                )))?;
            }
        }
    }
    // Switch dots on top of every line.
    for d in drawn {
        if let Some(p) = d.switch {
            chart.draw_series([
                Circle::new(p, 5, d.color.filled()),
                Circle::new(p, 5, BLACK.stroke_width(1)),
            ])?;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Energy against wall time
// ---------------------------------------------------------------------------------------------

struct EnergyFigure {
    title: String,
    x_desc: &'static str,
    y_desc: String,
    drawn: Vec<Drawn>,
    legend: Vec<LegendEntry>,
    x_range: (f64, f64),
    y_range: (f64, f64),
}

impl EnergyFigure {
    fn new(
        series: &[Series<'_>],
        reference: Option<f64>,
        title: &str,
        by_step: bool,
    ) -> Result<Self> {
        if let Some(r) = reference
            && !r.is_finite()
        {
            bail!("reference energy {r} is not finite");
        }
        let finite = || {
            series
                .iter()
                .flat_map(|s| s.curve.iter())
                .filter(|p| p.energy.is_finite() && p.seconds.is_finite())
        };
        if finite().next().is_none() {
            bail!("energy plot `{title}`: no series has a finite point");
        }
        // Left end of the time axis: the first positive time (step 0 is often at ~0 s).
        let t_max = finite().map(|p| p.seconds).fold(0.0f64, f64::max);
        let t_min_pos = finite()
            .map(|p| p.seconds)
            .filter(|&t| t > 0.0)
            .fold(f64::INFINITY, f64::min);
        let t_lo = if t_min_pos.is_finite() {
            t_min_pos.max(t_max * 1e-9)
        } else {
            1e-6
        };

        // y transform.
        let e_min = finite().map(|p| p.energy).fold(f64::INFINITY, f64::min);
        let e_max = finite().map(|p| p.energy).fold(f64::NEG_INFINITY, f64::max);
        let (y_desc, transform): (String, Box<dyn Fn(f64) -> f64>) = match reference {
            Some(r) if r != 0.0 => (
                "relative gap to E_min, (E − E_min)/|E_min|".to_string(),
                Box::new(move |e: f64| ((e - r) / r.abs()).max(GAP_FLOOR)),
            ),
            Some(r) => (
                "gap to E_min = 0, E − E_min".to_string(),
                Box::new(move |e: f64| (e - r).max(GAP_FLOOR)),
            ),
            None if e_min > 0.0 && e_max / e_min >= 100.0 => {
                ("energy E".to_string(), Box::new(|e: f64| e))
            }
            None => {
                let min_pos_diff = finite()
                    .map(|p| p.energy - e_min)
                    .filter(|&d| d > 0.0)
                    .fold(f64::INFINITY, f64::min);
                let scale_floor = GAP_FLOOR * e_min.abs().max(1.0);
                let floor = if min_pos_diff.is_finite() {
                    (0.5 * min_pos_diff).max(scale_floor)
                } else {
                    scale_floor
                };
                (
                    format!("E − min E  (min over all runs = {})", fmt_value(e_min)),
                    Box::new(move |e: f64| (e - e_min).max(floor)),
                )
            }
        };

        let (color_of, labels) = group_labels(series);
        let drawn: Vec<Drawn> = series
            .iter()
            .zip(&color_of)
            .map(|(s, &k)| {
                prepare_series(s.curve, label_color(k), |p| {
                    if by_step && p.energy.is_finite() {
                        Some((f64::from(p.step) + 1.0, transform(p.energy)))
                    } else if p.energy.is_finite() && p.seconds.is_finite() {
                        Some((p.seconds.max(t_lo), transform(p.energy)))
                    } else {
                        Some((f64::NAN, f64::NAN))
                    }
                })
            })
            .collect();
        let ((x0, x1), (y0, y1)) =
            extent(&drawn).ok_or_else(|| anyhow!("energy plot `{title}`: nothing to draw"))?;
        let with_switch = drawn.iter().any(|d| d.switch.is_some());
        Ok(EnergyFigure {
            title: title.to_string(),
            x_desc: if by_step { "step" } else { "wall time (s)" },
            y_desc,
            legend: legend_entries(&labels, with_switch),
            drawn,
            x_range: log_range(x0, x1),
            y_range: log_range(y0, y1),
        })
    }
}

impl Figure for EnergyFigure {
    fn size(&self) -> (u32, u32) {
        (1000 + legend_width(&self.legend), 640)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (area, legend) = layout(root, &self.title, legend_width(&self.legend))?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(78)
            .build_cartesian_2d(
                (self.x_range.0..self.x_range.1).log_scale(),
                (self.y_range.0..self.y_range.1).log_scale(),
            )?;
        let fmt = |v: &f64| fmt_log_tick(*v);
        chart
            .configure_mesh()
            .x_desc(self.x_desc)
            .y_desc(self.y_desc.as_str())
            .x_label_formatter(&fmt)
            .y_label_formatter(&fmt)
            .x_labels(12)
            .y_labels(12)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .bold_line_style(RGBColor(215, 215, 215).stroke_width(1))
            .light_line_style(RGBColor(240, 240, 240).stroke_width(1))
            .draw()?;
        draw_series(&mut chart, &self.drawn)?;
        draw_legend(&legend, &self.legend, 12)
    }
}

// ---------------------------------------------------------------------------------------------
// ρ against step
// ---------------------------------------------------------------------------------------------

struct RhoFigure {
    title: String,
    drawn: Vec<Drawn>,
    legend: Vec<LegendEntry>,
    x_range: (f64, f64),
}

impl RhoFigure {
    fn new(series: &[Series<'_>], title: &str) -> Result<Self> {
        let (color_of, labels) = group_labels(series);
        let drawn: Vec<Drawn> = series
            .iter()
            .zip(&color_of)
            .map(|(s, &k)| {
                prepare_series(s.curve, label_color(k), |p| {
                    let rho = p.rho?;
                    Some((f64::from(p.step).max(1.0), rho))
                })
            })
            .collect();
        let ((x0, x1), _) = extent(&drawn)
            .ok_or_else(|| anyhow!("ρ plot `{title}`: no series has a finite ρ value"))?;
        let with_switch = drawn.iter().any(|d| d.switch.is_some());
        Ok(RhoFigure {
            title: title.to_string(),
            legend: legend_entries(&labels, with_switch),
            drawn,
            x_range: log_range(x0, x1),
        })
    }
}

impl Figure for RhoFigure {
    fn size(&self) -> (u32, u32) {
        (1000 + legend_width(&self.legend), 600)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (area, legend) = layout(root, &self.title, legend_width(&self.legend))?;
        let mut chart = ChartBuilder::on(&area)
            .margin(12)
            .x_label_area_size(52)
            .y_label_area_size(70)
            .build_cartesian_2d((self.x_range.0..self.x_range.1).log_scale(), 0.0..1.02f64)?;
        let fmt_x = |v: &f64| fmt_step_tick(*v);
        let fmt_y = |v: &f64| fmt_lin_tick(*v);
        chart
            .configure_mesh()
            .x_desc("step")
            .y_desc("order parameter ρ")
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&fmt_y)
            .x_labels(12)
            .y_labels(11)
            .label_style((FONT, 15))
            .axis_desc_style((FONT, 17))
            .bold_line_style(RGBColor(215, 215, 215).stroke_width(1))
            .light_line_style(RGBColor(240, 240, 240).stroke_width(1))
            .draw()?;
        draw_series(&mut chart, &self.drawn)?;
        draw_legend(&legend, &self.legend, 12)
    }
}

// ---------------------------------------------------------------------------------------------
// States on the graph: projection, node marks, colours and colour bar (shared by the single
// figure and the mosaic)
// ---------------------------------------------------------------------------------------------

/// Largest side of the drawing box of [`state_on_graph`], in pixels.
const BOX: f64 = 760.0;
/// Smallest side of that drawing box, in pixels.
const MIN_BOX: f64 = 240.0;
/// Margin around that drawing box.
const PAD: f64 = 24.0;
/// Width of the colour-bar panel.
const BAR_PANEL: u32 = 150;
/// Height of the title band.
const TITLE_H: u32 = 44;
/// Height of the note line at the bottom.
const NOTE_H: u32 = 28;
/// Colour of non-finite values.
const MISSING: RGBColor = RGBColor(160, 160, 160);
/// Two pixel positions: an edge segment, or the corners of a rectangle.
type PxPair = ((i32, i32), (i32, i32));
/// Colour of drawn edges.
const EDGE_GREY: RGBColor = RGBColor(185, 185, 185);

/// A graph's node coordinates, one per node; an error when it has none or no nodes.
fn node_coords(graph: &Graph) -> Result<&[[f64; 3]]> {
    let coords = graph.coords().ok_or_else(|| {
        anyhow!(
            "graph `{}` has no node coordinates: cannot draw its state",
            graph.name()
        )
    })?;
    let n = graph.n();
    if coords.len() != n {
        bail!(
            "graph `{}`: {} coordinates for {n} nodes",
            graph.name(),
            coords.len()
        );
    }
    if n == 0 {
        bail!("graph `{}` has no nodes", graph.name());
    }
    Ok(coords)
}

/// Checks that the state `what` has one value per node of `graph`.
fn check_state_len(graph: &Graph, w: &[f32], what: &str) -> Result<()> {
    if w.len() != graph.n() {
        bail!(
            "{what} has {} values but graph `{}` has {} nodes",
            w.len(),
            graph.name(),
            graph.n()
        );
    }
    Ok(())
}

/// The note under a state figure: graph size, projection and what was left out.
fn state_note(graph: &Graph, projection: &str, edges_left_out: Option<&str>, bad: usize) -> String {
    let mut note = format!(
        "{}: {} nodes, {} edges; {projection}",
        graph.name(),
        graph.n(),
        graph.edge_count()
    );
    if let Some(why) = edges_left_out {
        note.push_str(&format!("; edges not drawn ({why})"));
    }
    if bad > 0 {
        note.push_str(&format!("; {bad} non-finite values in grey"));
    }
    note
}

/// A graph's nodes placed in the pixels of a drawing box: the coordinates projected with
/// equal scale on both axes, the drawing order and the typical distance of neighbours.
///
/// 3D coordinates are projected onto the two axes of largest extent (kept in index order, so
/// x stays horizontal and y vertical); a cube-like point set gets an oblique projection along
/// the third axis so its depth shows, and nearer nodes are drawn over farther ones.
struct Layout {
    /// Pixel position of each node (indexed by node), margin included.
    px: Vec<(i32, i32)>,
    /// Node indices from far to near: the drawing order.
    order: Vec<usize>,
    /// Median projected edge length in pixels (the mean spacing of an edgeless graph).
    spacing: f64,
    /// Size of the projected node cloud in pixels, without the margin.
    inner: (f64, f64),
    /// Size of the drawing box in pixels, margin included.
    box_size: (u32, u32),
    /// Smallest and largest pixel positions of the nodes.
    extent: PxPair,
    /// The projection, for the note.
    projection: String,
}

impl Layout {
    /// Places `coords` (one per node of `graph`, at least one) in a box whose sides lie in
    /// `[min_box, max_box]`, with a margin of `pad` on every side.
    fn new(graph: &Graph, coords: &[[f64; 3]], max_box: f64, min_box: f64, pad: f64) -> Layout {
        let n = coords.len();
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for c in coords {
            for k in 0..3 {
                lo[k] = lo[k].min(c[k]);
                hi[k] = hi[k].max(c[k]);
            }
        }
        let ext: Vec<f64> = (0..3).map(|k| (hi[k] - lo[k]).max(0.0)).collect();
        // Depth = the smallest extent, the last axis on ties (z for a cube).
        let depth = (0..3)
            .rev()
            .min_by(|&a, &b| ext[a].total_cmp(&ext[b]))
            .unwrap_or(2);
        let (ax, ay) = match depth {
            0 => (1, 2),
            1 => (0, 2),
            _ => (0, 1),
        };
        let plane_min = ext[ax].min(ext[ay]);
        let oblique = plane_min > 0.0 && ext[depth] >= 0.9 * plane_min;
        let axis_name = ["x", "y", "z"];
        let projection = if oblique {
            format!(
                "oblique projection ({}–{} plane, {} receding)",
                axis_name[ax], axis_name[ay], axis_name[depth]
            )
        } else if ext[depth] > 0.0 {
            format!("{}–{} projection", axis_name[ax], axis_name[ay])
        } else {
            format!("{}–{} plane", axis_name[ax], axis_name[ay])
        };
        let k_obl = if oblique { 0.35 } else { 0.0 };
        let (cos, sin) = (
            std::f64::consts::FRAC_1_SQRT_2,
            std::f64::consts::FRAC_1_SQRT_2,
        );
        let dmid = 0.5 * (lo[depth] + hi[depth]);
        // Larger depth coordinate = nearer the viewer; farther nodes recede up and right.
        let project = |c: &[f64; 3]| {
            let d = dmid - c[depth];
            (c[ax] + k_obl * d * cos, c[ay] + k_obl * d * sin)
        };
        let proj: Vec<(f64, f64)> = coords.iter().map(project).collect();
        let (mut pa, mut pb) = (
            (f64::INFINITY, f64::NEG_INFINITY),
            (f64::INFINITY, f64::NEG_INFINITY),
        );
        for &(a, b) in &proj {
            pa = (pa.0.min(a), pa.1.max(a));
            pb = (pb.0.min(b), pb.1.max(b));
        }
        let (wa, wb) = (pa.1 - pa.0, pb.1 - pb.0);
        // Equal scale on both axes; a degenerate direction gets the minimum box.
        let scale = match (wa > 0.0, wb > 0.0) {
            (true, true) => (max_box / wa).min(max_box / wb),
            (true, false) => max_box / wa,
            (false, true) => max_box / wb,
            (false, false) => 1.0,
        };
        let bw = (wa * scale).clamp(min_box, max_box);
        let bh = (wb * scale).clamp(min_box, max_box);
        let (ca, cb) = (0.5 * (pa.0 + pa.1), 0.5 * (pb.0 + pb.1));
        let to_px = |(a, b): (f64, f64)| -> (i32, i32) {
            let x = pad + 0.5 * bw + (a - ca) * scale;
            let y = pad + 0.5 * bh - (b - cb) * scale;
            (x.round() as i32, y.round() as i32)
        };
        let px: Vec<(i32, i32)> = proj.iter().map(|&p| to_px(p)).collect();

        // Median projected edge length (sampled on large graphs).
        let step = (graph.edge_count() / 2000).max(1);
        let mut lens: Vec<f64> = graph
            .edges()
            .step_by(step)
            .map(|(u, v, _)| {
                let (p, q) = (proj[u as usize], proj[v as usize]);
                ((p.0 - q.0).hypot(p.1 - q.1)) * scale
            })
            .filter(|l| *l > 0.0)
            .collect();
        lens.sort_unstable_by(f64::total_cmp);
        let spacing = if lens.is_empty() {
            (bw * bh / n as f64).sqrt()
        } else {
            lens[lens.len() / 2]
        };

        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| coords[i][depth].total_cmp(&coords[j][depth]));
        let extent = px.iter().fold(
            ((i32::MAX, i32::MAX), (i32::MIN, i32::MIN)),
            |((x0, y0), (x1, y1)), &(x, y)| ((x0.min(x), y0.min(y)), (x1.max(x), y1.max(y))),
        );
        Layout {
            px,
            order,
            spacing,
            inner: (bw, bh),
            box_size: (
                (bw + 2.0 * pad).round() as u32,
                (bh + 2.0 * pad).round() as u32,
            ),
            extent,
            projection,
        }
    }

    /// The graph's edges as pixel segments.
    fn edge_segments(&self, graph: &Graph) -> Vec<PxPair> {
        graph
            .edges()
            .map(|(u, v, _)| (self.px[u as usize], self.px[v as usize]))
            .collect()
    }
}

/// How the nodes of a drawing are marked.
enum Marks {
    /// Filled circles of this radius on the nodes, far to near.
    Dots(i32),
    /// Filled squares of this side centred on the nodes, far to near.
    Squares(i32),
    /// Square cells of this side tiling the box, each in the colour of the nearest node inside
    /// it, as `(node, top-left corner)`: bounds the number of shapes of a dense drawing.
    Cells(i32, Vec<(usize, (i32, i32))>),
}

impl Marks {
    /// Circles for markers of radius 1.5 px and more; smaller ones as squares, which are
    /// faster and tile without gaps.
    fn for_radius(r: f64) -> Marks {
        if r >= 1.5 {
            Marks::Dots(r.round() as i32)
        } else {
            Marks::Squares((2.0 * r).round().max(1.0) as i32)
        }
    }

    /// Squares of `side` pixels (tiles); with more than `max_marks` nodes, a grid of cells
    /// coarse enough for about `max_marks` of them instead.
    fn tiles(layout: &Layout, side: i32, max_marks: usize) -> Marks {
        let side = side.max(1);
        if layout.px.len() <= max_marks.max(1) {
            return Marks::Squares(side);
        }
        let (iw, ih) = layout.inner;
        let need = (iw.max(1.0) * ih.max(1.0) / max_marks.max(1) as f64)
            .sqrt()
            .ceil() as i32;
        let side = side.max(need);
        let ((x0, y0), (x1, y1)) = layout.extent;
        let cols = ((x1 - x0) / side + 1) as usize;
        let rows = ((y1 - y0) / side + 1) as usize;
        let mut winner = vec![usize::MAX; cols * rows];
        // Far to near: the nearest node of a cell wins.
        for &i in &layout.order {
            let (x, y) = layout.px[i];
            let (cx, cy) = (((x - x0) / side) as usize, ((y - y0) / side) as usize);
            winner[cy * cols + cx] = i;
        }
        let cells = winner
            .iter()
            .enumerate()
            .filter(|&(_, &i)| i != usize::MAX)
            .map(|(c, &i)| {
                let (cx, cy) = ((c % cols) as i32, (c / cols) as i32);
                (i, (x0 + cx * side, y0 + cy * side))
            })
            .collect();
        Marks::Cells(side, cells)
    }

    /// How far a mark reaches beyond its node's pixel, at most.
    fn reach(&self) -> i32 {
        match self {
            Marks::Dots(r) => *r,
            Marks::Squares(s) => s - s / 2,
            Marks::Cells(s, _) => *s,
        }
    }
}

/// Draws the node marks of `layout`, shifted by `(dx, dy)`, in the colour `color(node)`.
fn draw_marks<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    layout: &Layout,
    marks: &Marks,
    (dx, dy): (i32, i32),
    color: impl Fn(usize) -> RGBColor,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let square = |(x, y): (i32, i32), side: i32, c: RGBColor| {
        Rectangle::new([(x, y), (x + side, y + side)], c.filled())
    };
    match marks {
        Marks::Dots(r) => {
            for &i in &layout.order {
                let (x, y) = layout.px[i];
                area.draw(&Circle::new((x + dx, y + dy), *r, color(i).filled()))?;
            }
        }
        Marks::Squares(side) => {
            let off = side / 2;
            for &i in &layout.order {
                let (x, y) = layout.px[i];
                area.draw(&square((x + dx - off, y + dy - off), *side, color(i)))?;
            }
        }
        Marks::Cells(side, cells) => {
            for &(i, (x, y)) in cells {
                area.draw(&square((x + dx, y + dy), *side, color(i)))?;
            }
        }
    }
    Ok(())
}

/// Draws edge segments shifted by `(dx, dy)` as thin grey lines.
fn draw_edges<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    edges: &[PxPair],
    (dx, dy): (i32, i32),
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = EDGE_GREY.stroke_width(1);
    for &((x0, y0), (x1, y1)) in edges {
        area.draw(&PathElement::new(
            vec![(x0 + dx, y0 + dy), (x1 + dx, y1 + dy)],
            style,
        ))?;
    }
    Ok(())
}

/// Colours of node values: a cyclic hue for phases, viridis over a fixed range otherwise.
#[derive(Debug, Clone, Copy)]
enum ColorScale {
    /// HSV hue of `w mod 2π`.
    Phase,
    /// Viridis from the first value (low) to the second (high).
    Viridis(f64, f64),
}

impl ColorScale {
    /// The scale for `states`: phases, or viridis from the smallest to the largest finite
    /// value of all of them (`[0, 1]` when there is none).
    fn new<'s>(phase: bool, states: impl IntoIterator<Item = &'s [f32]>) -> ColorScale {
        if phase {
            return ColorScale::Phase;
        }
        let (lo, hi) = states
            .into_iter()
            .flatten()
            .filter(|v| v.is_finite())
            .map(|&v| f64::from(v))
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
                (a.min(v), b.max(v))
            });
        if lo.is_finite() {
            ColorScale::Viridis(lo, hi)
        } else {
            ColorScale::Viridis(0.0, 1.0)
        }
    }

    /// The colour of one value (grey when it is not finite).
    fn color(self, v: f32) -> RGBColor {
        let v = f64::from(v);
        match self {
            _ if !v.is_finite() => MISSING,
            ColorScale::Phase => phase_color(v),
            ColorScale::Viridis(lo, hi) if hi > lo => viridis((v - lo) / (hi - lo)),
            ColorScale::Viridis(..) => viridis(0.5),
        }
    }
}

/// Draws a vertical colour bar for `scale` in `area`, from pixel row `top` (high end) to
/// `bottom` (low end), with a heading above it and, for viridis, `caption` below it.
fn draw_colorbar<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    scale: ColorScale,
    top: i32,
    bottom: i32,
    caption: &str,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (x0, x1) = (16, 40);
    let span = f64::from((bottom - top).max(1));
    let heading = TextStyle::from((FONT, 16).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Bottom));
    let heading_text = match scale {
        ColorScale::Phase => "phase w mod 2π",
        ColorScale::Viridis(..) => "w",
    };
    area.draw_text(heading_text, &heading, (x0 - 4, top - 10))?;
    // The bar, bottom (low) to top (high), one band per pixel row.
    for y in top..bottom {
        let t = f64::from(bottom - y) / span;
        let c = match scale {
            ColorScale::Phase => phase_color(t * std::f64::consts::TAU),
            ColorScale::Viridis(..) => viridis(t),
        };
        area.draw(&Rectangle::new([(x0, y), (x1, y + 1)], c.filled()))?;
    }
    area.draw(&Rectangle::new(
        [(x0, top), (x1, bottom)],
        BLACK.stroke_width(1),
    ))?;
    let ticks: Vec<(f64, String)> = match scale {
        ColorScale::Phase => ["0", "π/2", "π", "3π/2", "2π"]
            .iter()
            .enumerate()
            .map(|(i, s)| (i as f64 / 4.0, s.to_string()))
            .collect(),
        ColorScale::Viridis(a, b) if b > a => {
            // Exact ends, round values between (none closer than 7% to an end).
            let mut v = vec![(0.0, fmt_value(a)), (1.0, fmt_value(b))];
            v.extend(
                nice_ticks(a, b, 5)
                    .into_iter()
                    .map(|(x, s)| ((x - a) / (b - a), s))
                    .filter(|(t, _)| *t > 0.07 && *t < 0.93),
            );
            v
        }
        ColorScale::Viridis(a, _) => vec![(0.5, fmt_value(a))],
    };
    let label = TextStyle::from((FONT, 14).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (t, s) in ticks {
        let y = bottom - (t * span).round() as i32;
        area.draw(&PathElement::new(
            vec![(x1, y), (x1 + 5, y)],
            BLACK.stroke_width(1),
        ))?;
        area.draw_text(&s, &label, (x1 + 8, y))?;
    }
    if let ColorScale::Viridis(..) = scale {
        let small = TextStyle::from((FONT, 12).into_font())
            .color(&RGBColor(90, 90, 90))
            .pos(Pos::new(HPos::Left, VPos::Top));
        area.draw_text(caption, &small, (x0 - 4, bottom + 8))?;
    }
    Ok(())
}

/// Draws `text` centred at `(x, y)` of `area` in `size` px.
fn centred_text<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    text: &str,
    size: u32,
    (x, y): (i32, i32),
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, size).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Center, VPos::Center));
    area.draw_text(text, &style, (x, y))?;
    Ok(())
}

/// Draws the note line in `area` (the bottom band of a figure).
fn draw_note<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, note: &str, x: i32) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&RGBColor(90, 90, 90))
        .pos(Pos::new(HPos::Left, VPos::Center));
    area.draw_text(note, &style, (x, (NOTE_H / 2) as i32))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// One state on the graph
// ---------------------------------------------------------------------------------------------

struct StateFigure<'a> {
    title: String,
    note: String,
    w: &'a [f32],
    scale: ColorScale,
    layout: Layout,
    marks: Marks,
    /// Edge segments in pixels (empty when not drawn).
    edges: Vec<PxPair>,
}

impl<'a> StateFigure<'a> {
    fn new(graph: &Graph, w: &'a [f32], phase: bool, title: &str) -> Result<Self> {
        let coords = node_coords(graph)?;
        check_state_len(graph, w, "state")?;
        let layout = Layout::new(graph, coords, BOX, MIN_BOX, PAD);
        // Marker size from the median edge length: nodes about touch on a lattice.
        let marks = Marks::for_radius((0.5 * layout.spacing).clamp(0.7, 6.0));
        let m = graph.edge_count();
        let left_out = if m >= MAX_DRAWN_EDGES {
            Some("too many")
        } else if layout.spacing < 4.0 && m > 0 {
            Some("too dense")
        } else {
            None
        };
        let edges = if left_out.is_none() {
            layout.edge_segments(graph)
        } else {
            Vec::new()
        };
        let bad = w.iter().filter(|v| !v.is_finite()).count();
        Ok(StateFigure {
            title: title.to_string(),
            note: state_note(graph, &layout.projection, left_out, bad),
            w,
            scale: ColorScale::new(phase, [w]),
            layout,
            marks,
            edges,
        })
    }
}

impl Figure for StateFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let (bw, bh) = self.layout.box_size;
        // Room for the note and colour bar labels even with a flat box.
        ((bw + BAR_PANEL).max(560), bh.max(300) + TITLE_H + NOTE_H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (w, h) = root.dim_in_pixel();
        let (head, rest) = root.split_vertically(TITLE_H);
        centred_text(
            &head,
            &self.title,
            22,
            ((w / 2) as i32, (TITLE_H / 2) as i32 + 4),
        )?;
        let (body, foot) = rest.split_vertically(h - TITLE_H - NOTE_H);
        draw_note(&foot, &self.note, PAD as i32)?;
        let (plot, bar) = body.split_horizontally(w.saturating_sub(BAR_PANEL));
        // Centre the drawing box in its panel.
        let (pw, ph) = plot.dim_in_pixel();
        let shift = (
            (pw.saturating_sub(self.layout.box_size.0) / 2) as i32,
            (ph.saturating_sub(self.layout.box_size.1) / 2) as i32,
        );
        draw_edges(&plot, &self.edges, shift)?;
        draw_marks(&plot, &self.layout, &self.marks, shift, |i| {
            self.scale.color(self.w[i])
        })?;
        let (_, bh) = bar.dim_in_pixel();
        let top = PAD as i32 + 30;
        let bottom = (bh as i32 - PAD as i32).max(top + 60);
        draw_colorbar(&bar, self.scale, top, bottom, "viridis, min to max")
    }
}

// ---------------------------------------------------------------------------------------------
// A mosaic of states on one graph
// ---------------------------------------------------------------------------------------------

/// Largest side of a panel's drawing box in pixels (less with many columns).
const PANEL_BOX: f64 = 216.0;
/// A panel's drawing box is not shrunk below this for many columns.
const MIN_PANEL_BOX: f64 = 110.0;
/// Smallest side of a panel's drawing box (a flat graph).
const PANEL_FLAT_BOX: f64 = 40.0;
/// Space between a panel's frame and its neighbours (on each side).
const PANEL_GAP: u32 = 6;
/// Height of a panel's title band.
const PANEL_TITLE_H: u32 = 22;
/// Narrowest panel (room for its title).
const MIN_PANEL_W: u32 = 150;
/// Panels shrink (down to [`MIN_PANEL_BOX`]) to keep the grid about this wide.
const GRID_WIDTH: f64 = 2400.0;
/// About this many shapes at most in a whole mosaic (keeps the SVG small)...
const GRID_MARKS: usize = 150_000;
/// ...but each panel may use this many.
const PANEL_MIN_MARKS: usize = 2_500;
/// Edges are drawn in the panels only when neighbours are at least this many pixels apart...
const PANEL_EDGE_SPACING: f64 = 14.0;
/// ...and the graph has at most this many edges.
const PANEL_MAX_EDGES: usize = 2_000;
/// Margin left of the panel grid and below it.
const GRID_MARGIN: u32 = 12;

struct GridFigure<'a> {
    title: String,
    note: String,
    panels: &'a [Panel<'a>],
    columns: usize,
    rows: usize,
    scale: ColorScale,
    layout: Layout,
    marks: Marks,
    /// Edge segments in pixels (empty when not drawn).
    edges: Vec<PxPair>,
    /// The frame drawn around each panel's marks, in the pixels of [`Layout::px`].
    frame: PxPair,
    /// Size of one panel: title band, frame and gaps.
    cell: (u32, u32),
}

impl<'a> GridFigure<'a> {
    fn new(
        graph: &Graph,
        panels: &'a [Panel<'a>],
        columns: usize,
        phase: bool,
        title: &str,
    ) -> Result<Self> {
        if panels.is_empty() {
            bail!("state grid `{title}`: no panels to draw");
        }
        if columns == 0 {
            bail!("state grid `{title}`: zero columns");
        }
        let coords = node_coords(graph)?;
        for (k, p) in panels.iter().enumerate() {
            check_state_len(graph, p.w, &format!("panel {k} (`{}`)", p.title))?;
        }
        let columns = columns.min(panels.len());
        let rows = panels.len().div_ceil(columns);
        let max_box = (GRID_WIDTH / columns as f64 - 2.0 * f64::from(PANEL_GAP) - 12.0)
            .clamp(MIN_PANEL_BOX, PANEL_BOX);
        let layout = Layout::new(graph, coords, max_box, PANEL_FLAT_BOX, 0.0);
        let n = graph.n();
        let m = graph.edge_count();
        let with_edges = m > 0 && m <= PANEL_MAX_EDGES && layout.spacing >= PANEL_EDGE_SPACING;
        let marks = if with_edges {
            Marks::Dots((0.25 * layout.spacing).clamp(2.0, 7.0).round() as i32)
        } else {
            // Tiles one neighbour distance wide, but not much wider than the mean area per
            // node allows (graphs with long edges).
            let (iw, ih) = layout.inner;
            let by_area = 1.5 * (iw * ih / n as f64).sqrt();
            let side = layout.spacing.min(by_area).ceil().max(1.0) as i32;
            let budget = (GRID_MARKS / panels.len()).max(PANEL_MIN_MARKS);
            Marks::tiles(&layout, side, budget)
        };
        let edges = if with_edges {
            layout.edge_segments(graph)
        } else {
            Vec::new()
        };
        let left_out = match () {
            _ if with_edges || m == 0 => None,
            _ if layout.spacing < PANEL_EDGE_SPACING => Some("small panels"),
            _ => Some("too many"),
        };
        let bad: usize = panels
            .iter()
            .map(|p| p.w.iter().filter(|v| !v.is_finite()).count())
            .sum();
        let mut note = state_note(graph, &layout.projection, left_out, bad);
        note.push_str(&format!("; {} panels", panels.len()));
        if let Marks::Cells(side @ 2.., _) = marks {
            note.push_str(&format!(", drawn in {side} px cells"));
        }
        // A light frame just outside the marks.
        let ((x0, y0), (x1, y1)) = layout.extent;
        let r = marks.reach() + 1;
        let frame = ((x0 - r, y0 - r), (x1 + r, y1 + r));
        let (fw, fh) = (
            (frame.1.0 - frame.0.0) as u32,
            (frame.1.1 - frame.0.1) as u32,
        );
        Ok(GridFigure {
            title: title.to_string(),
            note,
            panels,
            columns,
            rows,
            scale: ColorScale::new(phase, panels.iter().map(|p| p.w)),
            cell: (
                (fw + 2 * PANEL_GAP).max(MIN_PANEL_W),
                PANEL_TITLE_H + fh + 2 * PANEL_GAP,
            ),
            frame,
            layout,
            marks,
            edges,
        })
    }

    /// Width of the panel grid and colour bar, without any centring slack.
    fn content_width(&self) -> u32 {
        GRID_MARGIN + self.columns as u32 * self.cell.0 + BAR_PANEL
    }

    /// Draws panel `k` with its top-left corner at `(x, y)` of `area`.
    fn draw_panel<DB: DrawingBackend>(
        &self,
        area: &DrawingArea<DB, Shift>,
        k: usize,
        (x, y): (i32, i32),
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let panel = &self.panels[k];
        let (cw, _) = self.cell;
        let ((fx0, fy0), (fx1, fy1)) = self.frame;
        // DejaVu Sans at 14 px averages about 7.8 px per character.
        let max_chars = ((f64::from(cw) - 8.0) / 7.8).max(4.0) as usize;
        centred_text(
            area,
            &ellipsize(&panel.title, max_chars),
            14,
            (
                x + (cw / 2) as i32,
                y + (PANEL_TITLE_H / 2 + PANEL_GAP) as i32,
            ),
        )?;
        // The frame centred horizontally, just below the title.
        let fw = (fx1 - fx0) as u32;
        let shift = (
            x + (cw.saturating_sub(fw) / 2) as i32 - fx0,
            y + (PANEL_TITLE_H + PANEL_GAP) as i32 - fy0,
        );
        area.draw(&Rectangle::new(
            [
                (fx0 + shift.0, fy0 + shift.1),
                (fx1 + shift.0, fy1 + shift.1),
            ],
            RGBColor(200, 200, 200).stroke_width(1),
        ))?;
        draw_edges(area, &self.edges, shift)?;
        draw_marks(area, &self.layout, &self.marks, shift, |i| {
            self.scale.color(panel.w[i])
        })
    }
}

impl Figure for GridFigure<'_> {
    fn size(&self) -> (u32, u32) {
        let body = (self.rows as u32 * self.cell.1 + GRID_MARGIN).max(240);
        (self.content_width().max(560), TITLE_H + body + NOTE_H)
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        let (w, h) = root.dim_in_pixel();
        let (head, rest) = root.split_vertically(TITLE_H);
        centred_text(
            &head,
            &self.title,
            22,
            ((w / 2) as i32, (TITLE_H / 2) as i32 + 4),
        )?;
        let body_h = h - TITLE_H - NOTE_H;
        let (body, foot) = rest.split_vertically(body_h);
        // Centre grid and colour bar together when the figure is wider than they are.
        let left = ((w - self.content_width()) / 2 + GRID_MARGIN) as i32;
        draw_note(&foot, &self.note, left)?;
        let (cw, ch) = self.cell;
        for k in 0..self.panels.len() {
            let (row, col) = (k / self.columns, k % self.columns);
            let origin = (left + (col as u32 * cw) as i32, (row as u32 * ch) as i32);
            self.draw_panel(&body, k, origin)?;
        }
        let bar_x = left as u32 + self.columns as u32 * cw;
        let bar = body.shrink((bar_x, 0), (BAR_PANEL, body_h));
        let top = (PANEL_TITLE_H + PANEL_GAP) as i32 + 30;
        let bottom = (body_h as i32 - 30).clamp(top + 60, top + 420);
        draw_colorbar(&bar, self.scale, top, bottom, "viridis, all panels")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_ticks_are_short() {
        assert_eq!(fmt_log_tick(9.999_999_999e-5), "1e-4");
        assert_eq!(fmt_log_tick(1e-12), "1e-12");
        assert_eq!(fmt_log_tick(0.1), "0.1");
        assert_eq!(fmt_log_tick(1.0), "1");
        assert_eq!(fmt_log_tick(100.0), "100");
        assert_eq!(fmt_log_tick(1e4), "1e4");
        assert_eq!(fmt_log_tick(0.0), "");
    }

    #[test]
    fn value_labels() {
        assert_eq!(fmt_value(0.0), "0");
        assert_eq!(fmt_value(1.0), "1");
        assert_eq!(fmt_value(-0.25), "-0.25");
        assert_eq!(fmt_value(1234.5678), "1235");
        assert_eq!(fmt_value(0.123_456), "0.1235");
        assert_eq!(fmt_value(1e-6), "1.000e-6");
    }

    #[test]
    fn nice_colour_bar_ticks() {
        let t: Vec<String> = nice_ticks(-1.0, 1.0, 5).into_iter().map(|p| p.1).collect();
        assert_eq!(t, ["-0.5", "0", "0.5"]);
        let t: Vec<String> = nice_ticks(0.0, 21.0, 5).into_iter().map(|p| p.1).collect();
        assert_eq!(t, ["5", "10", "15", "20"]);
        assert!(nice_ticks(1.0, 1.0, 5).is_empty());
    }

    #[test]
    fn log_range_has_a_power_of_ten() {
        let close = |(a, b): (f64, f64), (c, d): (f64, f64)| {
            (a / c - 1.0).abs() < 1e-6 && (b / d - 1.0).abs() < 1e-6
        };
        assert!(close(log_range(2.0, 8.0), (1.0, 10.0)));
        assert!(close(log_range(3.0, 3.0), (1.0, 10.0)));
        let (a, b) = log_range(1e-6, 1e-6);
        assert!(a < 1e-6 && b > 1e-5);
        let (a, b) = log_range(1e-10, 1.0);
        assert!(a < 1e-10 && b > 1.0);
        let (a, b) = log_range(f64::NAN, 1.0);
        assert!(a > 0.0 && a <= 1e-3 && b >= 1.0);
    }

    #[test]
    fn thinning_keeps_ends_and_extras() {
        assert_eq!(thin_indices(5, &[]), vec![0, 1, 2, 3, 4]);
        let n = 100_000;
        let idx = thin_indices(n, &[4321]);
        assert!(idx.len() <= MAX_POINTS + 3, "{}", idx.len());
        assert_eq!(idx[0], 0);
        assert_eq!(*idx.last().unwrap(), n - 1);
        assert!(idx.contains(&4321));
        assert!(idx.windows(2).all(|p| p[0] < p[1]));
        // The log-spaced half keeps the start dense.
        assert!((0..10).all(|i| idx.contains(&i)));
    }

    #[test]
    fn colours() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), RGBColor(68, 1, 84));
        assert_eq!(phase_color(0.0), phase_color(std::f64::consts::TAU));
        assert_eq!(hsv(0.0, 1.0, 1.0), RGBColor(255, 0, 0));
        assert_eq!(hsv(1.0 / 3.0, 1.0, 1.0), RGBColor(0, 255, 0));
    }

    #[test]
    fn stems_keep_dots() {
        let p = with_ext(Path::new("/tmp/a.b/lattice2d:5x5.energy"), "png");
        assert_eq!(p, PathBuf::from("/tmp/a.b/lattice2d:5x5.energy.png"));
        let t = temp_sibling(&p, "png").unwrap();
        assert_eq!(t.parent(), p.parent());
        assert!(t.to_string_lossy().ends_with(".png"));
        assert!(t.file_name().unwrap().to_string_lossy().starts_with('.'));
    }
}
