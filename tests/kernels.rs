//! The CUDA engine's kernels (`src/cuda/kernels.cu`) on the CPU, held
//! against plain Rust twins, so that they are checked without a GPU.
//!
//! `tests/kernels/host.cpp` includes the CUDA source, compiled by the
//! system's C++ compiler (`$CXX`, else `c++`), and runs a kernel's grid
//! one thread at a time. That is a faithful run of every kernel here:
//! their threads never wait for or read each other. Grids and blocks are
//! chosen so that rows, columns and blocks do not divide evenly.
//! (On a GPU, tests/cuda.rs holds the whole engine against the host
//! engine.)

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

use libloading::{Library, Symbol};

/// What every layer kernel takes, in its order: tests/kernels/host.cpp's
/// `Layer`.
#[repr(C)]
struct LayerArgs {
    h: i32,
    d: i32,
    siren: i32,
    x: *const f32,
    has_p: i32,
    p: *const f32,
    wm: *const f32,
    bm: *const f32,
    wb: *const f32,
    bb: *const f32,
    omega0: f32,
    omega: f32,
}

// Each kernel's host wrapper: (grid, block, its own leading arguments,
// the layer, its outputs).
type Forward = unsafe extern "C" fn(u32, u32, i64, *const LayerArgs, *mut f32);
type ForwardRows = unsafe extern "C" fn(u32, u32, i32, i32, *const LayerArgs, *mut f32);
type Backward = unsafe extern "C" fn(u32, u32, i64, *const LayerArgs, *mut f32, *mut f32);
type BackwardSums = unsafe extern "C" fn(
    u32,
    u32,
    i32,
    i32,
    *const LayerArgs,
    i32,
    *const f32,
    *const f32,
    *mut f32,
    *mut f32,
);
type SumBlocks = unsafe extern "C" fn(u32, u32, i32, i32, i32, *const f32, *mut f32);

/// The kernels, compiled once per test process.
fn kernels() -> &'static Library {
    static LIB: OnceLock<(tempfile::TempDir, Library)> = OnceLock::new();
    &LIB.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("libscone_kernels.so");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/kernels/host.cpp");
        let cxx = std::env::var("CXX").unwrap_or_else(|_| "c++".into());
        let run = Command::new(&cxx)
            .args(["-std=c++17", "-O2", "-ffp-contract=off", "-fPIC", "-shared"])
            .args([
                "-Wall",
                "-Werror",
                "-Wno-unknown-pragmas",
                "-Wno-sign-compare",
            ])
            .arg("-o")
            .arg(&out)
            .arg(&src)
            .output()
            .unwrap_or_else(|e| panic!("these tests need a C++ compiler ({cxx}): {e}"));
        assert!(
            run.status.success(),
            "compiling the kernels for the CPU failed:\n{}",
            String::from_utf8_lossy(&run.stderr)
        );
        // SAFETY: the library is ours and has no initialisers beyond the
        // C++ runtime's.
        let lib = unsafe { Library::new(&out) }.unwrap();
        (dir, lib)
    })
    .1
}

fn symbol<T>(name: &[u8]) -> Symbol<'static, T> {
    // SAFETY: each name is bound to the type of its definition in
    // tests/kernels/host.cpp.
    unsafe { kernels().get(name) }.unwrap()
}

/// Values in [-1, 1) from a seed (SplitMix64).
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// One hidden layer's inputs: `n` rows of `d` coordinates, `h` columns;
/// `wm` is `[d, h]` for the first layer (`has_p` false) and unused
/// otherwise, where `p` (`[n, h]`) stands for `z_in·wm`. A SIREN layer
/// (`siren`) has only `wm` and `bm`.
struct Layer {
    n: usize,
    h: usize,
    d: usize,
    siren: bool,
    has_p: bool,
    x: Vec<f32>,
    p: Vec<f32>,
    wm: Vec<f32>,
    bm: Vec<f32>,
    wb: Vec<f32>,
    bb: Vec<f32>,
    omega0: f32,
    omega: f32,
}

impl Layer {
    fn new(n: usize, h: usize, d: usize, siren: bool, has_p: bool, seed: u64) -> Self {
        let scaled = |v: Vec<f32>, s: f32| v.into_iter().map(|x| x * s).collect();
        Self {
            n,
            h,
            d,
            siren,
            has_p,
            x: values(n * d, seed),
            p: scaled(values(n * h, seed + 1), 0.2),
            wm: scaled(values(d * h, seed + 2), 0.5),
            bm: scaled(values(h, seed + 3), 0.1),
            wb: values(d * h, seed + 4),
            bb: values(h, seed + 5),
            omega0: 30.0,
            omega: 7.0,
        }
    }

