//! The order parameter ρ against step figure.

use anyhow::{Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::render::*;
use super::style::*;
use super::*;

pub(super) struct RhoFigure {
    pub(super) title: String,
    pub(super) drawn: Vec<Drawn>,
    pub(super) legend: Vec<LegendEntry>,
    pub(super) x_range: (f64, f64),
}

impl RhoFigure {
    pub(super) fn new(series: &[Series<'_>], title: &str) -> Result<Self> {
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
