//! Rendering a figure to `<stem>.png` and `<stem>.svg` through temporary files, with the embedded font.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::*;

/// A figure that can draw itself on any plotters backend.
pub(super) trait Figure {
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
pub(super) fn with_ext(stem: &Path, ext: &str) -> PathBuf {
    let mut s: OsString = stem.as_os_str().to_owned();
    s.push(".");
    s.push(ext);
    PathBuf::from(s)
}

/// A hidden, unique sibling of `path` ending in `.ext` (the bitmap encoder picks the format
/// from the extension).
pub(super) fn temp_sibling(path: &Path, ext: &str) -> Result<PathBuf> {
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
pub(super) fn render(fig: &impl Figure, out_stem: &Path) -> Result<Vec<PathBuf>> {
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
