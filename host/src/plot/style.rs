//! Shared helpers: colours, tick formats, axis ranges, thinning, legends, series preparation.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::run::{CurvePoint, StageName};

use super::*;

/// Matplotlib's "tab10" palette.
pub(super) const TAB10: [RGBColor; 10] = [
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
pub(super) fn label_color(k: usize) -> RGBColor {
    if let Some(&c) = TAB10.get(k) {
        c
    } else {
        let h = ((k - TAB10.len()) as f64 * 0.618_033_988_75 + 0.05).fract();
        hsv(h, 0.75, 0.8)
    }
}

/// HSV (all in [0, 1]) to RGB.
pub(super) fn hsv(h: f64, s: f64, v: f64) -> RGBColor {
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
pub(super) const VIRIDIS: [(f64, f64, f64); 9] = [
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
pub(super) fn viridis(t: f64) -> RGBColor {
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
pub(super) fn phase_color(w: f64) -> RGBColor {
    hsv(
        w.rem_euclid(std::f64::consts::TAU) / std::f64::consts::TAU,
        0.85,
        0.92,
    )
}

/// A tick label on a log axis: plain decimals between 0.01 and 1000, else `1e-4` style.
pub(super) fn fmt_log_tick(v: f64) -> String {
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
pub(super) fn fmt_step_tick(v: f64) -> String {
    if v.is_finite() && (1.0..10_000.0).contains(&v.round()) {
        format!("{}", v.round())
    } else {
        fmt_log_tick(v)
    }
}

/// Round tick values strictly inside `(lo, hi)`: steps of 1, 2 or 5 × 10^k, about `want` of
/// them, each with its label (decimals from the step, so 0 prints as `0`).
pub(super) fn nice_ticks(lo: f64, hi: f64, want: usize) -> Vec<(f64, String)> {
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
pub(super) fn fmt_lin_tick(v: f64) -> String {
    trim_decimal(&format!("{v:.2}"))
}

/// Drops trailing zeros (and a trailing point) of a decimal string.
pub(super) fn trim_decimal(s: &str) -> String {
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
pub(super) fn fmt_value(v: f64) -> String {
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
pub(super) fn log_range(lo: f64, hi: f64) -> (f64, f64) {
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
pub(super) fn thin_indices(n: usize, extra: &[usize]) -> Vec<usize> {
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
pub(super) fn switch_index(curve: &[CurvePoint]) -> Option<usize> {
    let first_nr = curve.iter().position(|p| p.stage == StageName::Nr)?;
    curve
        .iter()
        .skip(first_nr)
        .position(|p| p.stage == StageName::Direct)
        .map(|k| k + first_nr)
}

/// Assigns label colours in order of first appearance; returns per-series colour index and the
/// distinct labels with their run counts.
pub(super) fn group_labels(series: &[Series<'_>]) -> (Vec<usize>, Vec<(String, usize)>) {
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
pub(super) struct LegendEntry {
    pub(super) text: String,
    pub(super) color: RGBColor,
    /// Line sample (true) or dot sample (false).
    pub(super) line: bool,
}

/// Legend entries for the labels, plus the switch marker when shown.
pub(super) fn legend_entries(labels: &[(String, usize)], with_switch: bool) -> Vec<LegendEntry> {
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
pub(super) fn legend_width(entries: &[LegendEntry]) -> u32 {
    // DejaVu Sans at 15 px averages about 8.5 px per character.
    let chars = entries
        .iter()
        .map(|e| e.text.chars().count())
        .max()
        .unwrap_or(0);
    (60 + (chars as f64 * 8.5) as u32).clamp(120, 380)
}

/// Draws the legend in its own panel (so it never covers data), starting `top` px down.
pub(super) fn draw_legend<DB: DrawingBackend>(
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
pub(super) fn ellipsize(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Splits the figure into title, chart and legend panels.
pub(super) fn layout<DB: DrawingBackend>(
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
pub(super) struct Drawn {
    pub(super) color: RGBColor,
    pub(super) segments: Vec<Vec<(f64, f64)>>,
    pub(super) switch: Option<(f64, f64)>,
}

/// Splits the thinned points of `curve` into finite segments of `(x, y)` given by `f`
/// (`None` for a point to drop without breaking the line, `Some(NaN)` to break it).
pub(super) fn prepare_series(
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
pub(super) fn extent(drawn: &[Drawn]) -> Option<((f64, f64), (f64, f64))> {
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
pub(super) fn draw_series<DB: DrawingBackend, X, Y>(
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::render::{temp_sibling, with_ext};

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
