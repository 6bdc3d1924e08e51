//! One state drawn on the graph.

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::graph::Graph;

use super::draw_graph::*;
use super::render::*;
use super::*;

pub(super) struct StateFigure<'a> {
    pub(super) title: String,
    pub(super) note: String,
    pub(super) w: &'a [f32],
    pub(super) scale: ColorScale,
    pub(super) layout: Layout,
    pub(super) marks: Marks,
    /// Edge segments in pixels (empty when not drawn).
    pub(super) edges: Vec<PxPair>,
    /// Heat baths `(hot, cold)` ringed on top of the nodes, if given.
    pub(super) baths: Option<(Vec<u32>, Vec<u32>)>,
}

/// Ring colours of bath nodes: red hot, blue cold (outside viridis' own hues at its ends).
const HOT_RING: RGBColor = RGBColor(214, 39, 40);
/// See [`HOT_RING`].
const COLD_RING: RGBColor = RGBColor(31, 119, 180);

impl<'a> StateFigure<'a> {
    pub(super) fn new(graph: &Graph, w: &'a [f32], phase: bool, title: &str) -> Result<Self> {
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
            baths: None,
        })
    }

    /// Rings the bath nodes (`hot` red, `cold` blue) and says so in the note.
    pub(super) fn with_baths(mut self, hot: &[u32], cold: &[u32]) -> Result<Self> {
        let n = self.w.len();
        if let Some(&v) = hot.iter().chain(cold).find(|&&v| v as usize >= n) {
            anyhow::bail!("bath node {v} is out of range for a state of {n} nodes");
        }
        self.note = format!(
            "red rings: hot bath ({} nodes); blue rings: cold bath ({} nodes). {}",
            hot.len(),
            cold.len(),
            self.note
        );
        self.baths = Some((hot.to_vec(), cold.to_vec()));
        Ok(self)
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
        if let Some((hot, cold)) = &self.baths {
            let r = match self.marks {
                Marks::Dots(r) => r + 2,
                Marks::Squares(side) | Marks::Cells(side, _) => side / 2 + 2,
            }
            .max(3);
            for (nodes, color) in [(hot, HOT_RING), (cold, COLD_RING)] {
                for &v in nodes {
                    let (x, y) = self.layout.px[v as usize];
                    plot.draw(&Circle::new(
                        (x + shift.0, y + shift.1),
                        r,
                        color.stroke_width(2),
                    ))?;
                }
            }
        }
        let (_, bh) = bar.dim_in_pixel();
        let top = PAD as i32 + 30;
        let bottom = (bh as i32 - PAD as i32).max(top + 60);
        draw_colorbar(&bar, self.scale, top, bottom, "viridis, min to max")
    }
}
