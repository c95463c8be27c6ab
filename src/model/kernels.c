/* kernels.c - plain C kernels: the reference linear layer (also used for
 * the small pooler/classifier), LayerNorm, GELU.
 *
 * The reference linear is a straightforward dot-product loop over W's rows
 * (W is [n_out][n_in], so each output is one contiguous dot product); it
 * exists to be obviously right, and tests compare oneDNN against it.
 */
#include "model_impl.h"

#include <math.h>

float rag_k_gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
}

static float epilogue(float v, float prev, rag_lin_epilogue ep)
{
    switch (ep) {
    case LIN_GELU:
        return rag_k_gelu(v);
    case LIN_RESIDUAL:
        return prev + v;
    case LIN_TANH:
        return tanhf(v);
    case LIN_PLAIN:
        break;
    }
    return v;
}

void rag_k_linear_ref(const rag_linear *l, const float *x, size_t m, float *y,
                      rag_lin_epilogue ep, int n_threads)
{
    const int n_out = l->n_out, n_in = l->n_in;
#pragma omp parallel for num_threads(n_threads) schedule(static) if (m * (size_t)n_out * (size_t)n_in > 65536)
    for (size_t i = 0; i < m; i++) {
        const float *xr = x + i * (size_t)n_in;
        float *yr = y + i * (size_t)n_out;
        for (int o = 0; o < n_out; o++) {
            const float *w = l->w + (size_t)o * (size_t)n_in;
            float acc = 0.0f;
            for (int k = 0; k < n_in; k++)
                acc += xr[k] * w[k];
            yr[o] = epilogue(acc + l->b[o], yr[o], ep);
        }
    }
}

void rag_k_layernorm(float *x, size_t m, int n, const float *g, const float *b,
                     float eps, int n_threads)
{
#pragma omp parallel for num_threads(n_threads) schedule(static) if (m * (size_t)n > 16384)
    for (size_t i = 0; i < m; i++) {
        float *r = x + i * (size_t)n;
        float mean = 0.0f, var = 0.0f, inv;
        for (int k = 0; k < n; k++)
            mean += r[k];
        mean /= (float)n;
        for (int k = 0; k < n; k++) {
            float d = r[k] - mean;
            var += d * d;
        }
        var /= (float)n;
        inv = 1.0f / sqrtf(var + eps);
        for (int k = 0; k < n; k++)
            r[k] = (r[k] - mean) * inv * g[k] + b[k];
    }
}
