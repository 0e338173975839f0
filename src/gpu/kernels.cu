// The elementwise kernels of scone's CUDA engine for SCONE sin² networks
// (src/gpu/engine.rs), compiled with NVRTC when the engine starts. Matrix
// products run in cuBLAS; these kernels do everything between them.
//
// Buffers are row-major. A hidden layer (FORMAT.md §6) computes
//   z_out = sin²(ω₀ (a + bm)) · sin(ω (x·wb + bb)),  a = z_in·wm,
// where x is the network input ([n, d], d ≤ 3). The engine passes a = p
// (a cuBLAS product) for the wide layers, and has_p = 0 for the first
// layer, whose z_in is x itself: a is then summed here, in f32, since a
// coordinate rounded to tf32 and multiplied by ω would move a sine by more
// than the decoder's tolerance.
//
// Every loop is grid-strided, so any grid covers any n.

extern "C" {

__device__ __forceinline__ void layer_pre(long long i, int h, int d, const float* x,
                                          int has_p, const float* p, const float* wm,
                                          const float* bm, const float* wb, const float* bb,
                                          float* a_out, float* q_out) {
    long long r = i / h;
    int j = (int)(i - r * h);
    const float* xr = x + r * d;
    float a = has_p ? p[i] : 0.0f;
    float q = bb[j];
    for (int t = 0; t < d; ++t) {
        if (!has_p) a = fmaf(xr[t], wm[t * h + j], a);
        q = fmaf(xr[t], wb[t * h + j], q);
    }
    *a_out = a + bm[j];
    *q_out = q;
}

// z[i] = sin²(ω₀ a) · sin(ω q) for the n·h values of one hidden layer.
__global__ void scone_forward(long long total, int h, int d, const float* x, int has_p,
                              const float* p, const float* wm, const float* bm,
                              const float* wb, const float* bb, float omega0, float omega,
                              float* z) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float a, q;
        layer_pre(i, h, d, x, has_p, p, wm, bm, wb, bb, &a, &q);
        float s = sinf(omega0 * a);
        z[i] = s * s * sinf(omega * q);
    }
}

// g holds dL/dz_out on entry and dL/da on return; gq gets dL/dq:
//   d/da sin²(ω₀a) = 2ω₀ sin(ω₀a) cos(ω₀a),  d/dq sin(ωq) = ω cos(ωq).
__global__ void scone_backward(long long total, int h, int d, const float* x, int has_p,
                               const float* p, const float* wm, const float* bm,
                               const float* wb, const float* bb, float omega0, float omega,
                               float* g, float* gq) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < total;
         i += (long long)gridDim.x * blockDim.x) {
        float a, q, sa, ca, sb, cb;
        layer_pre(i, h, d, x, has_p, p, wm, bm, wb, bb, &a, &q);
        sincosf(omega0 * a, &sa, &ca);
        sincosf(omega * q, &sb, &cb);
        float go = g[i];
        g[i] = go * omega0 * 2.0f * sa * ca * sb;
        gq[i] = go * omega * sa * sa * cb;
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
