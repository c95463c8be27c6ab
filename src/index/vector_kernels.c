/* vector_kernels.c - dot products of one query with many rows: scalar,
 * AVX2+FMA and AVX-512F, each compiled with a function target attribute so
 * the library itself stays at the baseline ISA; rag_vec_kernel_best picks
 * one at run time with __builtin_cpu_supports.
 *
 * Rows are padded with zeros to a multiple of 16 floats (64 int8), so the
 * SIMD loops have no tails.
 */
#include "vector_index.h"

#include <immintrin.h>

/* ---- scalar ----------------------------------------------------------- */

static void dot_f32_scalar(const float *rows, size_t n_rows, size_t stride,
                           const float *q, size_t n, float *out)
{
    for (size_t r = 0; r < n_rows; r++) {
        const float *x = rows + r * stride;
        float acc[8] = {0};
        for (size_t j = 0; j < n; j += 8)
            for (size_t l = 0; l < 8; l++)
                acc[l] += x[j + l] * q[j + l];
        out[r] = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                 ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    }
}

static void dot_i8_scalar(const int8_t *rows, size_t n_rows, size_t stride,
                          const int8_t *q, size_t n, int32_t *out)
{
    for (size_t r = 0; r < n_rows; r++) {
        const int8_t *x = rows + r * stride;
        int32_t acc = 0;
        for (size_t j = 0; j < n; j++)
            acc += (int32_t)x[j] * q[j];
        out[r] = acc;
    }
}

/* ---- AVX2 + FMA ------------------------------------------------------- */

__attribute__((target("avx2,fma")))
static inline float hsum256(__m256 v)
{
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma")))
static void dot_f32_avx2(const float *rows, size_t n_rows, size_t stride,
                         const float *q, size_t n, float *out)
{
    size_t r = 0;
    /* One row at a time, four accumulators when the padded length allows:
     * the scan is memory-bound, one sequential stream prefetches best. */
    if (n % 32 == 0)
        for (; r < n_rows; r++) {
            const float *x = rows + r * stride;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
            for (size_t j = 0; j < n; j += 32) {
                a0 = _mm256_fmadd_ps(_mm256_load_ps(x + j), _mm256_load_ps(q + j), a0);
                a1 = _mm256_fmadd_ps(_mm256_load_ps(x + j + 8), _mm256_load_ps(q + j + 8),
                                     a1);
                a2 = _mm256_fmadd_ps(_mm256_load_ps(x + j + 16),
                                     _mm256_load_ps(q + j + 16), a2);
                a3 = _mm256_fmadd_ps(_mm256_load_ps(x + j + 24),
                                     _mm256_load_ps(q + j + 24), a3);
            }
            out[r] = hsum256(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        }
    for (; r < n_rows; r++) {
        const float *x0 = rows + r * stride;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        for (size_t j = 0; j < n; j += 16) {
            a0 = _mm256_fmadd_ps(_mm256_load_ps(x0 + j), _mm256_load_ps(q + j), a0);
            a1 = _mm256_fmadd_ps(_mm256_load_ps(x0 + j + 8), _mm256_load_ps(q + j + 8),
                                 a1);
        }
        out[r] = hsum256(_mm256_add_ps(a0, a1));
    }
}

__attribute__((target("avx2,fma")))
static void dot_i8_avx2(const int8_t *rows, size_t n_rows, size_t stride,
                        const int8_t *q, size_t n, int32_t *out)
{
    for (size_t r = 0; r < n_rows; r++) {
        const int8_t *x = rows + r * stride;
        __m256i a0 = _mm256_setzero_si256(), a1 = _mm256_setzero_si256();
        for (size_t j = 0; j < n; j += 32) {
            __m256i x0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(x + j)));
            __m256i x1 = _mm256_cvtepi8_epi16(
                _mm_load_si128((const __m128i *)(x + j + 16)));
            __m256i q0 = _mm256_cvtepi8_epi16(_mm_load_si128((const __m128i *)(q + j)));
            __m256i q1 = _mm256_cvtepi8_epi16(
                _mm_load_si128((const __m128i *)(q + j + 16)));
            a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(x0, q0));
            a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(x1, q1));
        }
        a0 = _mm256_add_epi32(a0, a1);
        __m128i s = _mm_add_epi32(_mm256_castsi256_si128(a0),
                                  _mm256_extracti128_si256(a0, 1));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
        s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
        out[r] = _mm_cvtsi128_si32(s);
    }
}

