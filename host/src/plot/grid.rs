//! A mosaic of states on one graph (phase diagrams).

use anyhow::{Result, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::graph::Graph;

use super::draw_graph::*;
use super::render::*;
use super::style::*;
use super::*;

/// Largest side of a panel's drawing box in pixels (less with many columns).
pub(super) const PANEL_BOX: f64 = 216.0;
/// A panel's drawing box is not shrunk below this for many columns.
pub(super) const MIN_PANEL_BOX: f64 = 110.0;
/// Smallest side of a panel's drawing box (a flat graph).
pub(super) const PANEL_FLAT_BOX: f64 = 40.0;
/// Space between a panel's frame and its neighbours (on each side).
pub(super) const PANEL_GAP: u32 = 6;
/// Height of a panel's title band.
pub(super) const PANEL_TITLE_H: u32 = 22;
/// Narrowest panel (room for its title).
pub(super) const MIN_PANEL_W: u32 = 150;
/// Panels shrink (down to [`MIN_PANEL_BOX`]) to keep the grid about this wide.
pub(super) const GRID_WIDTH: f64 = 2400.0;
/// About this many shapes at most in a whole mosaic (keeps the SVG small)...
pub(super) const GRID_MARKS: usize = 150_000;
/// ...but each panel may use this many.
pub(super) const PANEL_MIN_MARKS: usize = 2_500;
/// Edges are drawn in the panels only when neighbours are at least this many pixels apart...
pub(super) const PANEL_EDGE_SPACING: f64 = 14.0;
/// ...and the graph has at most this many edges.
pub(super) const PANEL_MAX_EDGES: usize = 2_000;
/// Margin left of the panel grid and below it.
pub(super) const GRID_MARGIN: u32 = 12;

pub(super) struct GridFigure<'a> {
    pub(super) title: String,
    pub(super) note: String,
    pub(super) panels: &'a [Panel<'a>],
    pub(super) columns: usize,
    pub(super) rows: usize,
    pub(super) scale: ColorScale,
    pub(super) layout: Layout,
    pub(super) marks: Marks,
    /// Edge segments in pixels (empty when not drawn).
    pub(super) edges: Vec<PxPair>,
    /// The frame drawn around each panel's marks, in the pixels of [`Layout::px`].
    pub(super) frame: PxPair,
    /// Size of one panel: title band, frame and gaps.
    pub(super) cell: (u32, u32),
}

impl<'a> GridFigure<'a> {
    pub(super) fn new(
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
    pub(super) fn content_width(&self) -> u32 {
        GRID_MARGIN + self.columns as u32 * self.cell.0 + BAR_PANEL
    }

    /// Draws panel `k` with its top-left corner at `(x, y)` of `area`.
    pub(super) fn draw_panel<DB: DrawingBackend>(
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
