//! Video input (YUV4MPEG2, animated GIF, folders of PNG frames) and
//! YUV4MPEG2 output. Frames are held as 8-bit RGB; PNG frame output goes
//! through [`crate::signal::image::write_png`] with paths from
//! [`frame_path`].

mod gif;
mod png_folder;
mod y4m;
mod yuv;

pub use y4m::{Chroma, read_y4m, write_y4m};

use crate::Error;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Largest frame accepted, in pixels.
pub const MAX_INPUT_FRAME_PIXELS: u64 = 1 << 26;
/// Largest clip accepted, in bytes of 8-bit RGB held in memory
/// (`width * height * frames * 3`): 4 GiB, e.g. about 690 frames of
/// 1920x1080.
pub const MAX_INPUT_SAMPLES: u64 = 1 << 32;
/// Frame rate of a folder of PNG frames when none is given.
pub const DEFAULT_FPS: (u32, u32) = (25, 1);

/// A clip of 8-bit RGB frames: frame-major, then row-major, with RGB
/// interleaved.
#[derive(Clone, Debug, PartialEq)]
pub struct Video {
    pub width: usize,
    pub height: usize,
    pub frames: usize,
    /// Frame rate as a fraction num/den frames per second.
    pub fps: (u32, u32),
    pub data: Vec<u8>,
}

impl Video {
    /// The RGB bytes of frame `k` (`width * height * 3`).
    ///
    /// # Panics
    /// If `k >= frames`.
    pub fn frame(&self, k: usize) -> &[u8] {
        assert!(k < self.frames, "frame {k} of a {}-frame clip", self.frames);
        let len = self.width * self.height * 3;
        &self.data[k * len..(k + 1) * len]
    }

    /// Frames per second.
    pub fn fps_f64(&self) -> f64 {
        self.fps.0 as f64 / self.fps.1 as f64
    }
}

/// Loads a clip: a YUV4MPEG2 file, an animated GIF, or a directory of
/// numbered PNG frames. Files are recognised by their content, not their
/// name.
///
/// `fps` is the rate of a PNG folder ([`DEFAULT_FPS`] if `None`); a y4m
/// clip carries its rate and a GIF its frame delays, so there it is only
/// checked to be positive. See [`read_y4m`] for what a y4m clip may hold;
/// a GIF's frames are composited over black and its rate derived from its
/// delays; a folder takes every `.png` file whose name holds a number, in
/// numeric order. Bad input is an [`Error::Input`]; every format is held to
/// [`MAX_INPUT_FRAME_PIXELS`] and [`MAX_INPUT_SAMPLES`].
pub fn load(path: &Path, fps: Option<(u32, u32)>) -> Result<Video, Error> {
    if let Some(fps) = fps {
        check_fps(fps)?;
    }
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return png_folder::load(path, fps.unwrap_or(DEFAULT_FPS));
    }
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut magic = Vec::with_capacity(10);
    (&mut file)
        .take(10)
        .read_to_end(&mut magic)
        .and_then(|_| file.seek(SeekFrom::Start(0)))
        .map_err(|e| Error::io(path, e))?;
    let name = path.display().to_string();
    if magic.starts_with(b"YUV4MPEG2 ") {
        y4m::read_y4m_sized(file, &name, Some(meta.len()))
    } else if magic.starts_with(b"GIF87a") || magic.starts_with(b"GIF89a") {
        gif::load(file, &name)
    } else {
        Err(Error::Input(format!(
            "{name}: not a y4m clip, GIF or folder of PNG frames"
        )))
    }
}

/// Expands a frame-path pattern such as `frames/%04d.png` for frame `k`.
///
/// The pattern holds exactly one printf-style conversion, `%d` or `%0Nd`
/// (zero-padded to N digits, N at most 32); `%%` stands for a literal
/// percent sign. Anything else is an [`Error::Parameter`].
pub fn frame_path(pattern: &str, k: usize) -> Result<PathBuf, Error> {
    let bad = |why: &str| {
        Error::parameter(format!(
            "invalid frame pattern {pattern:?}: {why} (expected one %d or %0Nd, and %% for a \
             literal percent sign)"
        ))
    };
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut conversions = 0;
    let mut rest = pattern;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        let spec = &rest[at + 1..];
        if let Some(after) = spec.strip_prefix('%') {
            out.push('%');
            rest = after;
            continue;
        }
        let digits = spec.len() - spec.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (width, after) = spec.split_at(digits);
        let Some(after) = after.strip_prefix('d') else {
            return Err(bad("unsupported % conversion"));
        };
        if !(width.is_empty() || width.starts_with('0')) {
            return Err(bad("a width must be zero-padded, as in %04d"));
        }
        let width: usize = match width.parse() {
            Ok(n) if n <= 32 => n,
            Err(_) if width.is_empty() => 0,
            _ => return Err(bad("the width is over 32")),
        };
        out.push_str(&format!("{k:0width$}"));
        conversions += 1;
        rest = after;
    }
    out.push_str(rest);
    match conversions {
        1 => Ok(PathBuf::from(out)),
        0 => Err(bad("no frame number")),
        _ => Err(bad("more than one frame number")),
    }
}

