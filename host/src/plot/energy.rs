//! The energy (or gap) against wall time (or step) figure.

use anyhow::{Result, anyhow, bail};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::render::*;
use super::style::*;
use super::*;

pub(super) struct EnergyFigure {
    pub(super) title: String,
    pub(super) x_desc: &'static str,
    pub(super) y_desc: String,
    pub(super) drawn: Vec<Drawn>,
    pub(super) legend: Vec<LegendEntry>,
    pub(super) x_range: (f64, f64),
    pub(super) y_range: (f64, f64),
}

impl EnergyFigure {
    /// The figure against wall time, or against the step with `by_step` (step `k` at `k + 1`,
    /// the log axis's left end).
    pub(super) fn new(
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
        // A gap of 0 (or below: E_min rounded in f32) has no place on a log axis: such points
        // break the line instead of being clamped to a floor and drawn as a jump.
        let not_above = reference.map_or(0, |r| finite().filter(|p| p.energy <= r).count());
        let left_out = if not_above > 0 {
            format!(" — {not_above} points at E_min not drawn")
        } else {
            String::new()
        };
        let positive = |g: f64| if g > 0.0 { g } else { f64::NAN };
        let (y_desc, transform): (String, Box<dyn Fn(f64) -> f64>) = match reference {
            Some(r) if r != 0.0 => (
                format!("relative gap to E_min, (E − E_min)/|E_min|{left_out}"),
                Box::new(move |e: f64| positive((e - r) / r.abs())),
            ),
            Some(r) => (
                format!("gap to E_min = 0, E − E_min{left_out}"),
                Box::new(move |e: f64| positive(e - r)),
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
        if extent(&drawn).is_none() && reference.is_some() {
            // Every point sits at the reference: draw the energies themselves.
            return EnergyFigure::new(series, None, title, by_step);
        }
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
