//! Quality metrics on signals normalised to [0, 1].

#[cfg(all(feature = "media", feature = "mesh-io"))]
pub mod quality;

/// Mean squared error between two equally long slices.
pub fn mse(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len(), "mse of slices of different lengths");
    let sum: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
        .sum();
    sum / a.len().max(1) as f64
}

/// Peak signal-to-noise ratio in dB for values in [0, 1] (peak 1).
pub fn psnr(a: &[f32], b: &[f32]) -> f64 {
    psnr_from_mse(mse(a, b))
}

/// Mean and population standard deviation, as the paper's tables report
/// per-frame figures; (NaN, NaN) for an empty slice.
pub fn mean_std(values: &[f64]) -> (f64, f64) {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

/// PSNR in dB of a mean squared error on a peak-1 signal.
pub fn psnr_from_mse(mse: f64) -> f64 {
    if mse <= 0.0 {
        f64::INFINITY
    } else {
        -10.0 * mse.log10()
    }
}

/// SSIM (Wang et al. 2004) of two images with `channels` interleaved
/// channels, values in [0, 1]: an 11×11 Gaussian window with σ = 1.5,
/// K1 = 0.01, K2 = 0.03, evaluated where the window fits inside the image
/// ("valid" borders, as scikit-image's `gaussian_weights=True` does without
/// padding), averaged over positions and then over channels.
pub fn ssim(a: &[f32], b: &[f32], width: usize, height: usize, channels: usize) -> f64 {
    assert_eq!(a.len(), width * height * channels);
    assert_eq!(b.len(), a.len());
    const R: usize = 5;
    let g: Vec<f64> = (0..=2 * R)
        .map(|i| (-((i as f64 - R as f64).powi(2)) / (2.0 * 1.5f64.powi(2))).exp())
        .collect();
    let total: f64 = g.iter().sum();
    let g: Vec<f64> = g.iter().map(|v| v / total).collect();
    let (c1, c2) = (0.01f64.powi(2), 0.03f64.powi(2));
    if width < 2 * R + 1 || height < 2 * R + 1 {
        // Too small for the window: fall back to one global window.
        return ssim_global(a, b, channels, c1, c2);
    }
    let mut sum = 0.0;
    for c in 0..channels {
        let px = |img: &[f32], x: usize, y: usize| img[(y * width + x) * channels + c] as f64;
        // Separable blur of a, b, a², b², ab: horizontal pass, then vertical.
        let ow = width - 2 * R;
        let mut h = vec![[0f64; 5]; ow * height];
        for y in 0..height {
            for x in 0..ow {
                let mut acc = [0f64; 5];
                for (k, w) in g.iter().enumerate() {
                    let (u, v) = (px(a, x + k, y), px(b, x + k, y));
                    acc[0] += w * u;
                    acc[1] += w * v;
                    acc[2] += w * u * u;
                    acc[3] += w * v * v;
                    acc[4] += w * u * v;
                }
                h[y * ow + x] = acc;
            }
        }
        let oh = height - 2 * R;
        let mut channel_sum = 0.0;
        for y in 0..oh {
            for x in 0..ow {
                let mut m = [0f64; 5];
                for (k, w) in g.iter().enumerate() {
                    let row = &h[(y + k) * ow + x];
                    for i in 0..5 {
                        m[i] += w * row[i];
                    }
                }
                channel_sum += ssim_formula(m, c1, c2);
            }
        }
        sum += channel_sum / (ow * oh) as f64;
    }
    sum / channels as f64
}

fn ssim_formula(m: [f64; 5], c1: f64, c2: f64) -> f64 {
    let [ma, mb, aa, bb, ab] = m;
    let (va, vb, cov) = (aa - ma * ma, bb - mb * mb, ab - ma * mb);
    ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
}

fn ssim_global(a: &[f32], b: &[f32], channels: usize, c1: f64, c2: f64) -> f64 {
    let mut sum = 0.0;
    for c in 0..channels {
        let n = (a.len() / channels) as f64;
        let mut m = [0f64; 5];
        for (u, v) in a
            .iter()
            .skip(c)
            .step_by(channels)
            .zip(b.iter().skip(c).step_by(channels))
        {
            let (u, v) = (*u as f64, *v as f64);
            m[0] += u;
            m[1] += v;
            m[2] += u * u;
            m[3] += v * v;
            m[4] += u * v;
        }
        sum += ssim_formula(m.map(|s| s / n), c1, c2);
    }
    sum / channels as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psnr_of_known_error() {
        let a = vec![0.5f32; 100];
        let b = vec![0.6f32; 100];
        assert!((psnr(&a, &b) - 20.0).abs() < 1e-4);
        assert_eq!(psnr(&a, &a), f64::INFINITY);
    }

    #[test]
    fn ssim_is_one_for_identical_and_drops_with_noise() {
        let (w, h) = (32, 24);
        let a: Vec<f32> = (0..w * h * 3)
            .map(|i| ((i * 7919) % 251) as f32 / 250.0)
            .collect();
        assert!((ssim(&a, &a, w, h, 3) - 1.0).abs() < 1e-9);
        let b: Vec<f32> = a
            .iter()
            .enumerate()
            .map(|(i, v)| (v + if i % 2 == 0 { 0.1 } else { -0.1 }).clamp(0.0, 1.0))
            .collect();
        let s = ssim(&a, &b, w, h, 3);
        assert!(s < 0.95 && s > 0.0, "{s}");
    }
}