/// Refuses a frame rate with a zero numerator or denominator.
fn check_fps(fps: (u32, u32)) -> Result<(), Error> {
    if fps.0 == 0 || fps.1 == 0 {
        return Err(Error::parameter(format!(
            "frame rate {}/{} is not positive",
            fps.0, fps.1
        )));
    }
    Ok(())
}

/// Refuses a frame size over [`MAX_INPUT_FRAME_PIXELS`] or an empty one.
fn check_frame_size(name: &str, width: u64, height: u64) -> Result<(), Error> {
    if width == 0 || height == 0 || width.saturating_mul(height) > MAX_INPUT_FRAME_PIXELS {
        return Err(Error::Input(format!(
            "{name}: frames of {width}x{height} are outside the input limits (1 to \
             {MAX_INPUT_FRAME_PIXELS} pixels)"
        )));
    }
    Ok(())
}

/// Refuses to hold `frames` frames once they would pass
/// [`MAX_INPUT_SAMPLES`]; called before each frame is read.
fn check_total(name: &str, frames: usize, width: usize, height: usize) -> Result<(), Error> {
    let bytes = (frames as u64).saturating_mul((width * height * 3) as u64);
    if bytes > MAX_INPUT_SAMPLES {
        return Err(Error::Input(format!(
            "{name}: {frames} frames of {width}x{height} exceed the input limit of \
             {MAX_INPUT_SAMPLES} bytes of RGB"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_paths_expand_one_number() {
        let p = |pat, k| frame_path(pat, k).unwrap().to_string_lossy().into_owned();
        assert_eq!(p("frames/%04d.png", 7), "frames/0007.png");
        assert_eq!(p("f%d.png", 12345), "f12345.png");
        assert_eq!(p("%03d", 12345), "12345");
        assert_eq!(p("%0d-%%.png", 3), "3-%.png");
        assert_eq!(p("100%%/%02d", 5), "100%/05");
        for bad in [
            "x.png", "%d%d", "%4d.png", "%s", "%", "a%", "%-3d", "%099d", "%%d",
        ] {
            let err = frame_path(bad, 1).unwrap_err();
            assert!(matches!(err, Error::Parameter(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn frames_and_rate() {
        let v = Video {
            width: 2,
            height: 1,
            frames: 2,
            fps: (30000, 1001),
            data: (0..12).collect(),
        };
        assert_eq!(v.frame(1), &[6, 7, 8, 9, 10, 11]);
        assert!((v.fps_f64() - 29.97003).abs() < 1e-5);
    }

    #[test]
    fn limits_are_checked_before_reading() {
        assert!(check_total("x", 1, 1 << 13, 1 << 13).is_ok());
        // 22 frames of 8192x8192 RGB are 4.1 GiB.
        assert!(matches!(
            check_total("x", 22, 1 << 13, 1 << 13),
            Err(Error::Input(_))
        ));
        assert!(check_frame_size("x", 1 << 13, 1 << 13).is_ok());
        assert!(check_frame_size("x", (1 << 13) + 1, 1 << 13).is_err());
        assert!(check_frame_size("x", 0, 5).is_err());
        assert!(check_frame_size("x", u64::MAX, u64::MAX).is_err());
    }

    #[test]
    fn load_sniffs_the_content() {
        let dir = tempfile::tempdir().unwrap();
        // A y4m clip named .gif is still a y4m clip.
        let clip = dir.path().join("clip.gif");
        std::fs::write(
            &clip,
            b"YUV4MPEG2 W2 H1 F30:1 C444\nFRAME\n\x10\xeb\x80\x80\x80\x80",
        )
        .unwrap();
        let v = load(&clip, None).unwrap();
        assert_eq!((v.width, v.height, v.frames, v.fps), (2, 1, 1, (30, 1)));
        assert_eq!(v.data, [0, 0, 0, 255, 255, 255]);

        let junk = dir.path().join("junk.y4m");
        std::fs::write(&junk, b"RIFF....AVI ").unwrap();
        let err = load(&junk, None).unwrap_err().to_string();
        assert!(
            err.ends_with("not a y4m clip, GIF or folder of PNG frames"),
            "{err}"
        );
        // Shorter than any signature.
        std::fs::write(&junk, b"GI").unwrap();
        assert!(matches!(load(&junk, None), Err(Error::Input(_))));

        let missing = dir.path().join("nothing.y4m");
        assert!(matches!(load(&missing, None), Err(Error::Io { .. })));
        assert!(matches!(
            load(&clip, Some((0, 1))),
            Err(Error::Parameter(_))
        ));
    }
}
