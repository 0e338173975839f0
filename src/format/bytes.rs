//! Little-endian field reading; a payload that ends inside its fields or
//! holds bytes after them breaks FORMAT.md §3.3.

use crate::{Error, Rule};

/// A cursor over one chunk's payload.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8], what: &'static str) -> Self {
        Self { data, pos: 0, what }
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.data.len() - self.pos < n {
            return Err(Error::format(
                Rule::PayloadLength,
                format!("the {} payload ends inside its fields", self.what),
            ));
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.bytes(1)?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_le_bytes(self.bytes(2)?.try_into().unwrap()))
    }

    pub fn u32(&mut self) -> Result<u32, Error> {
        Ok(u32::from_le_bytes(self.bytes(4)?.try_into().unwrap()))
    }

    pub fn f32(&mut self) -> Result<f32, Error> {
        Ok(f32::from_le_bytes(self.bytes(4)?.try_into().unwrap()))
    }

    /// A `str8` (FORMAT.md §1) of at most `max` bytes; one that is empty,
    /// longer or not printable ASCII breaks `rule`.
    pub fn ascii(&mut self, max: usize, rule: Rule, what: &str) -> Result<&'a str, Error> {
        let n = self.u8()? as usize;
        let s = self.bytes(n)?;
        if n == 0 || n > max || !s.iter().all(|b| b.is_ascii_graphic()) {
            return Err(Error::format(
                rule,
                format!(
                    "{} holds an invalid {what} (1 to {max} printable ASCII bytes required)",
                    self.what
                ),
            ));
        }
        Ok(std::str::from_utf8(s).unwrap())
    }

    pub fn rest(&mut self) -> &'a [u8] {
        let s = &self.data[self.pos..];
        self.pos = self.data.len();
        s
    }

    /// Fails unless the whole payload was consumed.
    pub fn finish(&self) -> Result<(), Error> {
        if self.pos != self.data.len() {
            return Err(Error::format(
                Rule::PayloadLength,
                format!(
                    "the {} payload has {} bytes after its fields",
                    self.what,
                    self.data.len() - self.pos
                ),
            ));
        }
        Ok(())
    }
}

/// Appends a `u8`-length-prefixed ASCII string.
pub fn put_ascii(out: &mut Vec<u8>, s: &str) {
    debug_assert!(s.len() <= 255 && s.is_ascii());
    out.push(s.len() as u8);
    out.extend_from_slice(s.as_bytes());
}
