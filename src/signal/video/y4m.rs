//! YUV4MPEG2 (.y4m) clips: reading every 8-bit layout that ffmpeg writes,
//! writing 4:2:0 (MPEG-2 siting) or 4:4:4 in limited-range BT.601.
//!
//! The container is parsed here rather than with the `y4m` crate: its 0.8
//! decoder silently assumes 25 fps when `F` is missing, ignores the `I`
//! (interlacing) tag and `XCOLORRANGE`, and reports a truncated frame as a
//! clean end of file, each of which would turn a bad input into a wrong
//! clip. The header is one short line of text, so parsing it is simple.

use super::yuv::{self, Range, Siting, Upsampler};
use super::{Video, check_fps, check_frame_size, check_total};
use crate::Error;
use std::io::{BufRead, BufReader, BufWriter, ErrorKind, Read, Write};

const MAGIC: &[u8] = b"YUV4MPEG2 ";
const FRAME: &[u8] = b"FRAME";
/// Longest stream or frame header accepted, newline included. Real ones
/// are under 100 bytes; the bound keeps a binary file from being scanned
/// for a newline without end.
const MAX_HEADER: usize = 4096;

/// The 8-bit sample layouts a clip may declare with its `C` tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Colourspace {
    C420Jpeg,
    C420Mpeg2,
    C420Paldv,
    C422,
    C444,
    Mono,
}

impl Colourspace {
    fn parse(tag: &str) -> Option<Self> {
        Some(match tag {
            "420jpeg" | "420" => Colourspace::C420Jpeg,
            "420mpeg2" => Colourspace::C420Mpeg2,
            "420paldv" => Colourspace::C420Paldv,
            "422" => Colourspace::C422,
            "444" => Colourspace::C444,
            "mono" => Colourspace::Mono,
            _ => return None,
        })
    }

    /// Where the Cb and Cr samples sit; `None` for luma only.
    fn siting(self) -> Option<[Siting; 2]> {
        let both = |s| Some([s, s]);
        match self {
            // Centred between the four luma samples of each 2x2 block.
            Colourspace::C420Jpeg => both(Siting::new(2, 2, 0.5, 0.5)),
            // On the left column, halfway between the two rows.
            Colourspace::C420Mpeg2 => both(Siting::new(2, 2, 0.0, 0.5)),
            // PAL DV as ffmpeg reads and writes the tag (the inputs this
            // reader is for): both planes co-sited with the top-left luma
            // sample. mjpegtools' older definition puts Cb one luma row
            // lower (on the bottom-left sample).
            Colourspace::C420Paldv => both(Siting::new(2, 2, 0.0, 0.0)),
            // Co-sited with the even luma columns (BT.601).
            Colourspace::C422 => both(Siting::new(2, 1, 0.0, 0.0)),
            Colourspace::C444 => both(Siting::FULL),
            Colourspace::Mono => None,
        }
    }
}

/// What a stream header says.
#[derive(Debug)]
struct Header {
    width: usize,
    height: usize,
    fps: (u32, u32),
    colourspace: Colourspace,
    range: Range,
}

impl Header {
    /// Bytes of one frame's planes.
    fn frame_bytes(&self) -> usize {
        let (w, h) = (self.width, self.height);
        let chroma = |s: Siting| {
            let (cw, ch) = s.plane_size(w, h);
            cw * ch
        };
        w * h
            + self
                .colourspace
                .siting()
                .map_or(0, |[cb, cr]| chroma(cb) + chroma(cr))
    }
}

