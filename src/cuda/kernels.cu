// The kernels of scone's CUDA engine for SCONE sin² and SIREN networks
// (src/cuda/engine.rs), compiled with NVRTC when the engine starts. Matrix
// products run in cuBLAS; these kernels do everything between them.
//
// Buffers are row-major. A hidden layer (FORMAT.md §6) computes, with
// a = z_in·wm + bm and q = x·wb + bb,
//   SCONE sin² (siren = 0): z_out = sin²(ω₀a) · sin(ωq),
//   SIREN      (siren = 1): z_out = sin(ω₀a), wm and bm being the layer's
//                           weight and bias; wb, bb and ω are not read,
// where x is the network input ([n, d], d ≤ 3). The engine passes
// z_in·wm = p (a cuBLAS product) for the wide layers, and has_p = 0 for
// the first layer, whose z_in is x itself: that product is then summed
// here, in f32, since a coordinate rounded to tf32 and multiplied by ω
// would move a sine by more than the decoder's tolerance.
//
// The elementwise kernels' loops are grid-strided, so any grid covers any
// n; the row kernels (below) take the grids that Engine::forward_grid and
// Engine::backward_grid give.
//
// tests/kernels/host.cpp compiles this file for the CPU and tests/kernels.rs
// holds the kernels whose threads never wait for each other against Rust
// twins: keep to what both NVRTC and a C++17 compiler accept.

extern "C" {

// a and q of value i (q is 0 for SIREN).
__device__ __forceinline__ void layer_pre(long long i, int h, int d, int siren, const float* x,
                                          int has_p, const float* p, const float* wm,
                                          const float* bm, const float* wb, const float* bb,
                                          float* a_out, float* q_out) {
    long long r = i / h;
    int j = (int)(i - r * h);
    const float* xr = x + r * d;
    float a = has_p ? p[i] : 0.0f;
    float q = siren ? 0.0f : bb[j];
    for (int t = 0; t < d; ++t) {
        if (!has_p) a = fmaf(xr[t], wm[t * h + j], a);
        if (!siren) q = fmaf(xr[t], wb[t * h + j], q);
    }
    *a_out = a + bm[j];
    *q_out = q;
}

// z[i] = z_out for the n·h values of one hidden layer.
__global__ void layer_forward(long long total, int h, int d, int siren, const float* x,
                              int has_p, const float* p, const float* wm, const float* bm,
                              const float* wb, const float* bb, float omega0, float omega,
                              float* z) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float a, q;
        layer_pre(i, h, d, siren, x, has_p, p, wm, bm, wb, bb, &a, &q);
        float s = sinf(omega0 * a);
        z[i] = siren ? s : s * s * sinf(omega * q);
    }
}

// g holds dL/dz_out on entry and dL/da on return; for SCONE, gq gets
// dL/dq (SIREN leaves it alone):
//   SCONE: d/da sin²(ω₀a) = 2ω₀ sin(ω₀a) cos(ω₀a),  d/dq sin(ωq) = ω cos(ωq);
//   SIREN: d/da sin(ω₀a) = ω₀ cos(ω₀a).
__global__ void layer_backward(long long total, int h, int d, int siren, const float* x,
                               int has_p, const float* p, const float* wm, const float* bm,
                               const float* wb, const float* bb, float omega0, float omega,
                               float* g, float* gq) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float a, q, sa, ca;
        layer_pre(i, h, d, siren, x, has_p, p, wm, bm, wb, bb, &a, &q);
        sincosf(omega0 * a, &sa, &ca);
        float go = g[i];
        if (siren) {
            g[i] = go * omega0 * ca;
        } else {
            float sb, cb;
            sincosf(omega * q, &sb, &cb);
            g[i] = go * omega0 * 2.0f * sa * ca * sb;
            gq[i] = go * omega * sa * sa * cb;
        }
    }
}

// The row kernels (layer_forward_rows, layer_backward_sums) lay a layer out
// by rows: block b takes rows [b·rows, (b+1)·rows) ∩ [0, n), and thread t
// the columns t, t + blockDim.x, … < h. A warp reads consecutive values of
// a row, and a thread reads its column's parameters once, not once per
// value. They compute what layer_forward and layer_backward compute, in
// the same order. A thread walks its rows ROW_BATCH at a time, loading a
// batch's values before it computes and stores any, so that the loads are
// in flight together.
#define ROW_BATCH 4