    /// The slow twin: `(a, q)` of row `r`, column `j`, in f64 (`q` is 0
    /// for SIREN).
    fn pre(&self, r: usize, j: usize) -> (f64, f64) {
        let (h, d) = (self.h, self.d);
        let mut a = if self.has_p {
            self.p[r * h + j] as f64
        } else {
            0.0
        };
        let mut q = self.bb[j] as f64;
        for t in 0..d {
            let xt = self.x[r * d + t] as f64;
            if !self.has_p {
                a += xt * self.wm[t * h + j] as f64;
            }
            q += xt * self.wb[t * h + j] as f64;
        }
        (a + self.bm[j] as f64, if self.siren { 0.0 } else { q })
    }

    /// The slow twin of the forward pass: `sin²(ω₀a)·sin(ωq)`, or for
    /// SIREN `sin(ω₀a)`.
    fn z(&self) -> Vec<f64> {
        let (w0, w) = (self.omega0 as f64, self.omega as f64);
        (0..self.n * self.h)
            .map(|i| {
                let (a, q) = self.pre(i / self.h, i % self.h);
                if self.siren {
                    (w0 * a).sin()
                } else {
                    (w0 * a).sin().powi(2) * (w * q).sin()
                }
            })
            .collect()
    }

    /// The slow twin of the backward pass, for `g = dL/dz`: `dL/da` and
    /// `dL/dq` of every value (0 for SIREN).
    fn grads(&self, g: &[f32]) -> (Vec<f64>, Vec<f64>) {
        let (w0, w) = (self.omega0 as f64, self.omega as f64);
        (0..self.n * self.h)
            .map(|i| {
                let (a, q) = self.pre(i / self.h, i % self.h);
                let (sa, ca) = (w0 * a).sin_cos();
                let (sb, cb) = (w * q).sin_cos();
                let go = g[i] as f64;
                if self.siren {
                    (go * w0 * ca, 0.0)
                } else {
                    (go * w0 * 2.0 * sa * ca * sb, go * w * sa * sa * cb)
                }
            })
            .unzip()
    }

    /// The row kernels' sums in their order (see layer_backward_sums):
    /// `[Σ x_t·gp (first layer only), Σ gp, Σ x_t·gq, Σ gq (SCONE
    /// only)]`, each `h` wide, from the twin's gradients; then, if the
    /// output layer is taken in (`c` outputs, gradient `dy`), `zᵀ·dy` as
    /// `[h, c]`.
    fn sums(&self, gp: &[f64], gq: &[f64], c: usize, dy: &[f32]) -> Vec<f64> {
        let (n, h, d) = (self.n, self.h, self.d);
        let col = |f: &dyn Fn(usize, usize) -> f64| -> Vec<f64> {
            (0..h).map(|j| (0..n).map(|r| f(r, j)).sum()).collect()
        };
        let x = |r: usize, t: usize| self.x[r * d + t] as f64;
        let mut out = Vec::new();
        if !self.has_p {
            for t in 0..d {
                out.extend(col(&|r, j| x(r, t) * gp[r * h + j]));
            }
        }
        out.extend(col(&|r, j| gp[r * h + j]));
        if !self.siren {
            for t in 0..d {
                out.extend(col(&|r, j| x(r, t) * gq[r * h + j]));
            }
            out.extend(col(&|r, j| gq[r * h + j]));
        }
        if c > 0 {
            let z = self.z();
            for j in 0..h {
                for t in 0..c {
                    out.push((0..n).map(|r| z[r * h + j] * dy[r * c + t] as f64).sum());
                }
            }
        }
        out
    }

    /// The kernels' view of this layer (pointers into it).
    fn args(&self) -> LayerArgs {
        LayerArgs {
            h: self.h as i32,
            d: self.d as i32,
            siren: self.siren as i32,
            x: self.x.as_ptr(),
            has_p: self.has_p as i32,
            p: self.p.as_ptr(),
            wm: self.wm.as_ptr(),
            bm: self.bm.as_ptr(),
            wb: self.wb.as_ptr(),
            bb: self.bb.as_ptr(),
            omega0: self.omega0,
            omega: self.omega,
        }
    }