/// Reads a whole y4m clip. `name` (usually the path) prefixes messages.
///
/// Accepts the 8-bit colourspaces `420jpeg` (also `420`, and the default
/// when `C` is absent, as the format specifies), `420mpeg2`, `420paldv`,
/// `422`, `444` and `mono`, in limited range unless the header says
/// `XCOLORRANGE=FULL`; chroma is interpolated bilinearly at its siting and
/// converted with BT.601. Interlaced clips, other bit depths and clips over
/// [`MAX_INPUT_FRAME_PIXELS`](super::MAX_INPUT_FRAME_PIXELS) per frame or
/// [`MAX_INPUT_SAMPLES`](super::MAX_INPUT_SAMPLES) in all are refused with
/// [`Error::Input`], as is anything truncated. Frames in messages count
/// from 0.
pub fn read_y4m<R: Read>(r: R, name: &str) -> Result<Video, Error> {
    read_y4m_sized(r, name, None)
}

/// [`read_y4m`], reserving memory up front when the input's length is
/// known so that a long clip is not copied each time its buffer grows.
pub(super) fn read_y4m_sized<R: Read>(
    r: R,
    name: &str,
    input_len: Option<u64>,
) -> Result<Video, Error> {
    let fail = |m: String| Error::Input(format!("{name}: {m}"));
    let mut r = BufReader::with_capacity(1 << 16, r);
    let mut magic = [0u8; MAGIC.len()];
    match r.read_exact(&mut magic) {
        Ok(()) if magic == MAGIC => {}
        Err(e) if e.kind() != ErrorKind::UnexpectedEof => return Err(Error::io(name, e)),
        _ => return Err(fail("not a y4m clip (no YUV4MPEG2 signature)".into())),
    }
    let line = read_line(&mut r, name, "the y4m header")?
        .ok_or_else(|| fail("the y4m header is truncated".into()))?;
    let header = parse_header(&line, name)?;
    let (w, h) = (header.width, header.height);
    let frame_len = w * h * 3;
    let mut planes = vec![0u8; header.frame_bytes()];
    let mut data = Vec::new();
    if let Some(len) = input_len {
        let fit = len / (planes.len() + FRAME.len() + 1) as u64;
        let max = super::MAX_INPUT_SAMPLES / frame_len as u64;
        let bytes = fit.min(max) * frame_len as u64;
        data.reserve_exact(usize::try_from(bytes).unwrap_or(0));
    }
    let mut convert = Converter::new(&header);
    let mut frames = 0;
    while let Some(line) = read_line(&mut r, name, &format!("the header of frame {frames}"))? {
        if !(line.starts_with(FRAME) && matches!(line.get(FRAME.len()), None | Some(b' '))) {
            return Err(fail(format!("frame {frames} does not start with FRAME")));
        }
        check_total(name, frames + 1, w, h)?;
        if let Err(e) = r.read_exact(&mut planes) {
            return Err(match e.kind() {
                ErrorKind::UnexpectedEof => fail(format!(
                    "frame {frames} is truncated (its planes take {} bytes)",
                    planes.len()
                )),
                _ => Error::io(name, e),
            });
        }
        let start = data.len();
        data.resize(start + frame_len, 0);
        convert.run(&planes, &mut data[start..]);
        frames += 1;
    }
    if frames == 0 {
        return Err(fail("the y4m clip has no frames".into()));
    }
    Ok(Video {
        width: w,
        height: h,
        frames,
        fps: header.fps,
        data,
    })
}

/// Reads one header line, without its newline; `None` at a clean end of
/// input. `what` names the line in messages.
fn read_line<R: BufRead>(r: &mut R, name: &str, what: &str) -> Result<Option<Vec<u8>>, Error> {
    let mut line = Vec::new();
    r.take(MAX_HEADER as u64)
        .read_until(b'\n', &mut line)
        .map_err(|e| Error::io(name, e))?;
    match line.pop() {
        None => Ok(None),
        Some(b'\n') => Ok(Some(line)),
        Some(_) if line.len() + 1 >= MAX_HEADER => Err(Error::Input(format!(
            "{name}: {what} is longer than {MAX_HEADER} bytes"
        ))),
        Some(_) => Err(Error::Input(format!("{name}: {what} is truncated"))),
    }
}