// Column j's parameters: the first layer's mask weights (has_p = 0) and
// the basis weights (SCONE), for t < d ≤ 3; zero beyond d and where
// unused.
__device__ __forceinline__ void column(int j, int h, int d, int siren, int has_p,
                                       const float* __restrict__ wm,
                                       const float* __restrict__ wb, float* wmj, float* wbj) {
#pragma unroll
    for (int t = 0; t < 3; ++t) {
        wmj[t] = (t < d && !has_p) ? wm[t * h + j] : 0.0f;
        wbj[t] = (t < d && !siren) ? wb[t * h + j] : 0.0f;
    }
}

// layer_pre for one row xr of x, with column j's parameters loaded (bbj
// is 0 for SIREN).
__device__ __forceinline__ void row_pre(const float* __restrict__ xr, int d, int siren,
                                        int has_p, float pi, const float* wmj, const float* wbj,
                                        float bmj, float bbj, float* a_out, float* q_out) {
    float a = has_p ? pi : 0.0f;
    float q = bbj;
#pragma unroll
    for (int t = 0; t < 3; ++t) {
        if (t < d) {
            if (!has_p) a = fmaf(xr[t], wmj[t], a);
            if (!siren) q = fmaf(xr[t], wbj[t], q);
        }
    }
    *a_out = a + bmj;
    *q_out = q;
}

// layer_forward in the row layout.
__global__ void layer_forward_rows(int n, int rows, int h, int d, int siren,
                                   const float* __restrict__ x, int has_p,
                                   const float* __restrict__ p,
                                   const float* __restrict__ wm, const float* __restrict__ bm,
                                   const float* __restrict__ wb, const float* __restrict__ bb,
                                   float omega0, float omega, float* __restrict__ z) {
    long long r0 = (long long)blockIdx.x * rows;
    long long r1 = r0 + rows < n ? r0 + rows : n;
    for (int j = threadIdx.x; j < h; j += blockDim.x) {
        float wmj[3], wbj[3];
        column(j, h, d, siren, has_p, wm, wb, wmj, wbj);
        float bmj = bm[j], bbj = siren ? 0.0f : bb[j];
        for (long long r = r0; r < r1; r += ROW_BATCH) {
            float pv[ROW_BATCH];
#pragma unroll
            for (int u = 0; u < ROW_BATCH; ++u) {
                pv[u] = (has_p && r + u < r1) ? p[(r + u) * h + j] : 0.0f;
            }
#pragma unroll
            for (int u = 0; u < ROW_BATCH; ++u) {
                if (r + u < r1) {
                    float a, q;
                    row_pre(x + (r + u) * d, d, siren, has_p, pv[u], wmj, wbj, bmj, bbj, &a,
                            &q);
                    float s = sinf(omega0 * a);
                    z[(r + u) * h + j] = siren ? s : s * s * sinf(omega * q);
                }
            }
        }
    }
}

// The most outputs that layer_backward_sums takes the output layer's
// products into (the engine uses cuBLAS for wider outputs).
#define MAX_OUT 4