    /// Values per column of the row kernel's sums.
    fn width(&self, c: usize) -> usize {
        let first = if self.has_p { 0 } else { self.d };
        let basis = if self.siren { 0 } else { self.d + 1 };
        1 + first + basis + c
    }
}

/// Shapes that exercise the grids: columns over several passes of a
/// block's threads, a last block of fewer rows, one row, d = 1, 2, 3,
/// and for the backward kernel 1 to 4 outputs taken in.
/// `(n, h, d, threads, rows per block, outputs)`.
const SHAPES: [(usize, usize, usize, u32, usize, usize); 4] = [
    (37, 70, 2, 32, 5, 3),
    (100, 250, 3, 256, 16, 1),
    (1, 1, 1, 32, 16, 2),
    (50, 40, 2, 64, 50, 4),
];

fn max_diff(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .fold(0f64, |m, (&x, &y)| m.max((x as f64 - y).abs()))
}

fn max_abs(v: &[f64]) -> f64 {
    v.iter().fold(0f64, |m, x| m.max(x.abs()))
}

#[test]
fn the_forward_row_kernel_matches_the_elementwise_kernel_and_the_twin() {
    let rows_k: Symbol<ForwardRows> = symbol(b"host_layer_forward_rows");
    let flat_k: Symbol<Forward> = symbol(b"host_layer_forward");
    for (s, &(n, h, d, threads, rows, _)) in SHAPES.iter().enumerate() {
        for (siren, has_p) in [(false, false), (false, true), (true, false), (true, true)] {
            let l = Layer::new(n, h, d, siren, has_p, 10 * s as u64);
            let blocks = n.div_ceil(rows) as u32;
            let (mut z_rows, mut z_flat) = (vec![f32::NAN; n * h], vec![f32::NAN; n * h]);
            let args = l.args();
            // SAFETY: every buffer holds what the kernels read or write,
            // and `args` points into `l`, which outlives the calls.
            unsafe {
                rows_k(
                    blocks,
                    threads,
                    n as i32,
                    rows as i32,
                    &args,
                    z_rows.as_mut_ptr(),
                );
                // Fewer threads than values: the grid strides.
                flat_k(3, 32, (n * h) as i64, &args, z_flat.as_mut_ptr());
            }
            let label = format!("n={n} h={h} d={d} siren={siren} has_p={has_p}");
            let same = z_rows
                .iter()
                .zip(&z_flat)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{label}: the two forward kernels differ");
            let diff = max_diff(&z_rows, &l.z());
            assert!(diff < 1e-5, "{label}: {diff:e} from the f64 twin");
        }
    }
}

