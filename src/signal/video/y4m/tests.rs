use super::*;
use rand::{Rng, SeedableRng};

/// A clip with the given header tags and raw frames.
fn clip(tags: &str, frames: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = format!("YUV4MPEG2 {tags}\n").into_bytes();
    for f in frames {
        bytes.extend_from_slice(b"FRAME\n");
        bytes.extend_from_slice(f);
    }
    bytes
}

fn input_error(bytes: &[u8]) -> String {
    match read_y4m(bytes, "t.y4m") {
        Err(Error::Input(m)) => m,
        other => panic!("expected an input error, got {other:?}"),
    }
}

/// BT.601 by the textbook, in f64.
fn reference_rgb(y: f64, cb: f64, cr: f64, full: bool) -> [f64; 3] {
    let (y, cb, cr) = if full {
        (y / 255.0, (cb - 128.0) / 255.0, (cr - 128.0) / 255.0)
    } else {
        (
            (y - 16.0) / 219.0,
            (cb - 128.0) / 224.0,
            (cr - 128.0) / 224.0,
        )
    };
    let r = y + 1.402 * cr;
    let b = y + 1.772 * cb;
    let g = (y - 0.299 * r - 0.114 * b) / 0.587;
    [r, g, b].map(|v| (v * 255.0).round().clamp(0.0, 255.0))
}

/// Colourspace tags with their chroma subsampling (none for mono).
const SPACES: [(&str, Option<(usize, usize)>); 8] = [
    ("", Some((2, 2))),
    ("C420", Some((2, 2))),
    ("C420jpeg", Some((2, 2))),
    ("C420mpeg2", Some((2, 2))),
    ("C420paldv", Some((2, 2))),
    ("C422", Some((2, 1))),
    ("C444", Some((1, 1))),
    ("Cmono", None),
];

#[test]
fn uniform_colour_in_every_colourspace_and_range() {
    let (w, h) = (5, 3);
    for (space, sub) in SPACES {
        for (range, full) in [
            ("", false),
            ("XCOLORRANGE=LIMITED", false),
            ("XCOLORRANGE=FULL", true),
        ] {
            let mut frame = vec![100u8; w * h];
            // Computed by hand in yuv::tests: (100, 150, 80) is (21, 128,
            // 142) in limited range and (33, 127, 139) in full range; gray
            // 100 is (100 - 16) * 255 / 219 = 97.8 or 100.
            let expected = match (sub, full) {
                (Some((sx, sy)), _) => {
                    let n = w.div_ceil(sx) * h.div_ceil(sy);
                    frame.extend(std::iter::repeat_n(150, n));
                    frame.extend(std::iter::repeat_n(80, n));
                    if full { [33, 127, 139] } else { [21, 128, 142] }
                }
                (None, false) => [98; 3],
                (None, true) => [100; 3],
            };
            let bytes = clip(
                &format!("W5 H3 F25:1 {space} {range}"),
                &[frame.clone(), frame],
            );
            let v = read_y4m(&bytes[..], "t.y4m").unwrap();
            assert_eq!((v.width, v.height, v.frames, v.fps), (w, h, 2, (25, 1)));
            assert!(
                v.data.chunks(3).all(|p| p == expected),
                "{space} {range}: {:?}",
                &v.data[..3]
            );
        }
    }
}

