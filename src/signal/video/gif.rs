//! Animated GIF input.

use super::{MAX_INPUT_FRAME_PIXELS, Video, check_frame_size, check_total};
use crate::Error;
use image::codecs::gif::GifDecoder;
use image::{AnimationDecoder, ImageDecoder};
use std::io::{BufReader, Read, Seek};

/// Delay that browsers give a frame declaring none, in centiseconds.
const ZERO_DELAY_CS: u64 = 10;

/// Loads every frame of a GIF, composited as a viewer shows them, over
/// black where nothing has been drawn. The rate is 100 / (mean frame delay
/// in centiseconds): a GIF has no rate, only per-frame delays, and a clip
/// with equal delays (the usual case) gets its exact rate, e.g. 4 cs ->
/// 25/1. A delay of 0 counts as 10 cs (10 fps), as browsers play it.
pub(super) fn load<R: Read + Seek>(r: R, name: &str) -> Result<Video, Error> {
    let fail = |e: image::ImageError| Error::Input(format!("{name}: cannot decode the GIF: {e}"));
    let mut decoder = GifDecoder::new(BufReader::new(r)).map_err(fail)?;
    let (w, h) = decoder.dimensions();
    check_frame_size(name, w.into(), h.into())?;
    // Decoding a frame holds up to three RGBA buffers of the canvas size
    // (the kept canvas, the frame, the composite).
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(3 * 4 * MAX_INPUT_FRAME_PIXELS);
    decoder.set_limits(limits).map_err(fail)?;
    let (w, h) = (w as usize, h as usize);
    let mut data = Vec::new();
    let (mut frames, mut total_cs) = (0, 0);
    for frame in decoder.into_frames() {
        let frame = frame.map_err(fail)?;
        check_total(name, frames + 1, w, h)?;
        let (num, den) = frame.delay().numer_denom_ms();
        total_cs += delay_cs(num, den);
        let rgba = frame.into_buffer();
        if rgba.dimensions() != (w as u32, h as u32) {
            return Err(Error::Input(format!(
                "{name}: frame {frames} is not {w}x{h}"
            )));
        }
        data.extend(rgba.as_raw().chunks_exact(4).flat_map(over_black));
        frames += 1;
    }
    if frames == 0 {
        return Err(Error::Input(format!("{name}: the GIF has no frames")));
    }
    Ok(Video {
        width: w,
        height: h,
        frames,
        fps: rate(frames as u64, total_cs),
        data,
    })
}

/// A delay of `num / den` milliseconds in centiseconds, the unit a GIF
/// stores; no delay counts as [`ZERO_DELAY_CS`].
fn delay_cs(num: u32, den: u32) -> u64 {
    let den = u64::from(den.max(1));
    match (u64::from(num) + 5 * den) / (10 * den) {
        0 => ZERO_DELAY_CS,
        cs => cs,
    }
}

/// An RGBA pixel composited over black.
fn over_black(p: &[u8]) -> [u8; 3] {
    let a = u16::from(p[3]);
    [p[0], p[1], p[2]].map(|c| ((u16::from(c) * a + 127) / 255) as u8)
}

/// The rate of `frames` frames shown for `total_cs` centiseconds in all, as
/// a reduced fraction.
fn rate(frames: u64, total_cs: u64) -> (u32, u32) {
    let (mut num, mut den) = (100 * frames, total_cs);
    let g = gcd(num, den);
    (num, den) = (num / g, den / g);
    // Only a clip of millions of frames gets here; keep the ratio close.
    while num > u64::from(u32::MAX) || den > u64::from(u32::MAX) {
        (num, den) = ((num / 2).max(1), (den / 2).max(1));
    }
    (num as u32, den as u32)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a.max(1) } else { gcd(b, a % b) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame, Rgba, RgbaImage};

    fn encode(frames: Vec<(RgbaImage, u32)>) -> Vec<u8> {
        let mut bytes = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut bytes);
            for (img, ms) in frames {
                let delay = Delay::from_numer_denom_ms(ms, 1);
                enc.encode_frame(Frame::from_parts(img, 0, 0, delay))
                    .unwrap();
            }
        }
        bytes
    }

    #[test]
    fn round_trip_through_the_image_crate() {
        let colours = [[255, 0, 0], [0, 128, 255], [10, 200, 30], [250, 250, 5]];
        let frames: Vec<_> = (0..3)
            .map(|k| {
                let img = RgbaImage::from_fn(5, 3, |x, y| {
                    let [r, g, b] = colours[(x as usize + y as usize + k) % 4];
                    // One transparent pixel in the first frame shows black.
                    let a = if k == 0 && x == 4 && y == 2 { 0 } else { 255 };
                    Rgba([r, g, b, a])
                });
                (img, 40)
            })
            .collect();
        let bytes = encode(frames);
        let v = load(std::io::Cursor::new(bytes), "t.gif").unwrap();
        assert_eq!((v.width, v.height, v.frames, v.fps), (5, 3, 3, (25, 1)));
        for k in 0..3 {
            for y in 0..3 {
                for x in 0..5 {
                    let i = (y * 5 + x) * 3;
                    let expected = if k == 0 && x == 4 && y == 2 {
                        [0, 0, 0]
                    } else {
                        colours[(x + y + k) % 4]
                    };
                    assert_eq!(v.frame(k)[i..i + 3], expected, "frame {k} ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn rate_from_delays() {
        let solid = || RgbaImage::from_pixel(2, 2, Rgba([9, 9, 9, 255]));
        let clip = |ms: &[u32]| {
            let bytes = encode(ms.iter().map(|&d| (solid(), d)).collect());
            load(std::io::Cursor::new(bytes), "t.gif").unwrap().fps
        };
        assert_eq!(clip(&[40, 40]), (25, 1));
        assert_eq!(clip(&[30, 30, 30]), (100, 3));
        // Mean of 4 and 6 cs: 5 cs.
        assert_eq!(clip(&[40, 60]), (20, 1));
        assert_eq!(clip(&[0, 0]), (10, 1));
        // 100 / 65535 reduced by 5.
        assert_eq!(rate(3, 3 * 65535), (20, 13107));
        assert_eq!(rate(100_000_000, 700_000_000), (100, 7));
        // Too long for u32 terms: approximated.
        let (n, d) = rate(1 << 40, (1 << 40) + 1);
        assert!((n as f64 / d as f64 - 100.0).abs() < 1e-6, "{n}/{d}");
        assert_eq!(
            (delay_cs(40, 1), delay_cs(0, 1), delay_cs(1, 3)),
            (4, 10, 10)
        );
    }

    #[test]
    fn broken_gifs_are_input_errors() {
        let bytes = encode(vec![(
            RgbaImage::from_pixel(4, 4, Rgba([1, 2, 3, 255])),
            40,
        )]);
        for cut in [8, 20, bytes.len() - 3] {
            let r = load(std::io::Cursor::new(bytes[..cut].to_vec()), "t.gif");
            assert!(matches!(r, Err(Error::Input(_))), "cut at {cut}: {r:?}");
        }
    }
}
