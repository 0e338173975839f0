// src/cuda/kernels.cu compiled for the CPU, for tests/kernels.rs: each
// host_<kernel> runs a kernel's grid one thread at a time. That is a
// faithful run only of kernels whose threads never wait for or read each
// other (no __syncthreads, no shared memory); the loss reductions, which
// do, are not exported here.

#include <math.h>

struct Dim3 {
    unsigned x, y, z;
};

// Per OS thread, so that tests may run kernels side by side.
static thread_local Dim3 blockIdx, threadIdx, blockDim, gridDim;

#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
static inline void __syncthreads() {}

#include "../../src/cuda/kernels.cu"

template <class F>
static void launch(unsigned grid, unsigned block, F kernel) {
    gridDim = {grid, 1, 1};
    blockDim = {block, 1, 1};
    for (unsigned b = 0; b < grid; ++b) {
        for (unsigned t = 0; t < block; ++t) {
            blockIdx = {b, 0, 0};
            threadIdx = {t, 0, 0};
            kernel();
        }
    }
}

// What every layer kernel takes, in its order: tests/kernels.rs builds it
// as a #[repr(C)] struct of the same fields.
struct Layer {
    int h, d, siren;
    const float* x;
    int has_p;
    const float *p, *wm, *bm, *wb, *bb;
    float omega0, omega;
};

#define LAYER(l) \
    (l).h, (l).d, (l).siren, (l).x, (l).has_p, (l).p, (l).wm, (l).bm, (l).wb, (l).bb, \
        (l).omega0, (l).omega

extern "C" {

void host_layer_forward(unsigned grid, unsigned block, long long total, const Layer* l,
                        float* z) {
    launch(grid, block, [&] { layer_forward(total, LAYER(*l), z); });
}

void host_layer_backward(unsigned grid, unsigned block, long long total, const Layer* l,
                         float* g, float* gq) {
    launch(grid, block, [&] { layer_backward(total, LAYER(*l), g, gq); });
}

void host_layer_forward_rows(unsigned grid, unsigned block, int n, int rows, const Layer* l,
                             float* z) {
    launch(grid, block, [&] { layer_forward_rows(n, rows, LAYER(*l), z); });
}

void host_layer_backward_sums(unsigned grid, unsigned block, int n, int rows, const Layer* l,
                              int c, const float* dy, const float* wo, float* g,
                              float* partial) {
    launch(grid, block,
           [&] { layer_backward_sums(n, rows, LAYER(*l), c, dy, wo, g, partial); });
}

void host_sum_blocks(unsigned grid, unsigned block, int blocks, int group, int len,
                     const float* in, float* out) {
    launch(grid, block, [&] { sum_blocks(blocks, group, len, in, out); });
}

}
