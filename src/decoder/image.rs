//! Images and clip frames at any size, whole or in bands of rows.

use super::{Decoder, try_vec};
use crate::signal::Layout;
use crate::signal::render::{check_rows, render_into};
use crate::{Error, Misuse};

/// Points evaluated per band of [`ImageRender::to_vec`] and what
/// [`ImageRender::band_rows`] suggests: bounds the memory of a decode at
/// any size to a few MiB beyond its output.
const BAND_POINTS: usize = 1 << 16;

/// A sample type an image decodes to: `u8` and `u16` (the value of
/// FORMAT.md §4.4 clamped to [0, 1] and scaled to 2⁸ − 1 or 2¹⁶ − 1, then
/// rounded) or `f32` (the value clamped to [0, 1]).
pub trait Sample: Copy + Default + Send + sealed::Sealed + 'static {
    /// This type's sample for a value in [0, 1].
    fn from_value(v: f32) -> Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for u8 {}
    impl Sealed for u16 {}
    impl Sealed for f32 {}
}

impl Sample for u8 {
    fn from_value(v: f32) -> Self {
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    }
}

impl Sample for u16 {
    fn from_value(v: f32) -> Self {
        (v.clamp(0.0, 1.0) * 65535.0).round() as u16
    }
}

impl Sample for f32 {
    fn from_value(v: f32) -> Self {
        v.clamp(0.0, 1.0)
    }
}

/// An image, or one frame of a clip, to decode on a grid of
/// [`ImageRender::width`] × [`ImageRender::height`] pixels: rows from the
/// top, pixels left to right, the [`ImageRender::channels`] samples of a
/// pixel together (the order of [`ImageRender::layout`]). Made by
/// [`Decoder::image`] and [`Decoder::frame`], which checked the kind and
/// the limits.
#[derive(Clone, Copy, Debug)]
pub struct ImageRender<'a> {
    decoder: &'a Decoder,
    width: usize,
    height: usize,
    /// A clip frame's time coordinate (FORMAT.md §4.5).
    t: Option<f32>,
}

impl<'a> ImageRender<'a> {
    pub(super) fn new(
        decoder: &'a Decoder,
        width: u64,
        height: u64,
        t: Option<f32>,
    ) -> Result<Self, Error> {
        let what = if t.is_some() {
            format!("a {width}x{height} frame")
        } else {
            format!("a {width}x{height} image")
        };
        decoder.check_compute(&what, width.saturating_mul(height))?;
        let as_usize = |v: u64| {
            usize::try_from(v).map_err(|_| Error::parameter(format!("{what} is too large")))
        };
        let (width, height) = (as_usize(width)?, as_usize(height)?);
        width
            .checked_mul(height)
            .and_then(|n| n.checked_mul(decoder.info().channels()))
            .ok_or_else(|| Error::parameter(format!("{what} is too large")))?;
        Ok(Self {
            decoder,
            width,
            height,
            t,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Samples per pixel.
    pub fn channels(&self) -> usize {
        self.decoder.info().channels()
    }

    /// What the channels are.
    pub fn layout(&self) -> Layout {
        self.decoder.info().layout
    }

    /// Samples in the whole image: width · height · channels, the length of
    /// [`ImageRender::render_into`]'s buffer.
    pub fn len(&self) -> usize {
        self.width * self.height * self.channels()
    }

    /// Whether the image has no samples (never: sizes are at least 1).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows per band that keep one band's evaluation to about 65,536
    /// points: a good band height for [`ImageRender::rows`].
    pub fn band_rows(&self) -> usize {
        (BAND_POINTS / self.width).clamp(1, self.height)
    }

    /// Decodes rows `y0..y1` into `out`, which holds
    /// `width · (y1 − y0) · channels` samples. Memory beyond `out` is
    /// proportional to the band.
    pub fn rows<T: Sample>(&self, y0: usize, y1: usize, out: &mut [T]) -> Result<(), Error> {
        check_rows(y0, y1, self.height)?;
        let needed = self.width * (y1 - y0) * self.channels();
        if out.len() != needed {
            return Err(Error::misuse(
                Misuse::BufferLength {
                    needed,
                    given: out.len(),
                },
                format!(
                    "rows {y0}..{y1} need a buffer of {needed} samples, not {}",
                    out.len()
                ),
            ));
        }
        let row = self.width * self.channels();
        let band = self.band_rows();
        let mut values = Vec::new();
        let mut y = y0;
        while y < y1 {
            let end = (y + band).min(y1);
            values.resize((end - y) * row, 0.0f32);
            render_into(
                self.decoder.engine(),
                self.decoder.info(),
                self.width,
                self.height,
                self.t,
                y,
                end,
                &mut values,
            )?;
            let dst = &mut out[(y - y0) * row..(end - y0) * row];
            for (d, &v) in dst.iter_mut().zip(&values) {
                *d = T::from_value(v);
            }
            y = end;
        }
        Ok(())
    }

    /// Decodes the whole image into `out`, which holds
    /// [`ImageRender::len`] samples.
    pub fn render_into<T: Sample>(&self, out: &mut [T]) -> Result<(), Error> {
        self.rows(0, self.height, out)
    }

    /// Decodes the whole image into a new buffer of [`ImageRender::len`]
    /// samples.
    pub fn to_vec<T: Sample>(&self) -> Result<Vec<T>, Error> {
        let mut out = try_vec(self.len(), "the decoded image")?;
        self.render_into(&mut out)?;
        Ok(out)
    }
}
