//! Raw signed-distance volumes from NumPy `.npy` files.
//!
//! The header is parsed here rather than by npyz: its reader allocates a
//! header buffer of whatever length the file claims (up to 4 GiB) before
//! looking at it, and multiplies the shape out unchecked (a panic in debug
//! builds, a wrapped count in release ones) before the caller can see it.
//! An `.npy` header is a short Python dict literal of three keys, which a
//! small strict parser reads with precise errors; the shape is then checked
//! against [`MAX_VOLUME_VALUES`] and the file's length before anything the
//! size of the data is allocated, and the data is converted as it streams in.

use crate::Error;
use std::io::Read;
use std::path::Path;

/// A D×H×W float volume read from a NumPy `.npy` file: value (z, y, x) at
/// `data[(z·H + y)·W + x]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Volume {
    /// `[W, H, D]` = `[nx, ny, nz]`: x varies fastest in `data`.
    pub dims: [usize; 3],
    pub data: Vec<f32>,
}

/// The most values a volume may hold (4 GiB of `f32`).
pub const MAX_VOLUME_VALUES: u64 = 1 << 30;

/// Numpy itself refuses longer headers unless told otherwise.
const MAX_HEADER_BYTES: usize = 1 << 16;

/// Reads a 3-D array of shape (D, H, W) from an `.npy` file.
///
/// Accepts dtypes `float32` and `float64` (converted to `f32`), either
/// byte order (`<f4`, `>f4`, `<f8`, `>f8`). C order is read as is;
/// Fortran order is transposed into C order, which holds the volume twice
/// for a moment. Every dimension must be at least 2.
///
/// Fails with [`Error::Input`] for a file that is not an `.npy` file, has
/// another dtype or number of dimensions, or does not hold exactly the bytes
/// its header promises; with [`Error::LimitsExceeded`] when it holds more
/// than [`MAX_VOLUME_VALUES`] values (checked before allocating); and with
/// [`Error::Io`] when reading fails.
pub fn read_npy_volume(path: &Path) -> Result<Volume, Error> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let file_len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    let mut r = std::io::BufReader::new(file);
    let bad = |m: String| Error::Input(format!("{}: {m}", path.display()));

    let header = read_header(&mut r).map_err(|e| match e {
        HeaderError::Io(e) => Error::io(path, e),
        HeaderError::Bad(m) => bad(m),
    })?;
    let Header {
        descr,
        fortran_order,
        shape,
        header_len,
    } = header;

    let (item_size, big_endian) = match descr.as_str() {
        "<f4" => (4, false),
        ">f4" => (4, true),
        "<f8" => (8, false),
        ">f8" => (8, true),
        _ => {
            return Err(bad(format!(
                "unsupported dtype '{descr}'; expected float32 or float64 ('<f4', '>f4', '<f8' or '>f8')"
            )));
        }
    };
    let shape_text = shape
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    if shape.len() != 3 {
        return Err(bad(format!(
            "expected a 3-D array (D, H, W), got shape ({shape_text})"
        )));
    }
    if shape.iter().any(|&n| n < 2) {
        return Err(bad(format!(
            "every dimension must be at least 2, got shape ({shape_text})"
        )));
    }
    let count = shape
        .iter()
        .try_fold(1u64, |acc, &n| acc.checked_mul(n))
        .filter(|&n| n <= MAX_VOLUME_VALUES);
    let Some(count) = count else {
        let values = shape
            .iter()
            .try_fold(1u64, |acc, &n| acc.checked_mul(n))
            .unwrap_or(u64::MAX);
        return Err(Error::limit(
            crate::Limit::Input,
            format!("{}'s values (shape ({shape_text}))", path.display()),
            values,
            MAX_VOLUME_VALUES,
        ));
    };
    let data_len = count * item_size as u64;
    let expected = header_len + data_len;
    if file_len != expected {
        let what = if file_len < expected {
            "truncated"
        } else {
            "trailing bytes"
        };
        return Err(bad(format!(
            "{what}: the header promises {data_len} data bytes after {header_len} header bytes, \
             but the file holds {file_len} bytes in all"
        )));
    }

    let [d, h, w] = [shape[0] as usize, shape[1] as usize, shape[2] as usize];
    let mut data = Vec::with_capacity(count as usize);
    let mut chunk = vec![0u8; data_len.min(1 << 20) as usize];
    let mut left = data_len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        let bytes = &mut chunk[..n];
        r.read_exact(bytes).map_err(|e| match e.kind() {
            // The file shrank after its length was checked.
            std::io::ErrorKind::UnexpectedEof => bad("truncated data".to_string()),
            _ => Error::io(path, e),
        })?;
        if item_size == 4 {
            data.extend(bytes.chunks_exact(4).map(|b| {
                let b = [b[0], b[1], b[2], b[3]];
                if big_endian {
                    f32::from_be_bytes(b)
                } else {
                    f32::from_le_bytes(b)
                }
            }));
        } else {
            data.extend(bytes.chunks_exact(8).map(|b| {
                let b = [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]];
                (if big_endian {
                    f64::from_be_bytes(b)
                } else {
                    f64::from_le_bytes(b)
                }) as f32
            }));
        }
        left -= n as u64;
    }
    if fortran_order {
        data = fortran_to_c(&data, [d, h, w]);
    }
    Ok(Volume {
        dims: [w, h, d],
        data,
    })
}

