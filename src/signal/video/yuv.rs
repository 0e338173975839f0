//! BT.601 conversion between 8-bit Y'CbCr and RGB, and chroma resampling
//! that honours where the chroma samples sit on the luma grid.

/// Luma weights of BT.601.
const KR: f32 = 0.299;
const KB: f32 = 0.114;
const KG: f32 = 1.0 - KR - KB;

/// How Y'CbCr code values map to nominal values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Range {
    /// "Studio swing": Y' in 16..=235, Cb and Cr in 16..=240.
    Limited,
    /// Y', Cb and Cr use all of 0..=255 (chroma centred at 128).
    Full,
}

impl Range {
    /// Black level and code values per unit of luma.
    fn luma(self) -> (f32, f32) {
        match self {
            Range::Limited => (16.0, 219.0),
            Range::Full => (0.0, 255.0),
        }
    }

    /// Code values per unit of chroma (chroma spans [-0.5, 0.5]).
    fn chroma(self) -> f32 {
        match self {
            Range::Limited => 224.0,
            Range::Full => 255.0,
        }
    }
}

/// Where the samples of a chroma plane sit: the subsampling factors and the
/// position of chroma sample (0, 0) in luma sample units (luma sample
/// (x, y) sits at (x, y)).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) struct Siting {
    pub sx: usize,
    pub sy: usize,
    pub x0: f64,
    pub y0: f64,
}

impl Siting {
    /// A plane at full resolution.
    pub const FULL: Siting = Siting::new(1, 1, 0.0, 0.0);

    pub const fn new(sx: usize, sy: usize, x0: f64, y0: f64) -> Self {
        Siting { sx, sy, x0, y0 }
    }

    /// Size of the chroma plane for a `width` x `height` picture: odd sizes
    /// round up, as every y4m writer does.
    pub fn plane_size(self, width: usize, height: usize) -> (usize, usize) {
        (width.div_ceil(self.sx), height.div_ceil(self.sy))
    }
}

/// Linear interpolation taps along one axis: output sample `i` is
/// `src[lo[i]] * (1 - frac[i]) + src[hi[i]] * frac[i]`.
struct Taps {
    lo: Vec<usize>,
    hi: Vec<usize>,
    frac: Vec<f32>,
}

impl Taps {
    /// Taps that take `m` chroma samples, the first at `first` and then
    /// every `factor` luma samples, to `n` luma positions. Positions
    /// outside the chroma samples take the nearest one (edges are clamped).
    fn new(n: usize, m: usize, factor: usize, first: f64) -> Self {
        let last = (m - 1) as f64;
        let mut taps = Taps {
            lo: Vec::with_capacity(n),
            hi: Vec::with_capacity(n),
            frac: Vec::with_capacity(n),
        };
        for i in 0..n {
            let u = ((i as f64 - first) / factor as f64).clamp(0.0, last);
            let lo = u.floor() as usize;
            taps.lo.push(lo);
            taps.hi.push((lo + 1).min(m - 1));
            taps.frac.push((u - lo as f64) as f32);
        }
        taps
    }
}

/// Bilinear upsampling of one chroma plane to the luma grid.
pub(super) struct Upsampler {
    width: usize,
    plane_width: usize,
    xs: Taps,
    ys: Taps,
    /// One chroma row, interpolated vertically.
    row: Vec<f32>,
}

impl Upsampler {
    pub fn new(width: usize, height: usize, siting: Siting) -> Self {
        let (cw, ch) = siting.plane_size(width, height);
        Upsampler {
            width,
            plane_width: cw,
            xs: Taps::new(width, cw, siting.sx, siting.x0),
            ys: Taps::new(height, ch, siting.sy, siting.y0),
            row: vec![0.0; cw],
        }
    }

    /// Writes the chroma value (in code units) of every luma sample of
    /// `plane` into `out`, row-major.
    pub fn run(&mut self, plane: &[u8], out: &mut [f32]) {
        let cw = self.plane_width;
        // Separable: first between two chroma rows, then along the row.
        for (y, out_row) in out.chunks_exact_mut(self.width).enumerate() {
            let r0 = &plane[self.ys.lo[y] * cw..][..cw];
            let r1 = &plane[self.ys.hi[y] * cw..][..cw];
            let f = self.ys.frac[y];
            for ((t, &a), &b) in self.row.iter_mut().zip(r0).zip(r1) {
                *t = a as f32 + f * (b as f32 - a as f32);
            }
            for (x, o) in out_row.iter_mut().enumerate() {
                let (a, b) = (self.row[self.xs.lo[x]], self.row[self.xs.hi[x]]);
                *o = a + self.xs.frac[x] * (b - a);
            }
        }
    }
}