/* ---- AVX-512F (compiled everywhere, run only where the CPU has it) ----- */

__attribute__((target("avx512f")))
static void dot_f32_avx512(const float *rows, size_t n_rows, size_t stride,
                           const float *q, size_t n, float *out)
{
    for (size_t r = 0; r < n_rows; r++) {
        const float *x = rows + r * stride;
        __m512 a0 = _mm512_setzero_ps();
        for (size_t j = 0; j < n; j += 16)
            a0 = _mm512_fmadd_ps(_mm512_load_ps(x + j), _mm512_load_ps(q + j), a0);
        out[r] = _mm512_reduce_add_ps(a0);
    }
}

__attribute__((target("avx512f")))
static void dot_i8_avx512(const int8_t *rows, size_t n_rows, size_t stride,
                          const int8_t *q, size_t n, int32_t *out)
{
    for (size_t r = 0; r < n_rows; r++) {
        const int8_t *x = rows + r * stride;
        __m512i a0 = _mm512_setzero_si512();
        for (size_t j = 0; j < n; j += 16) {
            __m512i xv = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(x + j)));
            __m512i qv = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)(q + j)));
            a0 = _mm512_add_epi32(a0, _mm512_mullo_epi32(xv, qv));
        }
        out[r] = _mm512_reduce_add_epi32(a0);
    }
}

/* ---- dispatch ---------------------------------------------------------- */

int rag_vec_kernel_supported(rag_vec_kernel k)
{
    __builtin_cpu_init();
    switch (k) {
    case RAG_VEC_KERNEL_AUTO:
    case RAG_VEC_KERNEL_SCALAR:
        return 1;
    case RAG_VEC_KERNEL_AVX2:
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case RAG_VEC_KERNEL_AVX512:
        return __builtin_cpu_supports("avx512f");
    }
    return 0;
}

rag_vec_kernel rag_vec_kernel_best(void)
{
    if (rag_vec_kernel_supported(RAG_VEC_KERNEL_AVX512))
        return RAG_VEC_KERNEL_AVX512;
    if (rag_vec_kernel_supported(RAG_VEC_KERNEL_AVX2))
        return RAG_VEC_KERNEL_AVX2;
    return RAG_VEC_KERNEL_SCALAR;
}

const char *rag_vec_kernel_name(rag_vec_kernel k)
{
    switch (k) {
    case RAG_VEC_KERNEL_AUTO: return "auto";
    case RAG_VEC_KERNEL_SCALAR: return "scalar";
    case RAG_VEC_KERNEL_AVX2: return "avx2";
    case RAG_VEC_KERNEL_AVX512: return "avx512";
    }
    return "?";
}

rag_vec_dot_f32_fn rag_vec_dot_f32(rag_vec_kernel k)
{
    switch (k) {
    case RAG_VEC_KERNEL_SCALAR: return dot_f32_scalar;
    case RAG_VEC_KERNEL_AVX2: return dot_f32_avx2;
    case RAG_VEC_KERNEL_AVX512: return dot_f32_avx512;
    default: return NULL;
    }
}

rag_vec_dot_i8_fn rag_vec_dot_i8(rag_vec_kernel k)
{
    switch (k) {
    case RAG_VEC_KERNEL_SCALAR: return dot_i8_scalar;
    case RAG_VEC_KERNEL_AVX2: return dot_i8_avx2;
    case RAG_VEC_KERNEL_AVX512: return dot_i8_avx512;
    default: return NULL;
    }
}