/// Reorders a Fortran-order (D, H, W) array, where (z, y, x) lies at
/// `(x·H + y)·D + z`, into C order.
fn fortran_to_c(src: &[f32], [d, h, w]: [usize; 3]) -> Vec<f32> {
    // z is contiguous in `src` and x in the output: tiles of both keep the
    // reads and the writes in cache lines.
    const TILE: usize = 32;
    let mut out = vec![0.0; src.len()];
    for y in 0..h {
        for z0 in (0..d).step_by(TILE) {
            for x0 in (0..w).step_by(TILE) {
                for x in x0..(x0 + TILE).min(w) {
                    let z1 = (z0 + TILE).min(d);
                    let column = &src[(x * h + y) * d + z0..(x * h + y) * d + z1];
                    for (z, &v) in (z0..z1).zip(column) {
                        out[(z * h + y) * w + x] = v;
                    }
                }
            }
        }
    }
    out
}

/// What an `.npy` header says.
#[derive(Debug, PartialEq)]
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<u64>,
    /// Bytes before the data: magic, version, length field and dict.
    header_len: u64,
}

enum HeaderError {
    Io(std::io::Error),
    Bad(String),
}

impl From<std::io::Error> for HeaderError {
    fn from(e: std::io::Error) -> Self {
        match e.kind() {
            std::io::ErrorKind::UnexpectedEof => {
                HeaderError::Bad("truncated header; not a NumPy .npy file".into())
            }
            _ => HeaderError::Io(e),
        }
    }
}

/// Reads the magic string, version and header dict, leaving `r` at the
/// start of the data.
fn read_header(r: &mut impl Read) -> Result<Header, HeaderError> {
    let bad = |m: &str| HeaderError::Bad(m.to_string());
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => bad("not a NumPy .npy file (too short)"),
        _ => HeaderError::Io(e),
    })?;
    if &magic[..6] != b"\x93NUMPY" {
        return Err(bad("not a NumPy .npy file (bad magic)"));
    }
    let (len, prefix) = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b)?;
            (u16::from_le_bytes(b) as usize, 10)
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b)?;
            (u32::from_le_bytes(b) as usize, 12)
        }
        v => {
            return Err(HeaderError::Bad(format!(
                "unsupported .npy format version {v}.{}",
                magic[7]
            )));
        }
    };
    if len > MAX_HEADER_BYTES {
        return Err(HeaderError::Bad(format!(
            "the .npy header claims {len} bytes, more than the {MAX_HEADER_BYTES} allowed"
        )));
    }
    let mut text = vec![0u8; len];
    r.read_exact(&mut text)?;
    let text = std::str::from_utf8(&text).map_err(|_| bad("the .npy header is not text"))?;
    let (descr, fortran_order, shape) = parse_dict(text).map_err(HeaderError::Bad)?;
    Ok(Header {
        descr,
        fortran_order,
        shape,
        header_len: (prefix + len) as u64,
    })
}

