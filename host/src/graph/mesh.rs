//! Mesh readers: OBJ (crate `tobj`), PLY (crate `ply-rs-bw`, ascii and binary) and OFF
//! (hand-written). The graph of a mesh has the vertices as nodes (coordinates kept) and an edge,
//! weight 1, for every side of every face (polygon sides, including the closing one; a 2-vertex
//! face or OBJ `l` line is one edge). A side shared by several faces is one edge; a degenerate side
//! (a face repeating a vertex) is skipped with a warning.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read as IoRead};
use std::path::Path;

use nrg_core::graph::Edge;
use ply_rs_bw::parser::Parser;
use ply_rs_bw::ply::{DefaultElement, Encoding, Property};

use super::graph::{Duplicates, Graph};
use super::read::{Read, ReadError, ReadErrorKind, parse_f64, parse_u64, read_text, stem};

/// Collects the sides of faces as edges, counting degenerate ones.
#[derive(Default)]
struct Sides {
    edges: Vec<Edge>,
    degenerate: usize,
}

impl Sides {
    /// Adds the sides of one face given by its vertex indices.
    fn face(&mut self, verts: &[u32]) {
        match verts {
            [] | [_] => {}
            [a, b] => self.side(*a, *b),
            _ => {
                for (k, &a) in verts.iter().enumerate() {
                    let b = verts[(k + 1) % verts.len()];
                    self.side(a, b);
                }
            }
        }
    }

    /// Adds one side.
    fn side(&mut self, a: u32, b: u32) {
        if a == b {
            self.degenerate += 1;
        } else {
            self.edges.push((a.min(b), a.max(b), 1.0));
        }
    }

    /// Builds the graph with coordinates, plus the warnings.
    fn finish(self, path: &Path, coords: Vec<[f64; 3]>) -> Result<Read, ReadError> {
        let mut warnings = Vec::new();
        if self.degenerate > 0 {
            warnings.push(format!(
                "{}: skipped {} degenerate face side(s) joining a vertex to itself",
                path.display(),
                self.degenerate
            ));
        }
        if self.edges.is_empty() {
            let vertices = if coords.is_empty() {
                count_obj_vertices(path)
            } else {
                coords.len()
            };
            return Err(ReadError::file(
                path,
                ReadErrorKind::Graph,
                format!(
                    "no faces join its {vertices} vertices: nrg makes a mesh's graph from face \
                     edges; add faces, or write the vertices as a .xyz file and use \
                     knn:FILE.xyz:K"
                ),
            ));
        }
        let graph =
            Graph::from_edges_with(coords.len(), self.edges, stem(path), Duplicates::KeepFirst)
                .and_then(|g| g.with_coords(coords))
                .map_err(|e| ReadError::build(path, e))?;
        Ok(Read { graph, warnings })
    }
}

/// Vertex (`v x y z`) lines of an OBJ file, for messages about a file without faces (whose
/// vertices the OBJ loader drops).
fn count_obj_vertices(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|t| {
            t.lines()
                .filter(|l| l.trim_start().starts_with("v "))
                .count()
        })
        .unwrap_or(0)
}

/// A `BufRead` that counts the lines handed out, so a `tobj` error can be placed on a line.
struct LineCounter<R> {
    inner: R,
    lines: usize,
}

impl<R: BufRead> IoRead for LineCounter<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.inner.read(buf)
    }
}

impl<R: BufRead> BufRead for LineCounter<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt);
    }
    fn read_line(&mut self, buf: &mut String) -> std::io::Result<usize> {
        let n = self.inner.read_line(buf)?;
        if n > 0 {
            self.lines += 1;
        }
        Ok(n)
    }
}

