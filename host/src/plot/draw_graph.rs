//! Drawing states on a graph: projection, node marks, colours, colour bar (shared by the single state and the mosaic).

use anyhow::{Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::graph::Graph;

use super::style::*;
use super::*;

/// Largest side of the drawing box of [`state_on_graph`], in pixels.
pub(super) const BOX: f64 = 760.0;
/// Smallest side of that drawing box, in pixels.
pub(super) const MIN_BOX: f64 = 240.0;
/// Margin around that drawing box.
pub(super) const PAD: f64 = 24.0;
/// Width of the colour-bar panel.
pub(super) const BAR_PANEL: u32 = 150;
/// Height of the title band.
pub(super) const TITLE_H: u32 = 44;
/// Height of the note line at the bottom.
pub(super) const NOTE_H: u32 = 28;
/// Colour of non-finite values.
pub(super) const MISSING: RGBColor = RGBColor(160, 160, 160);
/// Two pixel positions: an edge segment, or the corners of a rectangle.
pub(super) type PxPair = ((i32, i32), (i32, i32));
/// Colour of drawn edges.
pub(super) const EDGE_GREY: RGBColor = RGBColor(185, 185, 185);

/// A graph's node coordinates, one per node; an error when it has none or no nodes.
pub(super) fn node_coords(graph: &Graph) -> Result<&[[f64; 3]]> {
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
pub(super) fn check_state_len(graph: &Graph, w: &[f32], what: &str) -> Result<()> {
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
pub(super) fn state_note(
    graph: &Graph,
    projection: &str,
    edges_left_out: Option<&str>,
    bad: usize,
) -> String {
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
pub(super) struct Layout {
    /// Pixel position of each node (indexed by node), margin included.
    pub(super) px: Vec<(i32, i32)>,
    /// Node indices from far to near: the drawing order.
    pub(super) order: Vec<usize>,
    /// Median projected edge length in pixels (the mean spacing of an edgeless graph).
    pub(super) spacing: f64,
    /// Size of the projected node cloud in pixels, without the margin.
    pub(super) inner: (f64, f64),
    /// Size of the drawing box in pixels, margin included.
    pub(super) box_size: (u32, u32),
    /// Smallest and largest pixel positions of the nodes.
    pub(super) extent: PxPair,
    /// The projection, for the note.
    pub(super) projection: String,
}

impl Layout {
    /// Places `coords` (one per node of `graph`, at least one) in a box whose sides lie in
    /// `[min_box, max_box]`, with a margin of `pad` on every side.
    pub(super) fn new(
        graph: &Graph,
        coords: &[[f64; 3]],
        max_box: f64,
        min_box: f64,
        pad: f64,
    ) -> Layout {
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
    pub(super) fn edge_segments(&self, graph: &Graph) -> Vec<PxPair> {
        graph
            .edges()
            .map(|(u, v, _)| (self.px[u as usize], self.px[v as usize]))
            .collect()
    }
}

/// How the nodes of a drawing are marked.
pub(super) enum Marks {
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
    pub(super) fn for_radius(r: f64) -> Marks {
        if r >= 1.5 {
            Marks::Dots(r.round() as i32)
        } else {
            Marks::Squares((2.0 * r).round().max(1.0) as i32)
        }
    }

    /// Squares of `side` pixels (tiles); with more than `max_marks` nodes, a grid of cells
    /// coarse enough for about `max_marks` of them instead.
    pub(super) fn tiles(layout: &Layout, side: i32, max_marks: usize) -> Marks {
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
    pub(super) fn reach(&self) -> i32 {
        match self {
            Marks::Dots(r) => *r,
            Marks::Squares(s) => s - s / 2,
            Marks::Cells(s, _) => *s,
        }
    }
}

/// Draws the node marks of `layout`, shifted by `(dx, dy)`, in the colour `color(node)`.
pub(super) fn draw_marks<DB: DrawingBackend>(
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
pub(super) fn draw_edges<DB: DrawingBackend>(
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
pub(super) enum ColorScale {
    /// HSV hue of `w mod 2π`.
    Phase,
    /// Viridis from the first value (low) to the second (high).
    Viridis(f64, f64),
}

impl ColorScale {
    /// The scale for `states`: phases, or viridis from the smallest to the largest finite
    /// value of all of them (`[0, 1]` when there is none).
    pub(super) fn new<'s>(phase: bool, states: impl IntoIterator<Item = &'s [f32]>) -> ColorScale {
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
    pub(super) fn color(self, v: f32) -> RGBColor {
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
pub(super) fn draw_colorbar<DB: DrawingBackend>(
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
pub(super) fn centred_text<DB: DrawingBackend>(
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
pub(super) fn draw_note<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    note: &str,
    x: i32,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let style = TextStyle::from((FONT, 13).into_font())
        .color(&RGBColor(90, 90, 90))
        .pos(Pos::new(HPos::Left, VPos::Center));
    area.draw_text(note, &style, (x, (NOTE_H / 2) as i32))?;
    Ok(())
}
