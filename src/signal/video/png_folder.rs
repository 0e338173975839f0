//! Clips stored as a folder of numbered PNG frames.

use super::{Video, check_frame_size, check_total};
use crate::Error;
use crate::signal::Layout;
use crate::signal::image::{self, Image};
use std::path::{Path, PathBuf};

/// Loads every `.png` file of `dir` (any case) in the order of the number
/// in its name, so that `frame2.png` comes before `frame10.png`. All frames
/// must have one size; gray, alpha and 16-bit frames become 8-bit RGB,
/// alpha composited over black.
pub(super) fn load(dir: &Path, fps: (u32, u32)) -> Result<Video, Error> {
    let name = dir.display().to_string();
    let paths = list_frames(dir, &name)?;
    let mut data = Vec::new();
    let mut size = None;
    for path in &paths {
        let img = image::load(path)?;
        let (w, h) = (img.width, img.height);
        match size {
            None => {
                check_frame_size(&name, w as u64, h as u64)?;
                check_total(&name, paths.len(), w, h)?;
                data.reserve_exact(paths.len() * w * h * 3);
                size = Some((w, h));
            }
            Some((w0, h0)) if (w0, h0) != (w, h) => {
                return Err(Error::Input(format!(
                    "{}: the frame is {w}x{h} but the first frame is {w0}x{h0}",
                    path.display()
                )));
            }
            Some(_) => {}
        }
        append_rgb8(&img, &mut data);
    }
    let (width, height) = size.expect("list_frames returns at least one frame");
    Ok(Video {
        width,
        height,
        frames: paths.len(),
        fps,
        data,
    })
}

/// The PNG files of `dir` in frame order.
fn list_frames(dir: &Path, name: &str) -> Result<Vec<PathBuf>, Error> {
    let mut frames = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let is_png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        if !is_png || !path.is_file() {
            continue;
        }
        let number = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(frame_number)
            .ok_or_else(|| {
                Error::Input(format!(
                    "{}: a PNG frame needs a frame number in its name",
                    path.display()
                ))
            })?;
        frames.push((number, path));
    }
    if frames.is_empty() {
        return Err(Error::Input(format!(
            "{name}: the folder holds no PNG frames"
        )));
    }
    frames.sort();
    if let Some(pair) = frames.windows(2).find(|p| p[0].0 == p[1].0) {
        return Err(Error::Input(format!(
            "{} and {} have the same frame number",
            pair[0].1.display(),
            pair[1].1.display()
        )));
    }
    Ok(frames.into_iter().map(|(_, p)| p).collect())
}

/// The last run of digits in a file stem: `shot2_0010` is frame 10.
fn frame_number(stem: &str) -> Option<u64> {
    let end = stem.rfind(|c: char| c.is_ascii_digit())? + 1;
    let start = stem[..end]
        .trim_end_matches(|c: char| c.is_ascii_digit())
        .len();
    stem[start..end].parse().ok()
}

/// Appends an image as 8-bit RGB.
fn append_rgb8(img: &Image, out: &mut Vec<u8>) {
    let byte = |v: f32| image::to_sample(v, 8) as u8;
    let c = img.channels();
    for p in img.data.chunks_exact(c) {
        let rgb = match img.layout {
            Layout::Gray | Layout::Distance => [p[0]; 3],
            Layout::GrayAlpha => [p[0] * p[1]; 3],
            Layout::Rgb => [p[0], p[1], p[2]],
            Layout::Rgba => [p[0] * p[3], p[1] * p[3], p[2] * p[3]],
        };
        out.extend(rgb.map(byte));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, w: usize, h: usize, layout: Layout, depth: u8, v: &[f32]) {
        let file = std::fs::File::create(path).unwrap();
        let c = layout.channels();
        let data: Vec<f32> = (0..w * h).flat_map(|_| v[..c].to_vec()).collect();
        image::write_png(file, w, h, layout, depth, h, |y0, y1| {
            Ok(data[y0 * w * c..y1 * w * c].to_vec())
        })
        .unwrap();
    }

    #[test]
    fn frames_are_ordered_by_number() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        // Frame 1 is 16-bit gray, frame 2 RGBA at half alpha, frame 10 RGB.
        write(&d.join("10.png"), 3, 2, Layout::Rgb, 8, &[1.0, 0.0, 0.2]);
        write(
            &d.join("2.PNG"),
            3,
            2,
            Layout::Rgba,
            8,
            &[1.0, 1.0, 0.0, 0.6],
        );
        write(&d.join("1.png"), 3, 2, Layout::Gray, 16, &[0.5]);
        std::fs::write(d.join("notes.txt"), "not a frame").unwrap();
        std::fs::create_dir(d.join("3.png")).unwrap();
        let v = super::super::load(d, None).unwrap();
        assert_eq!((v.width, v.height, v.frames, v.fps), (3, 2, 3, (25, 1)));
        assert_eq!(v.frame(0)[..3], [128, 128, 128]);
        assert_eq!(v.frame(1)[..3], [153, 153, 0]);
        assert_eq!(v.frame(2)[..3], [255, 0, 51]);
        assert!(v.frame(2).chunks(3).all(|p| p == [255, 0, 51]));
        let v = super::super::load(d, Some((30000, 1001))).unwrap();
        assert_eq!(v.fps, (30000, 1001));
    }

    #[test]
    fn bad_folders_are_input_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let err = |d: &Path| match super::super::load(d, None) {
            Err(Error::Input(m)) => m,
            other => panic!("{other:?}"),
        };
        assert!(err(d).contains("no PNG frames"));
        std::fs::write(d.join("readme.md"), "x").unwrap();
        assert!(err(d).contains("no PNG frames"));
        write(&d.join("f1.png"), 3, 2, Layout::Rgb, 8, &[0.0; 3]);
        write(&d.join("f2.png"), 2, 3, Layout::Rgb, 8, &[0.0; 3]);
        assert!(err(d).contains("2x3 but the first frame is 3x2"));
        std::fs::remove_file(d.join("f2.png")).unwrap();
        write(&d.join("g01.png"), 3, 2, Layout::Rgb, 8, &[0.0; 3]);
        assert!(err(d).contains("same frame number"));
        std::fs::remove_file(d.join("g01.png")).unwrap();
        write(&d.join("cover.png"), 3, 2, Layout::Rgb, 8, &[0.0; 3]);
        assert!(err(d).contains("needs a frame number"));
    }

    #[test]
    fn frame_numbers() {
        assert_eq!(frame_number("0007"), Some(7));
        assert_eq!(frame_number("shot2_0010"), Some(10));
        assert_eq!(frame_number("frame10b"), Some(10));
        assert_eq!(frame_number("cover"), None);
    }
}