/// Rounds a value in 0..=255 to a byte; `as` saturates, so values outside
/// the range clamp (and NaN gives 0).
fn byte(v: f32) -> u8 {
    (v + 0.5) as u8
}

/// Converts full-resolution planes to interleaved 8-bit RGB. `cb` and `cr`
/// hold (interpolated) code values.
pub(super) fn ycbcr_to_rgb(y: &[u8], cb: &[f32], cr: &[f32], range: Range, out: &mut [u8]) {
    let (black, luma_scale) = range.luma();
    // R = Y' + 2 (1 - Kr) Cr, B = Y' + 2 (1 - Kb) Cb and G from
    // Y' = Kr R + Kg G + Kb B, with every scale folded into four constants
    // (output in 0..=255).
    let ky = 255.0 / luma_scale;
    let kc = 255.0 / range.chroma();
    let (r_cr, b_cb) = (2.0 * (1.0 - KR) * kc, 2.0 * (1.0 - KB) * kc);
    let (g_cr, g_cb) = (KR / KG * r_cr, KB / KG * b_cb);
    for (((&y, &cb), &cr), rgb) in y.iter().zip(cb).zip(cr).zip(out.chunks_exact_mut(3)) {
        let y = (y as f32 - black) * ky;
        let (cb, cr) = (cb - 128.0, cr - 128.0);
        rgb[0] = byte(y + r_cr * cr);
        rgb[1] = byte(y - g_cr * cr - g_cb * cb);
        rgb[2] = byte(y + b_cb * cb);
    }
}

/// Converts a luma-only plane to interleaved gray RGB.
pub(super) fn gray_to_rgb(y: &[u8], range: Range, out: &mut [u8]) {
    let (black, luma_scale) = range.luma();
    for (&y, rgb) in y.iter().zip(out.chunks_exact_mut(3)) {
        rgb.fill(byte((y as f32 - black) * 255.0 / luma_scale));
    }
}

/// Converts interleaved RGB in [0, 1] to limited-range BT.601: luma as
/// rounded codes, chroma as unrounded codes so that it can be filtered
/// before rounding. Out-of-range values are clamped; NaN counts as 0.
pub(super) fn rgb_to_ycbcr(rgb: &[f32]) -> (Vec<u8>, Vec<f32>, Vec<f32>) {
    let n = rgb.len() / 3;
    let mut y = Vec::with_capacity(n);
    let mut cb = Vec::with_capacity(n);
    let mut cr = Vec::with_capacity(n);
    let unit = |v: f32| if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    for p in rgb.chunks_exact(3) {
        let (r, g, b) = (unit(p[0]), unit(p[1]), unit(p[2]));
        let luma = KR * r + KG * g + KB * b;
        y.push(code(16.0 + 219.0 * luma));
        cb.push(128.0 + 224.0 * (b - luma) / (2.0 * (1.0 - KB)));
        cr.push(128.0 + 224.0 * (r - luma) / (2.0 * (1.0 - KR)));
    }
    (y, cb, cr)
}

/// Rounds a code value to a byte, clamping.
pub(super) fn code(v: f32) -> u8 {
    byte(v)
}

