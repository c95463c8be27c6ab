/* kernels.c - plain C kernels: the reference linear layer (also used for
 * the small pooler/classifier), LayerNorm, GELU, softmax, and the int8
 * activation quantisation and epilogue, with AVX2+FMA versions of the hot
 * ones chosen at run time.
 *
 * The reference linear is a straightforward dot-product loop over W's rows
 * (W is [n_out][n_in], so each output is one contiguous dot product); it
 * exists to be obviously right, and tests compare oneDNN against it.
 */
#include "model_impl.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

/* Hot loops: a scalar version (any x86-64) and an AVX2+FMA version chosen
 * per call with __builtin_cpu_supports; the build's baseline is x86-64-v2.
 * exp and erf are fast approximations (see below), accurate far beyond
 * what int8 needs and within the f32 test tolerance for softmax. */

/* e^x for x in [-87, 88] (rel. error ~2e-7): 2^(x log2 e) split into an
 * integer part (exponent bits) and a fraction (degree-6 polynomial). */
static inline float exp_scalar(float x)
{
    float t, fi, f, p, scale;
    uint32_t bits;
    x = x < -87.0f ? -87.0f : x > 88.0f ? 88.0f : x;
    t = x * 1.44269504088896341f;
    fi = floorf(t);
    f = t - fi;
    p = 1.535336188319500e-4f;
    p = p * f + 1.339887440266574e-3f;
    p = p * f + 9.618437357674640e-3f;
    p = p * f + 5.550332471162809e-2f;
    p = p * f + 2.402264791363012e-1f;
    p = p * f + 6.931472028550421e-1f;
    p = p * f + 1.0f;
    bits = (uint32_t)((int32_t)fi + 127) << 23;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* gelu(x) = x/2 (1 + erf(x/sqrt 2)); erf by Abramowitz & Stegun 7.1.26
 * (abs. error <= 1.5e-7). */
static inline float gelu_scalar(float x)
{
    float z = x * 0.70710678118654752f, a = fabsf(z);
    float t = 1.0f / (1.0f + 0.3275911f * a);
    float y = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t +
               0.254829592f) * t;
    float erf_a = 1.0f - y * exp_scalar(-a * a);
    return 0.5f * x * (1.0f + (z < 0.0f ? -erf_a : erf_a));
}

#define AVX2 __attribute__((target("avx2,fma")))

static AVX2 inline __m256 exp8(__m256 x)
{
    __m256 t, fi, f, p;
    __m256i e;
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.0f)), _mm256_set1_ps(-87.0f));
    t = _mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f));
    fi = _mm256_floor_ps(t);
    f = _mm256_sub_ps(t, fi);
    p = _mm256_set1_ps(1.535336188319500e-4f);
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.339887440266574e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(9.618437357674640e-3f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(5.550332471162809e-2f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(2.402264791363012e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(6.931472028550421e-1f));
    p = _mm256_fmadd_ps(p, f, _mm256_set1_ps(1.0f));
    e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(fi), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

static AVX2 inline __m256 gelu8(__m256 x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f), one = _mm256_set1_ps(1.0f);
    __m256 z = _mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f));
    __m256 a = _mm256_andnot_ps(sign, z);
    __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(_mm256_set1_ps(0.3275911f), a, one));
    __m256 y = _mm256_set1_ps(1.061405429f);
    __m256 erf_a;
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-1.453152027f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(1.421413741f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-0.284496736f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(0.254829592f));
    y = _mm256_mul_ps(y, t);
    erf_a = _mm256_fnmadd_ps(y, exp8(_mm256_xor_ps(_mm256_mul_ps(a, a), sign)), one);
    erf_a = _mm256_or_ps(erf_a, _mm256_and_ps(z, sign));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(one, erf_a));
}

static AVX2 inline float hmax8(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static AVX2 inline float hsum8(__m256 v)
{
    __m128 m = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_add_ps(m, _mm_movehl_ps(m, m));
    m = _mm_add_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
}

static int have_avx2(void)
{
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

static AVX2 void softmax_avx2(float *row, size_t len)
{
    size_t j = 0;
    float mx = -INFINITY, sum, inv;
    __m256 vm = _mm256_set1_ps(-INFINITY), vs = _mm256_setzero_ps(), vmx, vinv;
    for (; j + 8 <= len; j += 8)
        vm = _mm256_max_ps(vm, _mm256_loadu_ps(row + j));
    mx = hmax8(vm);
    for (; j < len; j++)
        mx = row[j] > mx ? row[j] : mx;
    vmx = _mm256_set1_ps(mx);
    for (j = 0; j + 8 <= len; j += 8) {
        __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(row + j), vmx));
        _mm256_storeu_ps(row + j, e);
        vs = _mm256_add_ps(vs, e);
    }
    sum = hsum8(vs);
    for (; j < len; j++) {
        row[j] = exp_scalar(row[j] - mx);
        sum += row[j];
    }
    inv = 1.0f / sum;
    vinv = _mm256_set1_ps(inv);
    for (j = 0; j + 8 <= len; j += 8)
        _mm256_storeu_ps(row + j, _mm256_mul_ps(_mm256_loadu_ps(row + j), vinv));
    for (; j < len; j++)
        row[j] *= inv;
}