// layer_backward in the row layout, which also sums the layer's small
// gradients over the block's rows, so that no product has to read the
// layer's gradients back. With gp = dL/da and gq = dL/dq as in
// layer_backward:
// - has_p = 1: gp replaces g (it flows on through wm); gq is only summed.
// - has_p = 0 (the first layer): nothing flows on, and g is left as is.
// For the last hidden layer, c (1 ≤ c ≤ MAX_OUT) takes in the output
// layer: dL/dz is computed here as dy·woᵀ (dy = dL/dy, [n, c]; wo
// [h, c]) instead of read from g, and the output weight's gradient zᵀ·dy
// is summed from z_out. Other layers pass c = 0 (dy and wo are then not
// read).
// Each block writes its sums as width values per column, in the order of
// the layer's tensors (and then the output weight's) in the flat gradient
// buffer:
//   has_p = 0: Σ x_t·gp (t < d: mask weight, [d, h]),
//   always:    Σ gp (mask bias),
//   SCONE:     Σ x_t·gq (t < d: basis weight, [d, h]), Σ gq (basis bias),
//   c > 0:     Σ z·dy_t (output weight, [h, c]);
// width = 1 + (has_p ? 0 : d) + (siren ? 0 : d + 1) + c. The block's run of
// width·h values starts at partial + blockIdx.x·width·h; sum_blocks then
// adds the blocks.
__global__ void layer_backward_sums(int n, int rows, int h, int d, int siren,
                                    const float* __restrict__ x, int has_p,
                                    const float* __restrict__ p,
                                    const float* __restrict__ wm, const float* __restrict__ bm,
                                    const float* __restrict__ wb, const float* __restrict__ bb,
                                    float omega0, float omega, int c,
                                    const float* __restrict__ dy, const float* __restrict__ wo,
                                    float* __restrict__ g, float* __restrict__ partial) {
    long long r0 = (long long)blockIdx.x * rows;
    long long r1 = r0 + rows < n ? r0 + rows : n;
    int width = 1 + (has_p ? 0 : d) + (siren ? 0 : d + 1) + c;
    for (int j = threadIdx.x; j < h; j += blockDim.x) {
        float wmj[3], wbj[3], woj[MAX_OUT];
        column(j, h, d, siren, has_p, wm, wb, wmj, wbj);
#pragma unroll
        for (int t = 0; t < MAX_OUT; ++t) woj[t] = t < c ? wo[j * c + t] : 0.0f;
        float bmj = bm[j], bbj = siren ? 0.0f : bb[j];
        float s_gp = 0.0f, s_gq = 0.0f;
        float s_xgp[3] = {0.0f, 0.0f, 0.0f}, s_xgq[3] = {0.0f, 0.0f, 0.0f};
        float s_zdy[MAX_OUT] = {0.0f, 0.0f, 0.0f, 0.0f};
        for (long long r = r0; r < r1; r += ROW_BATCH) {
            float pv[ROW_BATCH], gv[ROW_BATCH];
#pragma unroll
            for (int u = 0; u < ROW_BATCH; ++u) {
                long long i = (r + u) * h + j;
                bool in = r + u < r1;
                pv[u] = (has_p && in) ? p[i] : 0.0f;
                gv[u] = (c == 0 && in) ? g[i] : 0.0f;
            }
#pragma unroll
            for (int u = 0; u < ROW_BATCH; ++u) {
                if (r + u < r1) {
                    long long i = (r + u) * h + j;
                    const float* xr = x + (r + u) * d;
                    const float* dyr = dy + (r + u) * c;
                    float a, q, sa, ca, sb = 0.0f, cb = 0.0f;
                    row_pre(xr, d, siren, has_p, pv[u], wmj, wbj, bmj, bbj, &a, &q);
                    sincosf(omega0 * a, &sa, &ca);
                    if (!siren) sincosf(omega * q, &sb, &cb);
                    float go = gv[u];
                    if (c > 0) {
                        go = 0.0f;
#pragma unroll
                        for (int t = 0; t < MAX_OUT; ++t) {
                            if (t < c) go = fmaf(dyr[t], woj[t], go);
                        }
                    }
                    float gp = siren ? go * omega0 * ca : go * omega0 * 2.0f * sa * ca * sb;
                    float gq = siren ? 0.0f : go * omega * sa * sa * cb;
                    if (has_p) g[i] = gp;
                    s_gp += gp;
                    s_gq += gq;
#pragma unroll
                    for (int t = 0; t < 3; ++t) {
                        if (t < d) {
                            s_xgq[t] = fmaf(xr[t], gq, s_xgq[t]);
                            if (!has_p) s_xgp[t] = fmaf(xr[t], gp, s_xgp[t]);
                        }
                    }
                    if (c > 0) {
                        float zv = siren ? sa : sa * sa * sb;
#pragma unroll
                        for (int t = 0; t < MAX_OUT; ++t) {
                            if (t < c) s_zdy[t] = fmaf(zv, dyr[t], s_zdy[t]);
                        }
                    }
                }
            }
        }
        float* out = partial + (long long)blockIdx.x * width * h;
        int k = 0;
#pragma unroll
        for (int t = 0; t < 3; ++t) {
            if (t < d && !has_p) out[(long long)(k++) * h + j] = s_xgp[t];
        }
        out[(long long)(k++) * h + j] = s_gp;
        if (!siren) {
#pragma unroll
            for (int t = 0; t < 3; ++t) {
                if (t < d) out[(long long)(k++) * h + j] = s_xgq[t];
            }
            out[(long long)(k++) * h + j] = s_gq;
        }
#pragma unroll
        for (int t = 0; t < MAX_OUT; ++t) {
            if (t < c) out[(long long)k * h + j * c + t] = s_zdy[t];
        }
    }
}