#[test]
fn the_backward_row_kernel_sums_what_the_elementwise_kernel_computes() {
    let sums_k: Symbol<BackwardSums> = symbol(b"host_layer_backward_sums");
    let flat_k: Symbol<Backward> = symbol(b"host_layer_backward");
    let add_k: Symbol<SumBlocks> = symbol(b"host_sum_blocks");
    for (s, &(n, h, d, threads, rows, outputs)) in SHAPES.iter().enumerate() {
        let cases = [(false, 0), (true, 0), (false, outputs), (true, outputs)];
        for (siren, (has_p, c)) in [false, true]
            .into_iter()
            .flat_map(|siren| cases.map(|case| (siren, case)))
        {
            let label = format!("n={n} h={h} d={d} siren={siren} has_p={has_p} c={c}");
            let l = Layer::new(n, h, d, siren, has_p, 100 + 10 * s as u64);
            // dL/dz: from g, or with the output layer taken in, dy·woᵀ
            // (as the kernel adds it, so that the elementwise kernel can
            // start from the same values).
            let (dy, wo) = (values(n * c, 40 + s as u64), values(h * c, 50 + s as u64));
            let g_in = if c == 0 {
                values(n * h, 7 + s as u64)
            } else {
                (0..n * h)
                    .map(|i| {
                        let (r, j) = (i / h, i % h);
                        (0..c).fold(0f32, |go, t| dy[r * c + t].mul_add(wo[j * c + t], go))
                    })
                    .collect()
            };
            let blocks = n.div_ceil(rows);
            let width = l.width(c);
            // With the output layer taken in, g is not read: NaN shows it.
            let mut g_rows = if c == 0 {
                g_in.clone()
            } else {
                vec![f32::NAN; n * h]
            };
            let mut g_flat = g_in.clone();
            let mut gq_flat = vec![f32::NAN; n * h];
            let mut partial = vec![f32::NAN; blocks * width * h];
            let mut sums = vec![f32::NAN; width * h];
            let args = l.args();
            // SAFETY: every buffer holds what the kernels read or write,
            // and `args` points into `l`, which outlives the calls.
            unsafe {
                sums_k(
                    blocks as u32,
                    threads,
                    n as i32,
                    rows as i32,
                    &args,
                    c as i32,
                    dy.as_ptr(),
                    wo.as_ptr(),
                    g_rows.as_mut_ptr(),
                    partial.as_mut_ptr(),
                );
                flat_k(
                    2,
                    64,
                    (n * h) as i64,
                    &args,
                    g_flat.as_mut_ptr(),
                    gq_flat.as_mut_ptr(),
                );
                add_k(
                    1,
                    32,
                    blocks as i32,
                    blocks as i32,
                    (width * h) as i32,
                    partial.as_ptr(),
                    sums.as_mut_ptr(),
                );
            }
            let (gp, gq) = l.grads(&g_in);
            // What flows on: gp in place of g after a wide layer; after
            // the first, g is left as it was.
            if has_p {
                let same = g_rows
                    .iter()
                    .zip(&g_flat)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{label}: dL/da differs between the kernels");
                let diff = max_diff(&g_rows, &gp);
                assert!(diff <= 1e-5 * max_abs(&gp), "{label}: dL/da {diff:e}");
            } else if c == 0 {
                assert_eq!(g_rows, g_in, "{label}: the first layer changed g");
            } else {
                assert!(g_rows.iter().all(|v| v.is_nan()), "{label}: g was written");
            }
            if siren {
                assert!(
                    gq_flat.iter().all(|v| v.is_nan()),
                    "{label}: gq was written"
                );
            } else {
                let diff = max_diff(&gq_flat, &gq);
                assert!(diff <= 1e-5 * max_abs(&gq), "{label}: dL/dq {diff:e}");
            }
            // The sums, tensor by tensor (h values each), against the
            // twin's.
            let want = l.sums(&gp, &gq, c, &dy);
            assert_eq!(want.len(), sums.len());
            for (k, (ours, theirs)) in sums.chunks(h).zip(want.chunks(h)).enumerate() {
                let diff = max_diff(ours, theirs);
                let scale = max_abs(theirs).max(1e-6);
                assert!(diff <= 1e-5 * scale, "{label}: sum {k} off by {diff:e}");
            }
        }
    }
}

#[test]
fn sum_blocks_adds_in_block_order_in_one_or_two_levels() {
    let add_k: Symbol<SumBlocks> = symbol(b"host_sum_blocks");
    let (blocks, len, group) = (70usize, 45usize, 32usize);
    let partial = values(blocks * len, 3);
    let groups = blocks.div_ceil(group);
    // The twin: each group added in order, then the groups in order.
    let in_order = |v: &[f32], from: usize, to: usize, k: usize| {
        (from..to).fold(0f32, |s, b| s + v[b * len + k])
    };
    let grouped_want: Vec<f32> = (0..groups * len)
        .map(|i| {
            let (c, k) = (i / len, i % len);
            in_order(&partial, c * group, ((c + 1) * group).min(blocks), k)
        })
        .collect();
    let want: Vec<f32> = (0..len)
        .map(|k| in_order(&grouped_want, 0, groups, k))
        .collect();
    let mut grouped = vec![f32::NAN; groups * len];
    let mut out = vec![f32::NAN; len];
    let mut one_level = vec![f32::NAN; len];
    // SAFETY: every buffer holds what the kernel reads or writes.
    unsafe {
        add_k(
            2,
            32,
            blocks as i32,
            group as i32,
            len as i32,
            partial.as_ptr(),
            grouped.as_mut_ptr(),
        );
        add_k(
            1,
            32,
            groups as i32,
            groups as i32,
            len as i32,
            grouped.as_ptr(),
            out.as_mut_ptr(),
        );
        add_k(
            4,
            16,
            blocks as i32,
            blocks as i32,
            len as i32,
            partial.as_ptr(),
            one_level.as_mut_ptr(),
        );
    }
    assert_eq!(grouped, grouped_want);
    assert_eq!(out, want);
    let flat: Vec<f32> = (0..len).map(|k| in_order(&partial, 0, blocks, k)).collect();
    assert_eq!(one_level, flat);
}