void rag_k_softmax_row(float *row, size_t len, size_t n_cols)
{
    if (have_avx2()) {
        softmax_avx2(row, len);
    } else {
        float mx = -INFINITY, sum = 0.0f, inv;
        for (size_t j = 0; j < len; j++)
            mx = row[j] > mx ? row[j] : mx;
        for (size_t j = 0; j < len; j++) {
            row[j] = exp_scalar(row[j] - mx);
            sum += row[j];
        }
        inv = 1.0f / sum;
        for (size_t j = 0; j < len; j++)
            row[j] *= inv;
    }
    for (size_t j = len; j < n_cols; j++)
        row[j] = 0.0f;
}

static AVX2 void quant_avx2(const float *x, size_t k, uint8_t *q, float *scale)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 vm = _mm256_setzero_ps(), vinv, off = _mm256_set1_ps(128.5f);
    const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    float mx, inv;
    size_t i = 0;
    for (; i + 8 <= k; i += 8)
        vm = _mm256_max_ps(vm, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + i)));
    mx = hmax8(vm);
    for (; i < k; i++)
        mx = fabsf(x[i]) > mx ? fabsf(x[i]) : mx;
    *scale = mx > 0.0f ? mx / 127.0f : 1.0f;
    inv = 1.0f / *scale;
    vinv = _mm256_set1_ps(inv);
    for (i = 0; i + 32 <= k; i += 32) {
        /* values land in [1, 255]: truncation == floor */
        __m256i a = _mm256_cvttps_epi32(_mm256_fmadd_ps(_mm256_loadu_ps(x + i), vinv, off));
        __m256i b = _mm256_cvttps_epi32(_mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8), vinv, off));
        __m256i c = _mm256_cvttps_epi32(_mm256_fmadd_ps(_mm256_loadu_ps(x + i + 16), vinv, off));
        __m256i d = _mm256_cvttps_epi32(_mm256_fmadd_ps(_mm256_loadu_ps(x + i + 24), vinv, off));
        __m256i ab = _mm256_packus_epi32(a, b), cd = _mm256_packus_epi32(c, d);
        __m256i r = _mm256_packus_epi16(ab, cd);
        _mm256_storeu_si256((__m256i *)(q + i), _mm256_permutevar8x32_epi32(r, perm));
    }
    for (; i < k; i++)
        q[i] = (uint8_t)(int32_t)floorf(x[i] * inv + 128.5f);
}

void rag_k_quant_row_u8(const float *x, size_t k, uint8_t *q, float *scale)
{
    float mx = 0.0f, inv;
    if (have_avx2()) {
        quant_avx2(x, k, q, scale);
        return;
    }
    for (size_t i = 0; i < k; i++)
        mx = fabsf(x[i]) > mx ? fabsf(x[i]) : mx;
    *scale = mx > 0.0f ? mx / 127.0f : 1.0f;
    inv = 1.0f / *scale;
    for (size_t i = 0; i < k; i++)
        q[i] = (uint8_t)(int32_t)floorf(x[i] * inv + 128.5f);
}

static AVX2 size_t epilogue_avx2(const int32_t *acc, size_t n, float sx, const float *w_scale,
                                 const int32_t *w_comp, const float *bias, float *y,
                                 rag_lin_epilogue ep)
{
    const __m256 vsx = _mm256_set1_ps(sx);
    size_t j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256i a = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(acc + j)),
                                     _mm256_loadu_si256((const __m256i *)(w_comp + j)));
        __m256 v = _mm256_fmadd_ps(_mm256_mul_ps(vsx, _mm256_loadu_ps(w_scale + j)),
                                   _mm256_cvtepi32_ps(a), _mm256_loadu_ps(bias + j));
        if (ep == LIN_GELU)
            v = gelu8(v);
        else if (ep == LIN_RESIDUAL)
            v = _mm256_add_ps(v, _mm256_loadu_ps(y + j));
        else if (ep == LIN_TANH)
            break;
        _mm256_storeu_ps(y + j, v);
    }
    return j;
}

void rag_k_int8_epilogue(const int32_t *acc, size_t n, float sx, const float *w_scale,
                         const int32_t *w_comp, const float *bias, float *y,
                         rag_lin_epilogue ep)
{
    size_t j = have_avx2() ? epilogue_avx2(acc, n, sx, w_scale, w_comp, bias, y, ep) : 0;
    for (; j < n; j++) {
        float v = sx * w_scale[j] * (float)(acc[j] - w_comp[j]) + bias[j];
        if (ep == LIN_GELU)
            v = gelu_scalar(v);
        else if (ep == LIN_RESIDUAL)
            v += y[j];
        else if (ep == LIN_TANH)
            v = tanhf(v);
        y[j] = v;
    }
}

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
#pragma omp simd reduction(+ : mean)
        for (int k = 0; k < n; k++)
            mean += r[k];
        mean /= (float)n;
#pragma omp simd reduction(+ : var)
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
