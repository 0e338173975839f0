//! Little-endian field reading with truncation reported as a format error.

use crate::Error;

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
            return Err(Error::Format(format!("truncated {} chunk", self.what)));
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

    /// A string of 1..=`max` printable ASCII bytes after a `u8` length.
    pub fn ascii(&mut self, max: usize) -> Result<&'a str, Error> {
        let n = self.u8()? as usize;
        let s = self.bytes(n)?;
        if n == 0 || n > max || !s.iter().all(|b| b.is_ascii_graphic()) {
            return Err(Error::Format(format!(
                "{} chunk holds an invalid name (1 to {max} printable ASCII bytes required)",
                self.what
            )));
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
            return Err(Error::Format(format!(
                "{} chunk has {} unexpected trailing bytes",
                self.what,
                self.data.len() - self.pos
            )));
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