/// Parses the tags of a stream header (what follows `YUV4MPEG2 `).
fn parse_header(tags: &[u8], name: &str) -> Result<Header, Error> {
    let fail = |m: String| Error::Input(format!("{name}: {m}"));
    let (mut width, mut height, mut fps) = (None, None, None);
    let mut colourspace = Colourspace::C420Jpeg;
    let mut range = Range::Limited;
    for tag in tags.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
        let (key, value) = (tag[0], &tag[1..]);
        // Only the tags read below need to be text: X tags may hold
        // anything.
        let text = || {
            std::str::from_utf8(value)
                .map_err(|_| fail(format!("y4m header tag {} is not text", key as char)))
        };
        match key {
            b'W' => width = Some(parse_size(text()?, "width", name)?),
            b'H' => height = Some(parse_size(text()?, "height", name)?),
            b'F' => fps = Some(parse_rate(text()?, name)?),
            b'I' => check_progressive(text()?, name)?,
            b'C' => {
                let c = text()?;
                colourspace = Colourspace::parse(c).ok_or_else(|| {
                    fail(format!(
                        "unsupported y4m colourspace {c}: only 8-bit 4:2:0, 4:2:2, 4:4:4 \
                         and mono are supported"
                    ))
                })?;
            }
            b'X' => {
                if let Some(r) = value.strip_prefix(b"COLORRANGE=") {
                    range = match r {
                        b"LIMITED" => Range::Limited,
                        b"FULL" => Range::Full,
                        _ => return Err(fail(format!("unknown y4m colour range {}", text()?))),
                    };
                }
            }
            // A (pixel aspect) and unknown tags do not change the pixels.
            _ => {}
        }
    }
    let missing = |what: &str, tag: char| fail(format!("the y4m header has no {what} ({tag})"));
    let width = width.ok_or_else(|| missing("width", 'W'))?;
    let height = height.ok_or_else(|| missing("height", 'H'))?;
    let fps = fps.ok_or_else(|| missing("frame rate", 'F'))?;
    check_frame_size(name, width, height)?;
    Ok(Header {
        // Both fit: their product is at most MAX_INPUT_FRAME_PIXELS.
        width: width as usize,
        height: height as usize,
        fps,
        colourspace,
        range,
    })
}

/// Parses a `W` or `H` value: at least 1.
fn parse_size(text: &str, what: &str, name: &str) -> Result<u64, Error> {
    match text.parse::<u64>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(Error::Input(format!("{name}: invalid y4m {what} {text:?}"))),
    }
}

/// Parses an `F` value, `num:den` with both positive.
fn parse_rate(text: &str, name: &str) -> Result<(u32, u32), Error> {
    let rate = text
        .split_once(':')
        .and_then(|(n, d)| Some((n.parse().ok()?, d.parse().ok()?)));
    match rate {
        Some(r) if check_fps(r).is_ok() => Ok(r),
        _ => Err(Error::Input(format!(
            "{name}: invalid y4m frame rate F{text}"
        ))),
    }
}

/// Accepts progressive (`Ip`) and unknown (`I?`) scan; refuses interlaced
/// clips, whose fields would be mistaken for one picture.
fn check_progressive(text: &str, name: &str) -> Result<(), Error> {
    match text {
        "p" | "?" => Ok(()),
        "t" | "b" | "m" => Err(Error::Input(format!(
            "{name}: interlaced y4m clips (I{text}) are not supported: deinterlace first"
        ))),
        _ => Err(Error::Input(format!(
            "{name}: unknown y4m interlacing I{text}"
        ))),
    }
}

/// Converts the planes of one frame to RGB, reusing its buffers.
struct Converter {
    luma_len: usize,
    range: Range,
    chroma: Option<ChromaPlanes>,
}

/// Upsamplers and full-resolution buffers for Cb and Cr.
struct ChromaPlanes {
    cb_len: usize,
    up: [Upsampler; 2],
    cb: Vec<f32>,
    cr: Vec<f32>,
}