// out[c·len + k] = Σ in[b·len + k] over the blocks b of group c, that is
// b in [c·group, (c+1)·group) ∩ [0, blocks), added in order of b, for
// k < len and c < ⌈blocks / group⌉.
__global__ void sum_blocks(int blocks, int group, int len, const float* in, float* out) {
    long long groups = (blocks + group - 1) / group;
    long long total = groups * len;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        long long c = i / len;
        long long k = i - c * len;
        long long b1 = (c + 1) * group < blocks ? (c + 1) * group : blocks;
        float sum = 0.0f;
        for (long long b = c * group; b < b1; ++b) sum += in[b * len + k];
        out[i] = sum;
    }
}

// y[i] += bo[i % c].
__global__ void add_bias(long long total, int c, float* y, const float* bo) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        y[i] += bo[i % c];
    }
}

// e = y + bo − t; y := scale·e (the loss gradient); partial[block] = Σ e²
// over the block's values. Blocks of 256 threads.
__global__ void mse_grad(long long total, int c, float* y, const float* bo, const float* t,
                         float scale, double* partial) {
    __shared__ double sums[256];
    double sum = 0.0;
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float e = y[i] + bo[i % c] - t[i];
        sum += (double)(e * e);
        y[i] = e * scale;
    }
    sums[threadIdx.x] = sum;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sums[threadIdx.x] += sums[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = sums[0];
}

// out[0] = Σ partial[0..m) / count, in one block of 256 threads.
__global__ void mean_of(int m, const double* partial, double count, float* out) {
    __shared__ double sums[256];
    double sum = 0.0;
    for (int i = threadIdx.x; i < m; i += blockDim.x) sum += partial[i];
    sums[threadIdx.x] = sum;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) sums[threadIdx.x] += sums[threadIdx.x + s];
        __syncthreads();
    }
    if (threadIdx.x == 0) out[0] = (float)(sums[0] / count);
}

// Adam, burn's formulation: factor = √(1−β₂ᵗ)/(1−β₁ᵗ), eps = ε·√(1−β₂ᵗ).
__global__ void adam(long long total, float* w, const float* g, float* m, float* v, float lr,
                     float factor, float eps, float beta1, float beta2) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float gi = g[i];
        float mi = m[i] * beta1 + gi * (1.0f - beta1);
        float vi = v[i] * beta2 + gi * gi * (1.0f - beta2);
        m[i] = mi;
        v[i] = vi;
        w[i] -= lr * (mi * factor / (sqrtf(vi) + eps));
    }
}

__device__ __forceinline__ unsigned long long mix64(unsigned long long z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

// Row r of a random batch is row mix64(seed, draw, r) mod len of the pool.
__global__ void gather_random(int b, long long len, int d, int c, const float* xs,
                              const float* ys, float* xo, float* yo, unsigned long long seed,
                              unsigned long long draw) {
    for (long long r = blockIdx.x * (long long)blockDim.x + threadIdx.x; r < b;
         r += (long long)gridDim.x * blockDim.x) {
        unsigned long long k = mix64(seed ^ mix64(draw * 0x9e3779b97f4a7c15ULL + (unsigned long long)r));
        long long src = (long long)(k % (unsigned long long)len);
        for (int t = 0; t < d; ++t) xo[r * d + t] = xs[src * d + t];
        for (int t = 0; t < c; ++t) yo[r * c + t] = ys[src * c + t];
    }
}

}