/// Downsamples a chroma plane to 4:2:0 with MPEG-2 siting: each output
/// sample sits on an even luma column, halfway between two luma rows, so it
/// is the [1, 2, 1] / 4 filter around its column applied to the mean of the
/// two rows (edges repeat the last sample).
pub(super) fn downsample_mpeg2(plane: &[f32], width: usize, height: usize) -> Vec<u8> {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    let mut out = Vec::with_capacity(cw * ch);
    let mut rows = vec![0.0f32; width];
    for i in 0..ch {
        let r0 = &plane[2 * i * width..][..width];
        let r1 = &plane[(2 * i + 1).min(height - 1) * width..][..width];
        for ((m, &a), &b) in rows.iter_mut().zip(r0).zip(r1) {
            *m = 0.5 * (a + b);
        }
        for j in 0..cw {
            let x = 2 * j;
            let left = rows[x.saturating_sub(1)];
            let right = rows[(x + 1).min(width - 1)];
            out.push(code(0.25 * left + 0.5 * rows[x] + 0.25 * right));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_colours_by_hand() {
        // Y=100, Cb=150, Cr=80. Limited: y'=84/219, cb=22/224, cr=-48/224;
        // R = y' + 1.402 cr = 0.08313 -> 21.2; B = y' + 1.772 cb = 0.55760
        // -> 142.2; G = (y' - .299 R - .114 B) / .587 = 0.50279 -> 128.2.
        // Full: y'=100/255, cb=22/255, cr=-48/255 -> 32.7, 126.7, 139.0.
        let mut out = [0u8; 3];
        let mut out2 = [0u8; 6];
        ycbcr_to_rgb(&[100], &[150.0], &[80.0], Range::Limited, &mut out);
        assert_eq!(out, [21, 128, 142]);
        ycbcr_to_rgb(&[100], &[150.0], &[80.0], Range::Full, &mut out);
        assert_eq!(out, [33, 127, 139]);
        // Black, white and beyond-white clamp.
        ycbcr_to_rgb(&[16], &[128.0], &[128.0], Range::Limited, &mut out);
        assert_eq!(out, [0, 0, 0]);
        ycbcr_to_rgb(&[235], &[128.0], &[128.0], Range::Limited, &mut out);
        assert_eq!(out, [255, 255, 255]);
        ycbcr_to_rgb(
            &[255, 0],
            &[128.0; 2],
            &[128.0; 2],
            Range::Limited,
            &mut out2,
        );
        assert_eq!(out2, [255, 255, 255, 0, 0, 0]);
        gray_to_rgb(&[126], Range::Limited, &mut out);
        assert_eq!(out, [128, 128, 128]);
        gray_to_rgb(&[126], Range::Full, &mut out);
        assert_eq!(out, [126, 126, 126]);
    }

    #[test]
    fn rgb_to_ycbcr_matches_the_bt601_table() {
        // Primaries in limited-range BT.601 (the usual published table).
        let (y, cb, cr) = rgb_to_ycbcr(&[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]);
        assert_eq!(y, [81, 145, 41]);
        let round = |v: &[f32]| v.iter().map(|&c| code(c)).collect::<Vec<_>>();
        assert_eq!(round(&cb), [90, 54, 240]);
        assert_eq!(round(&cr), [240, 34, 110]);
    }

    #[test]
    fn upsampling_follows_the_siting() {
        // A 2x1 chroma plane for a 4x1 picture: samples 10 and 30.
        let plane = [10u8, 30];
        let mut out = [0.0f32; 4];
        // Centred (JPEG): chroma at x = 0.5 and 2.5.
        Upsampler::new(4, 1, Siting::new(2, 1, 0.5, 0.0)).run(&plane, &mut out);
        assert_eq!(out, [10.0, 15.0, 25.0, 30.0]);
        // Co-sited (MPEG-2): chroma at x = 0 and 2.
        Upsampler::new(4, 1, Siting::new(2, 1, 0.0, 0.0)).run(&plane, &mut out);
        assert_eq!(out, [10.0, 20.0, 30.0, 30.0]);
        // Vertically, PAL-DV Cb sits on the lower row of each pair.
        let mut col = [0.0f32; 4];
        Upsampler::new(1, 4, Siting::new(1, 2, 0.0, 1.0)).run(&plane, &mut col);
        assert_eq!(col, [10.0, 10.0, 20.0, 30.0]);
    }

    #[test]
    fn mpeg2_downsampling_filters_around_even_columns() {
        // 3x2 plane: rows average to [10, 20, 60]; odd width and height.
        let plane = [0.0, 20.0, 60.0, 20.0, 20.0, 60.0];
        // Column 0: (10 + 2*10 + 20) / 4 = 12.5; column 2: (20 + 120 + 60) / 4.
        assert_eq!(downsample_mpeg2(&plane, 3, 2), [13, 50]);
        // One row: the lower row repeats the upper one.
        assert_eq!(downsample_mpeg2(&[8.0], 1, 1), [8]);
    }
}