/// Finds the first OBJ face/line statement naming a vertex that does not exist.
fn obj_bad_face_line(path: &Path) -> Option<(usize, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let total = text
        .lines()
        .filter(|l| l.split_whitespace().next() == Some("v"))
        .count() as i64;
    let mut seen = 0i64;
    for (i, l) in text.lines().enumerate() {
        let mut words = l.split_whitespace();
        match words.next() {
            Some("v") => seen += 1,
            Some("f") | Some("l") => {
                for w in words {
                    let v = w.split('/').next().unwrap_or("");
                    let Ok(x) = v.parse::<i64>() else { continue };
                    let ok = if x > 0 {
                        x <= total
                    } else {
                        x < 0 && -x <= seen
                    };
                    if !ok {
                        return Some((
                            i + 1,
                            format!("face names vertex {x} but the file has {total} vertices"),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    None
}

/// Reads a Wavefront OBJ mesh with `tobj` (faces and `l` lines; materials ignored).
///
/// Node numbering is `tobj`'s: vertices in order of first use by a face, per object; vertices no
/// face uses are left out. When the file has several objects/groups (`o`/`g`/`usemtl` split it),
/// vertices with bit-identical positions in different parts are identified, so a mesh split into
/// groups stays connected. Parse errors are placed on their line; `tobj` reports no column.
pub fn read_obj(path: &Path) -> Result<Read, ReadError> {
    let file = File::open(path)
        .map_err(|e| ReadError::file(path, ReadErrorKind::Io, format!("cannot open: {e}")))?;
    let mut reader = LineCounter {
        inner: BufReader::new(file),
        lines: 0,
    };
    // The struct update covers fields that optional tobj features add.
    #[allow(clippy::needless_update)]
    let opts = tobj::LoadOptions {
        single_index: false,
        triangulate: false,
        ignore_points: true,
        ignore_lines: false,
        ..Default::default()
    };
    // Materials are irrelevant to the graph: never load .mtl files.
    let loaded = tobj::load_obj_buf(&mut reader, &opts, |_| Ok((Vec::new(), Default::default())));
    let models = match loaded {
        Ok((models, _)) => models,
        Err(tobj::LoadError::FaceVertexOutOfBounds) => {
            return Err(match obj_bad_face_line(path) {
                Some((line, msg)) => ReadError::at(path, line, ReadErrorKind::OutOfRange, msg),
                None => ReadError::file(
                    path,
                    ReadErrorKind::OutOfRange,
                    "a face names a vertex that does not exist",
                ),
            });
        }
        Err(e) => {
            let kind = match e {
                tobj::LoadError::ReadError | tobj::LoadError::OpenFileFailed => ReadErrorKind::Io,
                tobj::LoadError::PositionParseError
                | tobj::LoadError::NormalParseError
                | tobj::LoadError::TexcoordParseError
                | tobj::LoadError::ColorParseError
                | tobj::LoadError::ScalingByZeroError => ReadErrorKind::Number,
                _ => ReadErrorKind::Format,
            };
            return Err(ReadError::at(
                path,
                reader.lines.max(1),
                kind,
                format!("OBJ: {e}"),
            ));
        }
    };
    let multi = models.len() > 1;
    let mut coords: Vec<[f64; 3]> = Vec::new();
    // Position bits -> (node, model) for identifying vertices shared between parts.
    let mut by_pos: HashMap<[u32; 3], (u32, usize)> = HashMap::new();
    let mut sides = Sides::default();
    for (m, model) in models.iter().enumerate() {
        let mesh = &model.mesh;
        let mut local: Vec<u32> = Vec::with_capacity(mesh.positions.len() / 3);
        for p in mesh.positions.chunks_exact(3) {
            let key = [p[0].to_bits(), p[1].to_bits(), p[2].to_bits()];
            let node = match by_pos.get(&key) {
                Some(&(node, owner)) if multi && owner != m => node,
                _ => {
                    let node = coords.len() as u32;
                    coords.push([f64::from(p[0]), f64::from(p[1]), f64::from(p[2])]);
                    by_pos.entry(key).or_insert((node, m));
                    node
                }
            };
            local.push(node);
        }
        let map = |i: &u32| local.get(*i as usize).copied();
        let mut start = 0usize;
        let arities: Vec<usize> = if mesh.face_arities.is_empty() {
            vec![3; mesh.indices.len() / 3]
        } else {
            mesh.face_arities.iter().map(|&a| a as usize).collect()
        };
        for a in arities {
            let Some(idx) = mesh.indices.get(start..start + a) else {
                return Err(ReadError::file(
                    path,
                    ReadErrorKind::Format,
                    "OBJ: face list shorter than its arities (tobj output inconsistent)",
                ));
            };
            let verts: Option<Vec<u32>> = idx.iter().map(map).collect();
            match verts {
                Some(v) => sides.face(&v),
                None => {
                    return Err(ReadError::file(
                        path,
                        ReadErrorKind::OutOfRange,
                        "OBJ: a face index is out of range",
                    ));
                }
            }
            start += a;
        }
    }
    sides.finish(path, coords)
}

/// Reads a scalar PLY property as `f64`.
fn scalar(p: &Property) -> Option<f64> {
    Some(match p {
        Property::Char(v) => f64::from(*v),
        Property::UChar(v) => f64::from(*v),
        Property::Short(v) => f64::from(*v),
        Property::UShort(v) => f64::from(*v),
        Property::Int(v) => f64::from(*v),
        Property::UInt(v) => f64::from(*v),
        Property::Float(v) => f64::from(*v),
        Property::Double(v) => *v,
        _ => return None,
    })
}

/// Reads an integer-list PLY property as `i64`s.
fn int_list(p: &Property) -> Option<Vec<i64>> {
    Some(match p {
        Property::ListChar(v) => v.iter().map(|&x| i64::from(x)).collect(),
        Property::ListUChar(v) => v.iter().map(|&x| i64::from(x)).collect(),
        Property::ListShort(v) => v.iter().map(|&x| i64::from(x)).collect(),
        Property::ListUShort(v) => v.iter().map(|&x| i64::from(x)).collect(),
        Property::ListInt(v) => v.iter().map(|&x| i64::from(x)).collect(),
        Property::ListUInt(v) => v.iter().map(|&x| i64::from(x)).collect(),
        _ => return None,
    })
}

/// Number of header lines (through `end_header`) of a PLY file, for placing ascii elements.
fn ply_header_lines(path: &Path) -> Option<usize> {
    let mut head = Vec::new();
    File::open(path)
        .ok()?
        .take(1 << 20)
        .read_to_end(&mut head)
        .ok()?;
    let mut lines = 0usize;
    for l in head.split(|&b| b == b'\n') {
        lines += 1;
        if l.trim_ascii() == b"end_header" {
            return Some(lines);
        }
    }
    None
}

/// Reads a PLY mesh (ascii or binary) with `ply-rs-bw`: element `vertex` (`x`, `y`, optional `z`)
/// and element `face` (list `vertex_indices` or `vertex_index`, 0-based) and/or element `edge`
/// (`vertex1`, `vertex2`). Errors in ascii files name their line.
pub fn read_ply(path: &Path) -> Result<Read, ReadError> {
    let mut file = File::open(path)
        .map_err(|e| ReadError::file(path, ReadErrorKind::Io, format!("cannot open: {e}")))?;
    let parser = Parser::<DefaultElement>::new();
    let ply = parser.read_ply(&mut file).map_err(|e| {
        let msg = format!("PLY: {e}");
        match e.line() {
            Some(l) => ReadError::at(path, l, ReadErrorKind::Format, msg),
            None => ReadError::file(path, ReadErrorKind::Format, msg),
        }
    })?;
    // Line of element `k` of element type `name` (ascii only).
    let header_lines = match ply.header.encoding {
        Encoding::Ascii => ply_header_lines(path),
        _ => None,
    };
    let line_of = |name: &str, k: usize| -> Option<usize> {
        let mut line = header_lines?;
        for (el_name, def) in &ply.header.elements {
            if el_name == name {
                return Some(line + k + 1);
            }
            line += def.count;
        }
        None
    };
    let err = |name: &str, k: usize, kind: ReadErrorKind, msg: String| match line_of(name, k) {
        Some(l) => ReadError::at(path, l, kind, msg),
        None => ReadError::file(path, kind, format!("{name} #{k}: {msg}")),
    };
    let Some(vertices) = ply.payload.get("vertex") else {
        return Err(ReadError::file(
            path,
            ReadErrorKind::Header,
            "PLY: no `vertex` element in the header",
        ));
    };
    let mut coords = Vec::with_capacity(vertices.len());
    for (k, v) in vertices.iter().enumerate() {
        let mut p = [0.0f64; 3];
        for (slot, name) in p.iter_mut().zip(["x", "y", "z"]) {
            match v.get(name).map(scalar) {
                Some(Some(x)) if x.is_finite() => *slot = x,
                Some(_) => {
                    return Err(err(
                        "vertex",
                        k,
                        ReadErrorKind::Number,
                        format!("vertex property `{name}` must be a finite scalar"),
                    ));
                }
                None if name == "z" => {}
                None => {
                    return Err(err(
                        "vertex",
                        k,
                        ReadErrorKind::Header,
                        format!("vertex has no `{name}` property"),
                    ));
                }
            }
        }
        coords.push(p);
    }
    let n = coords.len() as i64;
    let check = |name: &str, k: usize, x: i64| -> Result<u32, ReadError> {
        if (0..n).contains(&x) {
            Ok(x as u32)
        } else {
            Err(err(
                name,
                k,
                ReadErrorKind::OutOfRange,
                format!("vertex index {x} is out of range 0..{n}"),
            ))
        }
    };
    let mut sides = Sides::default();
    if let Some(faces) = ply.payload.get("face") {
        for (k, f) in faces.iter().enumerate() {
            let list = f
                .get("vertex_indices")
                .or_else(|| f.get("vertex_index"))
                .and_then(int_list);
            let Some(list) = list else {
                return Err(err(
                    "face",
                    k,
                    ReadErrorKind::Header,
                    "face has no integer list `vertex_indices` (or `vertex_index`)".into(),
                ));
            };
            let verts = list
                .iter()
                .map(|&x| check("face", k, x))
                .collect::<Result<Vec<u32>, _>>()?;
            sides.face(&verts);
        }
    }
    if let Some(edges) = ply.payload.get("edge") {
        for (k, e) in edges.iter().enumerate() {
            let ends = (
                e.get("vertex1").and_then(scalar),
                e.get("vertex2").and_then(scalar),
            );
            let (Some(a), Some(b)) = ends else {
                return Err(err(
                    "edge",
                    k,
                    ReadErrorKind::Header,
                    "edge needs scalar `vertex1` and `vertex2`".into(),
                ));
            };
            let a = check("edge", k, a as i64)?;
            let b = check("edge", k, b as i64)?;
            sides.face(&[a, b]);
        }
    }
    sides.finish(path, coords)
}

/// Reads an OFF mesh (hand-written): an `OFF` keyword line (`COFF`, `NOFF`, `CNOFF`, `STOFF` also
/// accepted; the counts may follow on the same line), `nv nf [ne]`, then `nv` vertex lines
/// (`x y z`, extra columns ignored) and `nf` face lines (`k i1 … ik`, 0-based, extra columns such
/// as colours ignored). `#` starts a comment anywhere.
pub fn read_off(path: &Path) -> Result<Read, ReadError> {
    let text = read_text(path)?;
    let mut lines = text.lines().enumerate().filter_map(|(i, l)| {
        let body = l.split('#').next().unwrap_or("").trim();
        (!body.is_empty()).then_some((i + 1, body))
    });
    let total_lines = text.lines().count().max(1);
    let truncated = |what: String| {
        ReadError::at(
            path,
            total_lines,
            ReadErrorKind::Truncated,
            format!("the file ends {what}"),
        )
    };
    let Some((hline, head)) = lines.next() else {
        return Err(truncated("before the `OFF` header".into()));
    };
    let mut toks: Vec<&str> = head.split_whitespace().collect();
    let keyword = toks.first().copied().unwrap_or("");
    if !matches!(keyword, "OFF" | "COFF" | "NOFF" | "CNOFF" | "STOFF") {
        return Err(ReadError::at(
            path,
            hline,
            ReadErrorKind::Header,
            format!("expected the `OFF` keyword, found `{keyword}`"),
        ));
    }
    if toks.get(1) == Some(&"BINARY") {
        return Err(ReadError::at(
            path,
            hline,
            ReadErrorKind::Format,
            "binary OFF is not supported: expected ascii OFF",
        ));
    }
    toks.remove(0);
    let mut cline = hline;
    if toks.is_empty() {
        let Some((l, body)) = lines.next() else {
            return Err(truncated("before the counts line `nv nf ne`".into()));
        };
        cline = l;
        toks = body.split_whitespace().collect();
    }
    if !(toks.len() == 2 || toks.len() == 3) {
        return Err(ReadError::at(
            path,
            cline,
            ReadErrorKind::Header,
            format!(
                "expected the counts `nv nf [ne]`, found {} fields",
                toks.len()
            ),
        ));
    }
    let nv = parse_u64(path, cline, toks[0], "vertex count")?;
    let nf = parse_u64(path, cline, toks[1], "face count")?;
    if nv > u64::from(u32::MAX) {
        return Err(ReadError::at(
            path,
            cline,
            ReadErrorKind::Header,
            format!("{nv} vertices is more than u32 indices can address"),
        ));
    }
    let mut coords = Vec::with_capacity(nv.min(1 << 24) as usize);
    for k in 0..nv {
        let Some((line, body)) = lines.next() else {
            return Err(truncated(format!(
                "after {k} of the {nv} vertices the header announced"
            )));
        };
        let t: Vec<&str> = body.split_whitespace().collect();
        if t.len() < 3 {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                format!("expected a vertex `x y z`, found {} fields", t.len()),
            ));
        }
        coords.push([
            parse_f64(path, line, t[0], "x coordinate")?,
            parse_f64(path, line, t[1], "y coordinate")?,
            parse_f64(path, line, t[2], "z coordinate")?,
        ]);
    }
    let mut sides = Sides::default();
    let mut verts: Vec<u32> = Vec::new();
    for k in 0..nf {
        let Some((line, body)) = lines.next() else {
            return Err(truncated(format!(
                "after {k} of the {nf} faces the header announced"
            )));
        };
        let t: Vec<&str> = body.split_whitespace().collect();
        let count = parse_u64(path, line, t.first().copied().unwrap_or(""), "face size")?;
        if count >= t.len() as u64 {
            return Err(ReadError::at(
                path,
                line,
                ReadErrorKind::Format,
                format!(
                    "the face declares {count} vertices but lists {}",
                    t.len() - 1
                ),
            ));
        }
        verts.clear();
        for tok in t.iter().skip(1).take(count as usize) {
            let x = parse_u64(path, line, tok, "vertex index")?;
            if x >= nv {
                return Err(ReadError::at(
                    path,
                    line,
                    ReadErrorKind::OutOfRange,
                    format!("vertex index {x} is out of range 0..{nv} (OFF indices are 0-based)"),
                ));
            }
            verts.push(x as u32);
        }
        sides.face(&verts);
    }
    sides.finish(path, coords)
}
