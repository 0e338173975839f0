//! Image input (PNG, JPEG) and streaming PNG output.

use super::Layout;
use crate::{Error, ImageRender};
use std::io::Write;
use std::path::Path;

/// Largest input image accepted by the encoder, in pixels.
pub const MAX_INPUT_PIXELS: u64 = 1 << 26;
/// Largest input image file accepted, in bytes.
pub const MAX_INPUT_BYTES: u64 = 1 << 30;

/// An image with samples normalised to [0, 1], row-major, channels
/// interleaved.
#[derive(Clone, Debug, PartialEq)]
pub struct Image {
    pub width: usize,
    pub height: usize,
    pub layout: Layout,
    /// Bits per sample in the source: 8 or 16.
    pub bit_depth: u8,
    pub data: Vec<f32>,
}

impl Image {
    pub fn channels(&self) -> usize {
        self.layout.channels()
    }
}

/// Loads a PNG or JPEG (gray, gray+alpha, RGB or RGBA; 8 or 16 bits), as
/// [`load_with_notes`] does, without its notes.
pub fn load(path: impl AsRef<Path>) -> Result<Image, Error> {
    Ok(load_with_notes(path)?.0)
}

/// Loads a PNG or JPEG as a user gives it: the EXIF orientation applied (a
/// phone's portrait photo comes upright), an embedded ICC profile other
/// than sRGB's converted to sRGB (moxcms) for RGB images; the notes say
/// what was done or, for a profile that could not be used, that the
/// samples are taken as they are.
pub fn load_with_notes(path: impl AsRef<Path>) -> Result<(Image, Vec<String>), Error> {
    let path = path.as_ref();
    let fail = |what: String| Error::Input(format!("{}: {what}", path.display()));
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_INPUT_BYTES {
        return Err(fail(format!(
            "{len} bytes exceed the input limit of {MAX_INPUT_BYTES}"
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    // Trust the content, not the file name.
    let format = match image::guess_format(&bytes) {
        Ok(f @ (image::ImageFormat::Png | image::ImageFormat::Jpeg)) => f,
        _ => return Err(fail("not a PNG or JPEG image".into())),
    };
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_INPUT_PIXELS * 8);
    reader.limits(limits);
    let cannot = |e: image::ImageError| fail(format!("cannot decode the image: {e}"));
    let mut decoder = reader.into_decoder().map_err(cannot)?;
    use image::ImageDecoder;
    let (w, h) = decoder.dimensions();
    if w as u64 * h as u64 > MAX_INPUT_PIXELS {
        return Err(fail(format!(
            "{w}x{h} exceeds the input limit of {MAX_INPUT_PIXELS} pixels"
        )));
    }
    let mut notes = Vec::new();
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let icc = decoder.icc_profile().ok().flatten();
    let mut img = image::DynamicImage::from_decoder(decoder).map_err(cannot)?;
    img.apply_orientation(orientation);
    if let Some(icc) = icc {
        to_srgb(&mut img, &icc, &mut notes);
    }
    let (width, height) = (img.width() as usize, img.height() as usize);
    use image::DynamicImage as D;
    let scale8 = |v: &[u8]| v.iter().map(|&b| b as f32 / 255.0).collect::<Vec<_>>();
    let scale16 = |v: &[u16]| v.iter().map(|&b| b as f32 / 65535.0).collect::<Vec<_>>();
    let (layout, bit_depth, data) = match &img {
        D::ImageLuma8(i) => (Layout::Gray, 8, scale8(i.as_raw())),
        D::ImageLumaA8(i) => (Layout::GrayAlpha, 8, scale8(i.as_raw())),
        D::ImageRgb8(i) => (Layout::Rgb, 8, scale8(i.as_raw())),
        D::ImageRgba8(i) => (Layout::Rgba, 8, scale8(i.as_raw())),
        D::ImageLuma16(i) => (Layout::Gray, 16, scale16(i.as_raw())),
        D::ImageLumaA16(i) => (Layout::GrayAlpha, 16, scale16(i.as_raw())),
        D::ImageRgb16(i) => (Layout::Rgb, 16, scale16(i.as_raw())),
        D::ImageRgba16(i) => (Layout::Rgba, 16, scale16(i.as_raw())),
        other => return Err(fail(format!("unsupported pixel type {:?}", other.color()))),
    };
    let image = Image {
        width,
        height,
        layout,
        bit_depth,
        data,
    };
    Ok((image, notes))
}

/// Converts an RGB or RGBA image whose ICC profile `icc` is not sRGB's to
/// sRGB, in place (perceptual intent, moxcms); says in `notes` what it did
/// or why it left the samples as they are.
fn to_srgb(img: &mut image::DynamicImage, icc: &[u8], notes: &mut Vec<String>) {
    use image::DynamicImage as D;
    use moxcms::{ColorProfile, Layout as L, TransformOptions};
    let Ok(profile) = ColorProfile::new_from_slice(icc) else {
        notes.push("its ICC profile cannot be read: the samples are taken as sRGB".into());
        return;
    };
    let srgb = ColorProfile::new_srgb();
    let close = |a: moxcms::Xyzd, b: moxcms::Xyzd| {
        (a.x - b.x).abs() < 2e-3 && (a.y - b.y).abs() < 2e-3 && (a.z - b.z).abs() < 2e-3
    };
    let same_primaries = close(profile.red_colorant, srgb.red_colorant)
        && close(profile.green_colorant, srgb.green_colorant)
        && close(profile.blue_colorant, srgb.blue_colorant);
    if profile.color_space == moxcms::DataColorSpace::Rgb && same_primaries {
        return;
    }
    let name = profile
        .description
        .as_ref()
        .map(|d| format!("{d:?}"))
        .unwrap_or_else(|| "unnamed".into());
    let options = TransformOptions::default();
    let result = match img {
        D::ImageRgb8(buf) => profile
            .create_transform_8bit(L::Rgb, &srgb, L::Rgb, options)
            .and_then(|t| t.transform(&buf.as_raw().clone(), buf)),
        D::ImageRgba8(buf) => profile
            .create_transform_8bit(L::Rgba, &srgb, L::Rgba, options)
            .and_then(|t| t.transform(&buf.as_raw().clone(), buf)),
        D::ImageRgb16(buf) => profile
            .create_transform_16bit(L::Rgb, &srgb, L::Rgb, options)
            .and_then(|t| t.transform(&buf.as_raw().clone(), buf)),
        D::ImageRgba16(buf) => profile
            .create_transform_16bit(L::Rgba, &srgb, L::Rgba, options)
            .and_then(|t| t.transform(&buf.as_raw().clone(), buf)),
        _ => {
            notes.push(format!(
                "its ICC profile ({name}) is not converted for a gray image: the samples are taken as they are"
            ));
            return;
        }
    };
    match result {
        Ok(()) => notes.push(format!("converted from its ICC profile ({name}) to sRGB")),
        Err(e) => notes.push(format!(
            "its ICC profile ({name}) could not be applied ({e}): the samples are taken as sRGB"
        )),
    }
}

/// Quantises a value in [0, 1] to an integer sample of `bit_depth` bits.
pub fn to_sample(v: f32, bit_depth: u8) -> u16 {
    let max = ((1u32 << bit_depth) - 1) as f32;
    (v.clamp(0.0, 1.0) * max).round() as u16
}

/// Rounds every value to the nearest `bit_depth`-bit sample and back, as
/// writing and re-reading the image would.
pub fn quantise(values: &mut [f32], bit_depth: u8) {
    let max = ((1u32 << bit_depth) - 1) as f32;
    values
        .iter_mut()
        .for_each(|v| *v = to_sample(*v, bit_depth) as f32 / max);
}

/// Writes a PNG band by band so that memory stays bounded at any size:
/// `band(y0, y1)` returns rows `y0..y1` as values in [0, 1], which are
/// written as samples of `bit_depth` (8 or 16) bits ([`to_sample`]).
pub fn write_png<W: Write>(
    out: W,
    width: usize,
    height: usize,
    layout: Layout,
    bit_depth: u8,
    band_rows: usize,
    mut band: impl FnMut(usize, usize) -> Result<Vec<f32>, Error>,
) -> Result<(), Error> {
    let fail = |e: png::EncodingError| Error::Io {
        path: None,
        source: std::io::Error::other(format!("cannot write the PNG: {e}")),
    };
    let sides = u32::try_from(width).and_then(|w| Ok((w, u32::try_from(height)?)));
    let Ok((w32, h32)) = sides else {
        return Err(Error::limit(
            crate::Limit::Output,
            "a PNG's side",
            width.max(height) as u64,
            u32::MAX as u64,
        ));
    };
    let mut enc = png::Encoder::new(out, w32, h32);
    enc.set_color(png_color(layout));
    enc.set_depth(if bit_depth == 16 {
        png::BitDepth::Sixteen
    } else {
        png::BitDepth::Eight
    });
    let mut writer = enc.write_header().map_err(fail)?;
    let mut stream = writer.stream_writer().map_err(fail)?;
    let mut bytes = Vec::new();
    let mut y0 = 0;
    while y0 < height {
        let y1 = (y0 + band_rows.max(1)).min(height);
        let values = band(y0, y1)?;
        bytes.clear();
        if bit_depth == 16 {
            values
                .iter()
                .for_each(|&v| bytes.extend_from_slice(&to_sample(v, 16).to_be_bytes()));
        } else {
            bytes.extend(values.iter().map(|&v| to_sample(v, 8) as u8));
        }
        stream
            .write_all(&bytes)
            .map_err(|source| Error::Io { path: None, source })?;
        y0 = y1;
    }
    stream.finish().map_err(fail)?;
    Ok(())
}

/// Writes `image` as a PNG of `bit_depth` (8 or 16) bits per sample, band
/// by band ([`ImageRender::band_rows`]), so that memory stays bounded at
/// any size.
pub fn write_png_image<W: Write>(
    out: W,
    image: &ImageRender<'_>,
    bit_depth: u8,
) -> Result<(), Error> {
    let row = image.width() * image.channels();
    write_png(
        out,
        image.width(),
        image.height(),
        image.layout(),
        bit_depth,
        image.band_rows(),
        |y0, y1| {
            let mut values = vec![0f32; (y1 - y0) * row];
            image.rows(y0, y1, &mut values)?;
            Ok(values)
        },
    )
}

fn png_color(layout: Layout) -> png::ColorType {
    match layout {
        Layout::Gray | Layout::Distance => png::ColorType::Grayscale,
        Layout::GrayAlpha => png::ColorType::GrayscaleAlpha,
        Layout::Rgb => png::ColorType::Rgb,
        Layout::Rgba => png::ColorType::Rgba,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn png_round_trip_8_and_16_bits() {
        let dir = tempfile::tempdir().unwrap();
        for (layout, depth) in [
            (Layout::Gray, 8),
            (Layout::Rgba, 16),
            (Layout::Rgb, 8),
            (Layout::GrayAlpha, 16),
        ] {
            let (w, h) = (7, 5);
            let c = layout.channels();
            let max = ((1u32 << depth) - 1) as f32;
            let data: Vec<f32> = (0..w * h * c)
                .map(|i| ((i * 37) % 256) as f32 / 255.0)
                .collect();
            let mut expected = data.clone();
            quantise(&mut expected, depth);
            let path = dir.path().join("x.png");
            let file = std::fs::File::create(&path).unwrap();
            write_png(file, w, h, layout, depth, 2, |y0, y1| {
                Ok(data[y0 * w * c..y1 * w * c].to_vec())
            })
            .unwrap();
            let img = load(&path).unwrap();
            assert_eq!(
                (img.width, img.height, img.layout, img.bit_depth),
                (w, h, layout, depth)
            );
            for (a, b) in img.data.iter().zip(&expected) {
                assert!((a - b).abs() * max < 0.5, "{a} vs {b}");
            }
        }
    }

    /// A 3×2 RGB PNG whose pixel (x, y) is (40x, 100y, 7), with an eXIf
    /// chunk and an ICC profile as given.
    fn tagged_png(exif: Option<Vec<u8>>, icc: Option<Vec<u8>>) -> Vec<u8> {
        let mut out = Vec::new();
        let mut info = png::Info::with_size(3, 2);
        info.color_type = png::ColorType::Rgb;
        info.bit_depth = png::BitDepth::Eight;
        info.exif_metadata = exif.map(Into::into);
        info.icc_profile = icc.map(Into::into);
        let mut w = png::Encoder::with_info(&mut out, info)
            .unwrap()
            .write_header()
            .unwrap();
        let data: Vec<u8> = (0..2u8)
            .flat_map(|y| (0..3u8).flat_map(move |x| [40 * x, 100 * y, 7]))
            .collect();
        w.write_image_data(&data).unwrap();
        w.finish().unwrap();
        out
    }

    #[test]
    fn the_exif_orientation_is_applied() {
        // Big-endian TIFF, one IFD entry: Orientation (0x0112), SHORT, 6
        // (rotate 90° clockwise to display).
        let exif = vec![
            b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0,
            0,
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rotated.png");
        std::fs::write(&path, tagged_png(Some(exif), None)).unwrap();
        let (img, notes) = load_with_notes(&path).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        // 3×2 turned a quarter clockwise is 2×3; the top row of what is
        // shown is the source's left column read from the bottom up.
        assert_eq!((img.width, img.height), (2, 3));
        let px = |x: usize, y: usize| {
            let i = 3 * (y * img.width + x);
            [img.data[i], img.data[i + 1]].map(|v| (v * 255.0).round() as u8)
        };
        assert_eq!(px(0, 0), [0, 100]);
        assert_eq!(px(1, 0), [0, 0]);
        assert_eq!(px(0, 2), [80, 100]);
    }

    #[test]
    fn an_icc_profile_other_than_srgb_is_converted() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain.png");
        std::fs::write(&plain, tagged_png(None, None)).unwrap();
        let (base, notes) = load_with_notes(&plain).unwrap();
        assert!(notes.is_empty());
        // sRGB's own profile changes nothing.
        let srgb = moxcms::ColorProfile::new_srgb().encode().unwrap();
        let tagged = dir.path().join("srgb.png");
        std::fs::write(&tagged, tagged_png(None, Some(srgb))).unwrap();
        let (same, notes) = load_with_notes(&tagged).unwrap();
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(same, base);
        // Display P3 is wider: converted, and said.
        let p3 = moxcms::ColorProfile::new_display_p3().encode().unwrap();
        let wide = dir.path().join("p3.png");
        std::fs::write(&wide, tagged_png(None, Some(p3))).unwrap();
        let (converted, notes) = load_with_notes(&wide).unwrap();
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("to sRGB"), "{notes:?}");
        assert_ne!(converted.data, base.data);
        let diff: f32 = converted
            .data
            .iter()
            .zip(&base.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max);
        assert!(diff > 0.01, "largest change {diff}");
        // A profile that cannot be read is said, and the samples kept.
        let junk = dir.path().join("junk.png");
        std::fs::write(&junk, tagged_png(None, Some(vec![1, 2, 3, 4]))).unwrap();
        let (kept, notes) = load_with_notes(&junk).unwrap();
        assert_eq!(kept, base);
        assert!(notes[0].contains("cannot be read"), "{notes:?}");
    }

    #[test]
    fn garbage_is_an_input_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.png");
        std::fs::write(&path, b"definitely not an image").unwrap();
        assert!(matches!(load(&path), Err(Error::Input(_))));
    }
}