#[test]
fn gradients_match_a_per_pixel_reference() {
    // Chroma planes sample a ramp at the chroma sites the y4m spec
    // (mjpegtools' yuv4mpeg.h) gives, in luma pixel units; bilinear
    // interpolation must then reproduce the ramp at every pixel, clamped
    // to the outermost sites. Luma is noise.
    struct Case {
        tag: &'static str,
        sub: (usize, usize),
        cb_site: (f64, f64),
        cr_site: (f64, f64),
    }
    let cases = [
        // 4:2:0, H/V centred (JPEG, MPEG-1).
        Case {
            tag: "C420jpeg",
            sub: (2, 2),
            cb_site: (0.5, 0.5),
            cr_site: (0.5, 0.5),
        },
        // 4:2:0, H co-sited (MPEG-2).
        Case {
            tag: "C420mpeg2",
            sub: (2, 2),
            cb_site: (0.0, 0.5),
            cr_site: (0.0, 0.5),
        },
        // PAL-DV as ffmpeg sites it: both planes on the top-left sample.
        Case {
            tag: "C420paldv",
            sub: (2, 2),
            cb_site: (0.0, 0.0),
            cr_site: (0.0, 0.0),
        },
        // 4:2:2, H co-sited.
        Case {
            tag: "C422",
            sub: (2, 1),
            cb_site: (0.0, 0.0),
            cr_site: (0.0, 0.0),
        },
        Case {
            tag: "C444",
            sub: (1, 1),
            cb_site: (0.0, 0.0),
            cr_site: (0.0, 0.0),
        },
    ];
    let (w, h) = (9usize, 7usize);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
    for case in cases {
        let (sx, sy) = case.sub;
        let (cw, ch) = (w.div_ceil(sx), h.div_ceil(sy));
        let cb_at = |j: f64, i: f64| 60.0 + 7.0 * j + 11.0 * i;
        let cr_at = |j: f64, i: f64| 200.0 - 5.0 * j - 9.0 * i;
        let luma: Vec<u8> = (0..w * h).map(|_| rng.random_range(0..=255)).collect();
        let mut frame = luma.clone();
        for ramp in [cb_at, cr_at] {
            for i in 0..ch {
                frame.extend((0..cw).map(|j| ramp(j as f64, i as f64) as u8));
            }
        }
        // The ramp, in chroma-sample units, at luma pixel (x, y).
        let at = |ramp: &dyn Fn(f64, f64) -> f64, site: (f64, f64), x: usize, y: usize| {
            let j = ((x as f64 - site.0) / sx as f64).clamp(0.0, (cw - 1) as f64);
            let i = ((y as f64 - site.1) / sy as f64).clamp(0.0, (ch - 1) as f64);
            ramp(j, i)
        };
        for (range, full) in [("XCOLORRANGE=LIMITED", false), ("XCOLORRANGE=FULL", true)] {
            let bytes = clip(
                &format!("W9 H7 F30:1 Ip {} {range}", case.tag),
                &[frame.clone()],
            );
            let v = read_y4m(&bytes[..], "t.y4m").unwrap();
            for y in 0..h {
                for x in 0..w {
                    let cb = at(&cb_at, case.cb_site, x, y);
                    let cr = at(&cr_at, case.cr_site, x, y);
                    let expected = reference_rgb(luma[y * w + x] as f64, cb, cr, full);
                    let got = &v.data[(y * w + x) * 3..][..3];
                    for c in 0..3 {
                        // f32 against f64 may round a .5 the other way.
                        assert!(
                            (got[c] as f64 - expected[c]).abs() <= 1.0,
                            "{} {range} ({x}, {y}): {got:?} vs {expected:?}",
                            case.tag
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn siting_changes_the_result() {
    // A 4x2 clip whose two Cb samples differ: pixel x = 2 sits on the
    // second MPEG-2 sample but a quarter of the way before the JPEG one.
    let mut frame = vec![126u8; 8];
    frame.extend([128, 192]); // Cb
    frame.extend([128, 128]); // Cr
    let blue = |tag: &str| {
        let v = read_y4m(
            &clip(&format!("W4 H2 F1:1 {tag}"), &[frame.clone()])[..],
            "t",
        )
        .unwrap();
        v.data.chunks(3).take(4).map(|p| p[2]).collect::<Vec<_>>()
    };
    // MPEG-2: Cb at x = 0, 2: [128, 160, 192, 192]; JPEG: at x = 0.5, 2.5:
    // [128, 144, 176, 192]. Blue = luma + 1.772 * (Cb - 128) / 224.
    let b = |cb: f64| reference_rgb(126.0, cb, 128.0, false)[2] as u8;
    assert_eq!(blue("C420mpeg2"), [b(128.0), b(160.0), b(192.0), b(192.0)]);
    assert_eq!(blue("C420jpeg"), [b(128.0), b(144.0), b(176.0), b(192.0)]);
}

#[test]
fn reads_what_the_y4m_crate_writes() {
    // An independent writer: PAL-DV siting, full range, frame parameters.
    let (w, h) = (4, 2);
    let mut bytes = Vec::new();
    let range = ::y4m::VendorExtensionString::new(b"COLORRANGE=FULL".to_vec()).unwrap();
    let mut enc = ::y4m::encode(w, h, ::y4m::Ratio::new(24000, 1001))
        .with_colorspace(::y4m::Colorspace::C420paldv)
        .append_vendor_extension(range)
        .write_header(&mut bytes)
        .unwrap();
    let (y, cb, cr) = ([100u8; 8], [150u8; 2], [80u8; 2]);
    for _ in 0..3 {
        let frame = ::y4m::Frame::new([&y, &cb, &cr], Some(b"Ip".to_vec()));
        enc.write_frame(&frame).unwrap();
    }
    let v = read_y4m(&bytes[..], "t.y4m").unwrap();
    assert_eq!((v.frames, v.fps), (3, (24000, 1001)));
    assert!(v.data.chunks(3).all(|p| p == [33, 127, 139]));
}

#[test]
fn truncated_clips_are_input_errors() {
    let full = vec![16u8; 4 * 2 + 2 * 2];
    let tags = "W4 H2 F25:1 C420jpeg";
    assert!(input_error(&clip(tags, &[])).contains("no frames"));
    assert!(input_error(&clip(tags, &[vec![16; 5]])).contains("frame 0 is truncated"));
    let two = clip(tags, &[full.clone(), full[..11].to_vec()]);
    assert!(input_error(&two).contains("frame 1 is truncated"));
    let mut cut = clip(tags, std::slice::from_ref(&full));
    cut.extend_from_slice(b"FRA");
    assert!(input_error(&cut).contains("header of frame 1 is truncated"));
    assert!(input_error(b"YUV4MPEG2 W4 H2 F25:1").contains("header is truncated"));
    assert!(input_error(b"YUV4MPEG2 ").contains("header is truncated"));
    for junk in [
        &b""[..],
        b"YUV4MPEG",
        b"YUV4MPEG2W4\n",
        b"\x89PNG\r\n\x1a\n\0\0\0\0",
    ] {
        assert!(input_error(junk).contains("not a y4m clip"));
    }
    for bad in [&b"FRAMX\n"[..], b"FRAMES\n", b"\n"] {
        let mut b = clip(tags, std::slice::from_ref(&full));
        b.extend_from_slice(bad);
        b.extend_from_slice(&full);
        assert!(input_error(&b).contains("frame 1 does not start with FRAME"));
    }
    // Frame parameters are allowed.
    let mut b = clip(tags, std::slice::from_ref(&full));
    b.extend_from_slice(b"FRAME Ip XFOO=1\n");
    b.extend_from_slice(&full);
    assert_eq!(read_y4m(&b[..], "t").unwrap().frames, 2);
}

#[test]
fn bad_headers_are_input_errors() {
    let f = [vec![0u8; 64]];
    let err = |tags: &str| input_error(&clip(tags, &f));
    assert_eq!(
        err("W4 H2 F25:1 C420p10"),
        "t.y4m: unsupported y4m colourspace 420p10: only 8-bit 4:2:0, 4:2:2, 4:4:4 and mono \
         are supported"
    );
    for space in ["C444p16", "Cmono16", "C422p12", "C411", "C444alpha", "Cyuv"] {
        assert!(err(&format!("W4 H2 F25:1 {space}")).contains("unsupported y4m colourspace"));
    }
    for scan in ["It", "Ib", "Im"] {
        assert!(
            err(&format!("W4 H2 F25:1 {scan}")).contains("interlaced"),
            "{scan}"
        );
    }
    assert!(err("W4 H2 F25:1 Ix").contains("unknown y4m interlacing"));
    assert!(err("H2 F25:1").contains("no width (W)"));
    assert!(err("W4 F25:1").contains("no height (H)"));
    assert!(err("W4 H2").contains("no frame rate (F)"));
    for size in [
        "W0 H2",
        "W-4 H2",
        "Wx H2",
        "W4 H0",
        "W H2",
        "W99999999999999999999999 H2",
    ] {
        assert!(
            err(&format!("{size} F25:1")).contains("invalid y4m"),
            "{size}"
        );
    }
    // Absurd sizes are refused before anything is allocated.
    for size in ["W100000 H100000", "W4294967295 H4294967295", "W1 H67108865"] {
        assert!(
            err(&format!("{size} F25:1")).contains("outside the input limits"),
            "{size}"
        );
    }
    for rate in ["F0:1", "F25:0", "F25", "F:", "Fx:1", "F4294967296:1"] {
        assert!(
            err(&format!("W4 H2 {rate}")).contains("invalid y4m frame rate"),
            "{rate}"
        );
    }
    assert!(err("W4 H2 F25:1 XCOLORRANGE=WIDE").contains("unknown y4m colour range"));
    let long = format!("W4 H2 F25:1 X{}", "a".repeat(5000));
    assert!(err(&long).contains("longer than 4096 bytes"));
    // An endless header ends in an error, not a hang.
    let endless = b"YUV4MPEG2 ".chain(std::io::repeat(b'W'));
    assert!(matches!(read_y4m(endless, "t"), Err(Error::Input(_))));
}

#[test]
fn lenient_where_the_format_allows() {
    // Unknown tags, aspect, unknown X tags, repeated spaces, odd sizes
    // with 4:2:0 (chroma rounds up) and 1x1 clips.
    let tags = "W3  H1 F30000:1001 A0:0 I? Zfoo XYSCSS=420JPEG X~";
    let v = read_y4m(
        &clip(tags, &[vec![235, 235, 235, 128, 128, 128, 128]])[..],
        "t",
    )
    .unwrap();
    assert_eq!((v.width, v.height, v.fps), (3, 1, (30000, 1001)));
    assert_eq!(v.data, [255; 9]);
    let short = clip(tags, &[vec![235, 235, 235, 128, 128, 128]]);
    assert!(input_error(&short).contains("truncated"));
    let red = clip("W1 H1 F1:1 C444", &[vec![81, 90, 240]]);
    assert_eq!(read_y4m(&red[..], "t").unwrap().data, [254, 0, 0]);
}

fn write(w: usize, h: usize, chroma: Chroma, frames: &[Vec<f32>]) -> Vec<u8> {
    let mut out = Vec::new();
    write_y4m(&mut out, w, h, frames.len(), (30000, 1001), chroma, |k| {
        Ok(frames[k].clone())
    })
    .unwrap();
    out
}

/// Largest difference between a written frame and what is read back.
fn max_error(written: &[f32], read: &[u8]) -> f32 {
    written
        .iter()
        .zip(read)
        .map(|(&a, &b)| (a * 255.0 - b as f32).abs())
        .fold(0.0, f32::max)
}

/// [`max_error`] away from the border.
fn interior_error(written: &[f32], read: &[u8], w: usize, h: usize) -> f32 {
    let mut e = 0.0f32;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = (y * w + x) * 3;
            e = e.max(max_error(&written[i..i + 3], &read[i..i + 3]));
        }
    }
    e
}

#[test]
fn round_trip_444_random_pixels() {
    let (w, h) = (7, 5);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let frames: Vec<Vec<f32>> = (0..3)
        .map(|_| (0..w * h * 3).map(|_| rng.random::<f32>()).collect())
        .collect();
    let bytes = write(w, h, Chroma::C444, &frames);
    let header = b"YUV4MPEG2 W7 H5 F30000:1001 Ip A1:1 C444 XCOLORRANGE=LIMITED\n";
    assert!(bytes.starts_with(header));
    assert_eq!(bytes.len(), header.len() + 3 * (6 + 3 * w * h));
    let v = read_y4m(&bytes[..], "t").unwrap();
    assert_eq!(
        (v.width, v.height, v.frames, v.fps),
        (w, h, 3, (30000, 1001))
    );
    for (k, f) in frames.iter().enumerate() {
        // Rounding in Y'CbCr, then in RGB: at most 2 levels.
        let e = max_error(f, v.frame(k));
        assert!(e <= 2.5, "frame {k}: {e}");
    }
}

#[test]
fn round_trip_420_smooth_pixels() {
    for (w, h) in [(16, 12), (15, 11)] {
        let frame: Vec<f32> = (0..w * h)
            .flat_map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                [
                    0.5 + 0.3 * (x / 12.0).sin(),
                    0.3 + 0.01 * y + 0.005 * x,
                    0.5 + 0.25 * (y / 9.0 + x / 14.0).cos(),
                ]
            })
            .collect();
        let bytes = write(w, h, Chroma::C420, std::slice::from_ref(&frame));
        let header =
            format!("YUV4MPEG2 W{w} H{h} F30000:1001 Ip A1:1 C420mpeg2 XCOLORRANGE=LIMITED\n");
        assert!(bytes.starts_with(header.as_bytes()));
        let chroma = w.div_ceil(2) * h.div_ceil(2);
        assert_eq!(bytes.len(), header.len() + 6 + w * h + 2 * chroma);
        // An independent parser agrees on the container.
        let mut dec = ::y4m::decode(&bytes[..]).unwrap();
        assert_eq!((dec.get_width(), dec.get_height()), (w, h));
        assert_eq!(dec.read_frame().unwrap().get_u_plane().len(), chroma);
        let v = read_y4m(&bytes[..], "t").unwrap();
        // Chroma beyond the outermost samples (first and last row, last
        // column) is held, not extrapolated, and the filters repeat edge
        // samples: the border is off by up to a pixel's worth of chroma
        // slope (about 7 levels here), the rest by rounding.
        let (all, inside) = (
            max_error(&frame, v.frame(0)),
            interior_error(&frame, v.frame(0), w, h),
        );
        assert!(
            all <= 10.0 && inside <= 2.5,
            "{w}x{h}: {all}, inside {inside}"
        );
    }
}

#[test]
fn writing_checks_its_request() {
    let ok = |_| Ok(vec![0.5; 12]);
    let sink = std::io::sink;
    let param = |r: Result<(), Error>| matches!(r, Err(Error::Parameter(_)));
    assert!(param(write_y4m(sink(), 0, 2, 1, (25, 1), Chroma::C444, ok)));
    assert!(param(write_y4m(sink(), 2, 2, 0, (25, 1), Chroma::C444, ok)));
    assert!(param(write_y4m(sink(), 2, 2, 1, (0, 1), Chroma::C444, ok)));
    assert!(param(write_y4m(sink(), 2, 2, 1, (25, 0), Chroma::C420, ok)));
    assert!(param(write_y4m(sink(), 2, 3, 1, (25, 1), Chroma::C420, ok)));
    let failing = |_| Err(Error::Train("stop".into()));
    let r = write_y4m(sink(), 2, 2, 1, (25, 1), Chroma::C420, failing);
    assert!(matches!(r, Err(Error::Train(_))));
    // Out-of-range values are clamped, NaN counts as 0.
    let wild = vec![-1.0, 2.0, f32::NAN, -0.5, f32::NAN, 0.0, 1.5, 1.0, 9.0];
    let tame = vec![0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    assert_eq!(
        write(3, 1, Chroma::C444, &[wild]),
        write(3, 1, Chroma::C444, &[tame])
    );
}