/// A value in the header dict.
enum Value {
    Str(String),
    Bool(bool),
    Ints(Vec<u64>),
    /// Anything else (a list, as structured dtypes use): legal, not ours.
    Other(String),
}

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }`
/// with its keys in any order.
fn parse_dict(text: &str) -> Result<(String, bool, Vec<u64>), String> {
    let mut p = Cursor {
        s: text.as_bytes(),
        i: 0,
    };
    // One line, of bounded length, whatever the header holds.
    let shown: String = text
        .trim_end()
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let malformed = |what: &str| format!("malformed .npy header ({what}): {shown}");
    p.expect(b'{').map_err(|_| malformed("no dict"))?;
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    loop {
        if p.eat(b'}') {
            break;
        }
        let key = p.string().ok_or_else(|| malformed("bad key"))?;
        p.expect(b':').map_err(|_| malformed("no ':'"))?;
        let value = p.value().ok_or_else(|| malformed("bad value"))?;
        match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr = Some(s),
            ("descr", Value::Other(s)) => {
                return Err(format!(
                    "unsupported dtype {s}; expected float32 or float64"
                ));
            }
            ("fortran_order", Value::Bool(b)) => fortran = Some(b),
            ("shape", Value::Ints(v)) => shape = Some(v),
            ("descr" | "fortran_order" | "shape", _) => return Err(malformed(&key)),
            _ => {}
        }
        if !p.eat(b',') {
            p.expect(b'}').map_err(|_| malformed("no '}'"))?;
            break;
        }
    }
    p.skip_space();
    if p.i != p.s.len() {
        return Err(malformed("text after the dict"));
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        _ => Err(malformed("missing 'descr', 'fortran_order' or 'shape'")),
    }
}

/// A cursor over the header text.
struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn skip_space(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let found = self.peek() == Some(c);
        if found {
            self.i += 1;
        }
        found
    }

    fn expect(&mut self, c: u8) -> Result<(), ()> {
        if self.eat(c) { Ok(()) } else { Err(()) }
    }

    /// A quoted string without escapes (dtype strings and keys have none).
    fn string(&mut self) -> Option<String> {
        let quote = self.peek().filter(|&q| q == b'\'' || q == b'"')?;
        let start = self.i + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == quote || c == b'\\')?;
        if self.s[start + len] != quote {
            return None;
        }
        self.i = start + len + 1;
        String::from_utf8(self.s[start..start + len].to_vec()).ok()
    }

    fn value(&mut self) -> Option<Value> {
        match self.peek()? {
            b'\'' | b'"' => self.string().map(Value::Str),
            b'(' => {
                self.i += 1;
                let mut v = Vec::new();
                while !self.eat(b')') {
                    v.push(self.integer()?);
                    if !self.eat(b',') {
                        self.expect(b')').ok()?;
                        break;
                    }
                }
                Some(Value::Ints(v))
            }
            b'[' => {
                // Skips to the matching bracket, outside quotes.
                let start = self.i;
                let (mut depth, mut quote) = (0usize, None);
                while let Some(&c) = self.s.get(self.i) {
                    self.i += 1;
                    match (quote, c) {
                        (Some(q), c) if c == q => quote = None,
                        (Some(_), _) => {}
                        (None, b'\'' | b'"') => quote = Some(c),
                        (None, b'[' | b'(') => depth += 1,
                        (None, b']' | b')') => {
                            depth -= 1;
                            if depth == 0 {
                                let s = &self.s[start..self.i];
                                return Some(Value::Other(String::from_utf8_lossy(s).into()));
                            }
                        }
                        _ => {}
                    }
                }
                None
            }
            _ => {
                let rest = &self.s[self.i..];
                for (word, b) in [(&b"True"[..], true), (&b"False"[..], false)] {
                    if rest.starts_with(word) {
                        self.i += word.len();
                        return Some(Value::Bool(b));
                    }
                }
                None
            }
        }
    }

    /// A non-negative integer, with Python 2's optional `L` suffix.
    fn integer(&mut self) -> Option<u64> {
        self.skip_space();
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        let digits = std::str::from_utf8(&self.s[start..self.i]).ok()?;
        // A dimension beyond u64 is as over the limit as one just below it.
        let n = if digits.is_empty() {
            return None;
        } else {
            digits.parse::<u64>().unwrap_or(u64::MAX)
        };
        if self.s.get(self.i) == Some(&b'L') {
            self.i += 1;
        }
        Some(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `.npy` file: version 1 header (or 2 when `v2`), padded to 64 bytes.
    fn npy(dict: &str, data: &[u8], v2: bool) -> Vec<u8> {
        let prefix = if v2 { 12 } else { 10 };
        let mut text = dict.to_string();
        while !(prefix + text.len() + 1).is_multiple_of(64) {
            text.push(' ');
        }
        text.push('\n');
        let mut out = b"\x93NUMPY".to_vec();
        if v2 {
            out.extend([2, 0]);
            out.extend((text.len() as u32).to_le_bytes());
        } else {
            out.extend([1, 0]);
            out.extend((text.len() as u16).to_le_bytes());
        }
        out.extend(text.as_bytes());
        out.extend(data);
        out
    }

    fn dict(descr: &str, fortran: bool, shape: &str) -> String {
        let f = if fortran { "True" } else { "False" };
        format!("{{'descr': '{descr}', 'fortran_order': {f}, 'shape': {shape}, }}")
    }

    /// The test volume's value at (z, y, x).
    fn value(z: usize, y: usize, x: usize) -> f64 {
        z as f64 * 100.0 + y as f64 * 10.0 + x as f64 + 0.25
    }

    /// The values of a (D, H, W) volume in C or Fortran order.
    fn values([d, h, w]: [usize; 3], fortran: bool) -> Vec<f64> {
        let mut out = Vec::new();
        if fortran {
            for x in 0..w {
                for y in 0..h {
                    for z in 0..d {
                        out.push(value(z, y, x));
                    }
                }
            }
        } else {
            for z in 0..d {
                for y in 0..h {
                    for x in 0..w {
                        out.push(value(z, y, x));
                    }
                }
            }
        }
        out
    }

    fn read(bytes: &[u8]) -> Result<Volume, Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.npy");
        std::fs::write(&path, bytes).unwrap();
        read_npy_volume(&path)
    }

    fn check(volume: &Volume, [d, h, w]: [usize; 3]) {
        assert_eq!(volume.dims, [w, h, d]);
        assert_eq!(volume.data.len(), d * h * w);
        for z in 0..d {
            for y in 0..h {
                for x in 0..w {
                    assert_eq!(volume.data[(z * h + y) * w + x], value(z, y, x) as f32);
                }
            }
        }
    }

    fn encode(values: &[f64], descr: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for &v in values {
            match descr {
                "<f4" => out.extend((v as f32).to_le_bytes()),
                ">f4" => out.extend((v as f32).to_be_bytes()),
                "<f8" => out.extend(v.to_le_bytes()),
                ">f8" => out.extend(v.to_be_bytes()),
                "<i8" => out.extend((v as i64).to_le_bytes()),
                _ => unreachable!(),
            }
        }
        out
    }

    /// The error of reading `bytes`, checked to be one line.
    fn error(bytes: &[u8]) -> Error {
        let e = read(bytes).unwrap_err();
        let line = e.to_string();
        assert!(!line.contains('\n') && line.len() < 400, "{line}");
        e
    }

    fn input_error(bytes: &[u8], needle: &str) {
        match error(bytes) {
            Error::Input(m) => assert!(m.contains(needle), "{m:?} lacks {needle:?}"),
            e => panic!("expected an input error, got {e:?}"),
        }
    }

    fn limit_error(bytes: &[u8]) {
        assert!(matches!(error(bytes), Error::LimitsExceeded(_)));
    }

    #[test]
    fn floats_in_both_orders_and_byte_orders() {
        let shape = [3, 4, 5];
        for descr in ["<f4", ">f4", "<f8", ">f8"] {
            for fortran in [false, true] {
                for v2 in [false, true] {
                    let data = encode(&values(shape, fortran), descr);
                    let bytes = npy(&dict(descr, fortran, "(3, 4, 5)"), &data, v2);
                    check(&read(&bytes).unwrap(), shape);
                }
            }
        }
        // Keys in another order, double quotes, Python 2 longs, no trailing comma.
        let data = encode(&values([2, 2, 3], false), "<f4");
        let text = "{\"shape\": (2L, 2L, 3L), \"fortran_order\": False, \"descr\": \"<f4\"}";
        check(&read(&npy(text, &data, false)).unwrap(), [2, 2, 3]);
    }

    #[test]
    fn fortran_transpose_crosses_tiles() {
        // Each value is its C-order index, so any misplacement shows.
        let [d, h, w] = [35, 3, 70];
        let mut src = vec![0.0f32; d * h * w];
        for z in 0..d {
            for y in 0..h {
                for x in 0..w {
                    src[(x * h + y) * d + z] = ((z * h + y) * w + x) as f32;
                }
            }
        }
        let expected: Vec<f32> = (0..d * h * w).map(|i| i as f32).collect();
        assert_eq!(fortran_to_c(&src, [d, h, w]), expected);
    }

    #[test]
    fn bad_files_give_one_line() {
        let shape = [3, 4, 5];
        let good = |descr: &str| {
            npy(
                &dict(descr, false, "(3, 4, 5)"),
                &encode(&values(shape, false), descr),
                false,
            )
        };
        let bytes = good("<f4");
        input_error(&bytes[..bytes.len() - 1], "truncated");
        input_error(&[bytes.as_slice(), &[0]].concat(), "trailing bytes");
        input_error(&bytes[..70], "truncated");
        input_error(b"\x93NUMP", "not a NumPy .npy file");
        input_error(b"P6\n3 4\n255\n........", "bad magic");
        input_error(&good("<i8"), "unsupported dtype '<i8'");
        input_error(&npy(&dict("<f4", false, "(4, 5)"), &[0; 80], false), "3-D");
        input_error(
            &npy(&dict("<f4", false, "(2, 3, 4, 5)"), &[0; 480], false),
            "3-D",
        );
        input_error(
            &npy(&dict("<f4", false, "(1, 4, 5)"), &[0; 80], false),
            "at least 2",
        );
        input_error(
            &npy(&dict("<f4", false, "(3, -4, 5)"), &[], false),
            "malformed",
        );
        input_error(
            &npy("{'descr': '<f4', 'shape': (2, 2, 2)}", &[0; 32], false),
            "missing",
        );
        input_error(
            &npy(
                "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2, 2, 2), }",
                &[0; 32],
                false,
            ),
            "unsupported dtype",
        );
        input_error(
            &npy(
                "{'descr': '<f4',\n'fortran_order': Nope, 'shape': (2, 2, 2), }",
                &[0; 32],
                false,
            ),
            "malformed",
        );
        let mut huge_header = b"\x93NUMPY\x02\x00".to_vec();
        huge_header.extend(u32::MAX.to_le_bytes());
        input_error(&huge_header, "header claims");
        let dir = tempfile::tempdir().unwrap();
        let missing = read_npy_volume(&dir.path().join("none.npy")).unwrap_err();
        assert!(matches!(missing, Error::Io { .. }));
    }

    #[test]
    fn huge_shapes_fail_before_allocating() {
        // Each would need gigabytes, or more than u64 can count.
        limit_error(&npy(&dict("<f4", false, "(4096, 4096, 4096)"), &[], false));
        limit_error(&npy(
            &dict(
                "<f8",
                false,
                "(1099511627776, 1099511627776, 1099511627776)",
            ),
            &[],
            false,
        ));
        limit_error(&npy(
            &dict("<f4", false, "(99999999999999999999999, 2, 2)"),
            &[],
            false,
        ));
        // At the limit, but the file is short: refused by its length.
        input_error(
            &npy(&dict("<f8", false, "(1024, 1024, 1024)"), &[0; 64], false),
            "truncated",
        );
    }
}
