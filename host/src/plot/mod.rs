//! Figures: energy against wall time, ρ against step, the final state drawn on the graph, and
//! a mosaic of states on one graph (a phase diagram).
//!
//! Every figure is written twice, `<stem>.png` and `<stem>.svg`. Both are rendered to hidden
//! temporary files in the destination directory and renamed into place only once both have
//! been written, so an error leaves no partial figure behind. Text uses the DejaVu Sans font
//! embedded by the `dejavu` crate (registered once with plotters' `ab_glyph` backend), so no
//! system font or fontconfig is needed.

mod draw_graph;
mod energy;
mod grid;
mod render;

pub(crate) use render::ensure_font;
mod rho;
mod state;
mod style;

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::graph::Graph;
use crate::run::CurvePoint;
use energy::EnergyFigure;
use grid::GridFigure;
use render::render;
use rho::RhoFigure;
use state::StateFigure;

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
pub(super) const MAX_POINTS: usize = 2000;
/// Edges are drawn only for graphs with fewer edges than this.
pub(super) const MAX_DRAWN_EDGES: usize = 20_000;
/// Relative floor of `E − min E` when no reference is known.
pub(super) const GAP_FLOOR: f64 = 1e-12;
/// The only font family used (and registered).
pub(super) const FONT: &str = "sans-serif";

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/// Energy against wall time on log–log axes, one colour per label, with a dot where each NR
/// series hands over to direct Adam (the seed paper's Figures 2 and 4b).
///
/// With `reference` the y axis is the relative gap `(E − ref)/|ref|` (the absolute gap when
/// `ref` is 0); points at or below the reference (a gap of 0 has no place on a log axis) break the
/// line and are counted in the axis label. Without it the energy itself is drawn when every energy
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

/// A heat state drawn as [`state_on_graph`] does, with the bath nodes ringed (hot red, cold
/// blue) and named in the note under the picture.
///
/// Fails as [`state_on_graph`] does, or when a bath node is not a node of the graph.
pub fn heat_state_on_graph(
    graph: &Graph,
    w: &[f32],
    hot: &[u32],
    cold: &[u32],
    title: &str,
    out_stem: &Path,
) -> Result<Vec<PathBuf>> {
    let fig = StateFigure::new(graph, w, false, title)?.with_baths(hot, cold)?;
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
