//! IDX files (the MNIST format): a big-endian header — two zero bytes, a type byte (only
//! `0x08`, unsigned bytes, is accepted: MNIST's), the number of dimensions — then one u32 size
//! per dimension and the data. Gzip-compressed files (detected by their magic bytes, whatever
//! their name) are inflated with `flate2`. Every error names the file and what is wrong.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// An IDX array of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Idx {
    /// Sizes of the dimensions.
    pub dims: Vec<usize>,
    /// The data, row-major.
    pub data: Vec<u8>,
}

/// Parses IDX bytes; `name` is used in errors.
pub fn parse_idx(bytes: &[u8], name: &str) -> Result<Idx> {
    if bytes.len() < 4 {
        bail!(
            "{name}: {} bytes is too short for an IDX header (4-byte magic number)",
            bytes.len()
        );
    }
    let magic = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || bytes[3] == 0 {
        bail!(
            "{name}: wrong magic number 0x{magic:08x}: not an unsigned-byte IDX file (expected \
             0x00000801 for labels or 0x00000803 for images)"
        );
    }
    let ndim = bytes[3] as usize;
    let header = 4 + 4 * ndim;
    if bytes.len() < header {
        bail!(
            "{name}: truncated header: {ndim} dimensions need {header} header bytes, the file has {}",
            bytes.len()
        );
    }
    let dims: Vec<usize> = (0..ndim)
        .map(|k| {
            let o = 4 + 4 * k;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .with_context(|| format!("{name}: dimensions {dims:?} overflow"))?;
    let found = bytes.len() - header;
    if found < expected {
        bail!(
            "{name}: truncated data: the header ({dims:?}) promises {expected} bytes, the file has {found}"
        );
    }
    if found > expected {
        bail!(
            "{name}: {} bytes after the {expected} bytes the header ({dims:?}) describes",
            found - expected
        );
    }
    Ok(Idx {
        dims,
        data: bytes[header..].to_vec(),
    })
}

/// Reads an IDX file, inflating it first when it is gzip-compressed.
pub fn read_idx(path: &Path) -> Result<Idx> {
    let raw = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .with_context(|| format!("{}: not a valid gzip stream", path.display()))?;
        out
    } else {
        raw
    };
    parse_idx(&bytes, &path.display().to_string())
}

/// Images `[count, rows, cols]` from an IDX3 file.
pub fn read_images(path: &Path) -> Result<Idx> {
    let idx = read_idx(path)?;
    if idx.dims.len() != 3 {
        bail!(
            "{}: an image file has 3 dimensions (count, rows, cols), this one has {} ({:?})",
            path.display(),
            idx.dims.len(),
            idx.dims
        );
    }
    Ok(idx)
}

/// Labels `[count]` from an IDX1 file.
pub fn read_labels(path: &Path) -> Result<Idx> {
    let idx = read_idx(path)?;
    if idx.dims.len() != 1 {
        bail!(
            "{}: a label file has 1 dimension, this one has {} ({:?})",
            path.display(),
            idx.dims.len(),
            idx.dims
        );
    }
    Ok(idx)
}

/// One split: images as `x = byte / 255`, row-major `count × pixels`, and labels.
#[derive(Debug, Clone)]
pub struct Split {
    /// Features, `count × pixels`.
    pub x: Vec<f32>,
    /// Labels.
    pub y: Vec<u8>,
    /// Images.
    pub count: usize,
}

/// A train/test data set of `rows × cols` images.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Training split.
    pub train: Split,
    /// Test split.
    pub test: Split,
    /// Pixels per image.
    pub pixels: usize,
    /// Image height.
    pub rows: usize,
    /// Image width.
    pub cols: usize,
    /// Number of classes (largest training label + 1).
    pub classes: usize,
}

/// `dir/<stem>` with the MNIST (`train-images-idx3-ubyte`) or dotted
/// (`train-images.idx3-ubyte`) spelling, optionally `.gz`.
fn find(dir: &Path, stem: &str, kind: &str) -> Result<PathBuf> {
    let dotted = stem.replacen("-idx", ".idx", 1);
    let candidates = [
        stem.to_string(),
        format!("{stem}.gz"),
        dotted.clone(),
        format!("{dotted}.gz"),
    ];
    for c in &candidates {
        let p = dir.join(c);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!(
        "{}: no {kind} file ({} or {}, optionally .gz)",
        dir.display(),
        stem,
        dotted
    )
}

fn split(dir: &Path, prefix: &str) -> Result<(Split, usize, usize, PathBuf)> {
    let ip = find(dir, &format!("{prefix}-images-idx3-ubyte"), "image")?;
    let lp = find(dir, &format!("{prefix}-labels-idx1-ubyte"), "label")?;
    let images = read_images(&ip)?;
    let labels = read_labels(&lp)?;
    let (count, rows, cols) = (images.dims[0], images.dims[1], images.dims[2]);
    if labels.dims[0] != count {
        bail!(
            "{} has {count} images but {} has {} labels",
            ip.display(),
            lp.display(),
            labels.dims[0]
        );
    }
    let x = images.data.iter().map(|&b| b as f32 / 255.0).collect();
    Ok((
        Split {
            x,
            y: labels.data,
            count,
        },
        rows,
        cols,
        lp,
    ))
}

impl Dataset {
    /// Loads `train-*` and `t10k-*` images and labels from `dir`.
    pub fn load(dir: &Path) -> Result<Dataset> {
        let (train, rows, cols, _) = split(dir, "train")?;
        let (test, trows, tcols, test_labels) = split(dir, "t10k")?;
        if (rows, cols) != (trows, tcols) {
            bail!(
                "{}: training images are {rows}×{cols} but test images are {trows}×{tcols}",
                dir.display()
            );
        }
        if train.count == 0 {
            bail!("{}: the training set is empty", dir.display());
        }
        let classes = train.y.iter().copied().max().unwrap_or(0) as usize + 1;
        if let Some(bad) = test.y.iter().find(|&&l| l as usize >= classes) {
            bail!(
                "{}: test label {bad} is not among the {classes} training classes",
                test_labels.display()
            );
        }
        Ok(Dataset {
            train,
            test,
            pixels: rows * cols,
            rows,
            cols,
            classes,
        })
    }
}