impl Converter {
    fn new(h: &Header) -> Self {
        let luma_len = h.width * h.height;
        let chroma = h.colourspace.siting().map(|[cb, cr]| {
            let (cw, ch) = cb.plane_size(h.width, h.height);
            ChromaPlanes {
                cb_len: cw * ch,
                up: [cb, cr].map(|s| Upsampler::new(h.width, h.height, s)),
                cb: vec![0.0; luma_len],
                cr: vec![0.0; luma_len],
            }
        });
        Converter {
            luma_len,
            range: h.range,
            chroma,
        }
    }

    fn run(&mut self, planes: &[u8], rgb: &mut [u8]) {
        let (y, rest) = planes.split_at(self.luma_len);
        match &mut self.chroma {
            None => yuv::gray_to_rgb(y, self.range, rgb),
            Some(c) => {
                let (cb, cr) = rest.split_at(c.cb_len);
                c.up[0].run(cb, &mut c.cb);
                c.up[1].run(cr, &mut c.cr);
                yuv::ycbcr_to_rgb(y, &c.cb, &c.cr, self.range, rgb);
            }
        }
    }
}

/// Chroma layout of a written clip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chroma {
    /// 4:2:0 with MPEG-2 siting (`C420mpeg2`, what ffmpeg writes by
    /// default): a quarter as many chroma samples as pixels.
    C420,
    /// 4:4:4 (`C444`): chroma at full resolution.
    C444,
}

/// Writes a clip as YUV4MPEG2, in limited-range BT.601 (`XCOLORRANGE=
/// LIMITED`, `Ip A1:1`). Frames are produced one at a time by `frame(k)`,
/// which returns `width * height * 3` interleaved RGB values in [0, 1]
/// (others are clamped), so that a decoder can stream a long clip.
///
/// A zero size, frame count or rate, or a frame of the wrong length, is an
/// [`Error::Parameter`]; errors from `frame` are passed on.
pub fn write_y4m<W: Write>(
    out: W,
    width: usize,
    height: usize,
    frames: usize,
    fps: (u32, u32),
    chroma: Chroma,
    mut frame: impl FnMut(usize) -> Result<Vec<f32>, Error>,
) -> Result<(), Error> {
    if width == 0 || height == 0 || frames == 0 {
        return Err(Error::parameter(format!(
            "cannot write a y4m clip of {frames} frames of {width}x{height}"
        )));
    }
    check_fps(fps)?;
    let frame_len = width
        .checked_mul(height)
        .and_then(|p| p.checked_mul(3))
        .ok_or_else(|| Error::parameter(format!("{width}x{height} is too large")))?;
    // Like `image::write_png`, a failed write is reported as one line.
    let fail = |e: std::io::Error| Error::Input(format!("cannot write the y4m clip: {e}"));
    let mut out = BufWriter::with_capacity(1 << 16, out);
    let tag = match chroma {
        Chroma::C420 => "420mpeg2",
        Chroma::C444 => "444",
    };
    writeln!(
        out,
        "YUV4MPEG2 W{width} H{height} F{}:{} Ip A1:1 C{tag} XCOLORRANGE=LIMITED",
        fps.0, fps.1
    )
    .map_err(fail)?;
    for k in 0..frames {
        let rgb = frame(k)?;
        if rgb.len() != frame_len {
            return Err(Error::parameter(format!(
                "frame {k} has {} values, expected {frame_len}",
                rgb.len()
            )));
        }
        let (y, cb, cr) = yuv::rgb_to_ycbcr(&rgb);
        let [cb, cr] = [cb, cr].map(|c| match chroma {
            Chroma::C420 => yuv::downsample_mpeg2(&c, width, height),
            Chroma::C444 => c.into_iter().map(yuv::code).collect(),
        });
        let parts: [&[u8]; 5] = [FRAME, b"\n", &y, &cb, &cr];
        for part in parts {
            out.write_all(part).map_err(fail)?;
        }
    }
    out.flush().map_err(fail)
}

#[cfg(test)]
mod tests;
