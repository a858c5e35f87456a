// Quantised matrix × 8-bit vector, one row at a time, for token-by-token decoding.
//
// Why C: the fast form keeps the integer dot product's 8 lanes — per block, u8×s8 products
// summed four at a time into 8 int32 lanes (vpdpbusd, or vpmaddubsw + vpmaddwd without VNNI),
// converted to float and multiplied-added with the block's scale into a float accumulator — and
// sums the lanes once per row. Swift cannot name these instructions, and LLVM's vectoriser
// turns Swift's loops into a horizontal sum per block, which costs twice the time.
//
// Each instruction set has its own function, compiled for it with a target attribute, so one
// binary runs on any x86-64 and picks the fastest its CPU has; elsewhere only plain C compiles.

#include "CKernels.h"

#include <math.h>
#include <string.h>

enum { BLOCK = 32 };

/// Bytes of a block and where its codes start.
static ptrdiff_t block_bytes(CKBlockFormat format) { return format == CK_Q4_1 ? 20 : format == CK_Q4_0 ? 18 : 34; }
static ptrdiff_t code_offset(CKBlockFormat format) { return format == CK_Q4_1 ? 4 : 2; }

static uint16_t load_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

/// IEEE float16 to float32 (exact), without F16C.
static float half_to_float(uint16_t half) {
    uint32_t exponent = (half >> 10) & 0x1F, mantissa = half & 0x3FF;
    float magnitude;
    if (exponent == 0) {
        magnitude = ldexpf((float)mantissa, -24);
    } else if (exponent == 31) {
        magnitude = mantissa ? NAN : INFINITY;
    } else {
        uint32_t bits = (exponent + 112) << 23 | mantissa << 13;
        memcpy(&magnitude, &bits, sizeof bits);
    }
    return (half & 0x8000) ? -magnitude : magnitude;
}

/// The stored row behind output row i.
static const uint8_t *row_start(const uint8_t *blocks, ptrdiff_t row_bytes, const ptrdiff_t *rows, ptrdiff_t row) {
    return blocks + (rows ? rows[row] : row) * row_bytes;
}

static void multiply_rows_portable(CKBlockFormat format, const uint8_t *blocks, ptrdiff_t row_bytes,
                                   const ptrdiff_t *rows, ptrdiff_t first, ptrdiff_t count, ptrdiff_t blocks_per_row,
                                   const int8_t *x_codes, const float *x_scales, const float *x_scaled_sums, float *y) {
    const ptrdiff_t stride = block_bytes(format), offset = code_offset(format);
    for (ptrdiff_t i = 0; i < count; i++) {
        const uint8_t *block = row_start(blocks, row_bytes, rows, first + i);
        float total = 0;
        for (ptrdiff_t b = 0; b < blocks_per_row; b++, block += stride) {
            const uint8_t *w = block + offset;
            const int8_t *x = x_codes + BLOCK * b;
            int32_t dot = 0;
            if (format == CK_Q8_0) {
                for (int j = 0; j < BLOCK; j++) dot += (int8_t)w[j] * x[j];
            } else {
                for (int j = 0; j < 16; j++) dot += (w[j] & 0xF) * x[j] + (w[j] >> 4) * x[16 + j];
            }
            const float d = half_to_float(load_u16(block));
            total += (float)dot * (d * x_scales[b]);
            if (format == CK_Q4_0) total -= 8 * d * x_scaled_sums[b];
            if (format == CK_Q4_1) total += half_to_float(load_u16(block + 2)) * x_scaled_sums[b];
        }
        y[i] = total;
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

/// One block's 32 weight codes as unsigned bytes in element order (for Q8_0: |q|), and the
/// vector's 32 codes (for Q8_0: with q_w's sign), so u8×s8 products give q_w·q_x.
#define LOAD_BLOCK_OPERANDS(format, w, x, weights, activations)                                         \
    do {                                                                                                 \
        if ((format) == CK_Q8_0) {                                                                       \
            const __m256i signed_weights = _mm256_loadu_si256((const __m256i *)(w));                     \
            weights = _mm256_sign_epi8(signed_weights, signed_weights);                                  \
            activations = _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(x)), signed_weights);    \
        } else {                                                                                         \
            const __m128i packed = _mm_loadu_si128((const __m128i *)(w));                                \
            weights = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed),              \
                                       _mm256_set1_epi8(0x0F));                                          \
            activations = _mm256_loadu_si256((const __m256i *)(x));                                      \
        }                                                                                                \
    } while (0)

/// Block b of the row at `row` into the float lanes and the scalar offset sum: the 8-lane
/// int32 dot product `LANE_DOT(weights, activations)` times d_w·d_x, plus Q4_0's and Q4_1's
/// per-block offsets.
#define X86_BLOCK_STEP(LANE_DOT, format, row, b, lanes, offsets)                                        \
    do {                                                                                                 \
        const uint8_t *block = (row) + block_bytes(format) * (b);                                        \
        __m256i weights, activations;                                                                    \
        LOAD_BLOCK_OPERANDS(format, block + code_offset(format), x_codes + BLOCK * (b), weights, activations); \
        const float d = _cvtsh_ss(load_u16(block));                                                      \
        lanes = _mm256_fmadd_ps(_mm256_cvtepi32_ps(LANE_DOT(weights, activations)),                      \
                                _mm256_set1_ps(d * x_scales[b]), lanes);                                 \
        if ((format) == CK_Q4_0) offsets -= 8 * d * x_scaled_sums[b];                                    \
        if ((format) == CK_Q4_1) offsets += _cvtsh_ss(load_u16(block + 2)) * x_scaled_sums[b];           \
    } while (0)

/// The body shared by the x86 kernels, for one `format` known at compile time. Blocks go in
/// pairs, into two accumulators, so consecutive blocks' additions need not wait for each other.
#define X86_ROW_LOOP(LANE_DOT, format)                                                                   \
    for (ptrdiff_t i = 0; i < count; i++) {                                                              \
        const uint8_t *row = row_start(blocks, row_bytes, rows, first + i);                              \
        __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();                                    \
        float even_offsets = 0, odd_offsets = 0;                                                         \
        ptrdiff_t b = 0;                                                                                 \
        for (; b + 1 < blocks_per_row; b += 2) {                                                         \
            X86_BLOCK_STEP(LANE_DOT, format, row, b, even, even_offsets);                                \
            X86_BLOCK_STEP(LANE_DOT, format, row, b + 1, odd, odd_offsets);                              \
        }                                                                                                \
        if (b < blocks_per_row) X86_BLOCK_STEP(LANE_DOT, format, row, b, even, even_offsets);           \
        const __m256 lanes = _mm256_add_ps(even, odd);                                                   \
        const __m128 half_sum = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1)); \
        const __m128 quarter_sum = _mm_add_ps(half_sum, _mm_movehl_ps(half_sum, half_sum));             \
        y[i] = _mm_cvtss_f32(_mm_add_ss(quarter_sum, _mm_movehdup_ps(quarter_sum))) + even_offsets + odd_offsets; \
    }

#define ROW_KERNEL_PARAMETERS                                                                            \
    CKBlockFormat kernel_format, const uint8_t *blocks, ptrdiff_t row_bytes, const ptrdiff_t *rows,             \
    ptrdiff_t first, ptrdiff_t count, ptrdiff_t blocks_per_row,                                          \
    const int8_t *x_codes, const float *x_scales, const float *x_scaled_sums, float *y

/// u8×s8 pairs summed to int16 (no overflow: |q_w| ≤ 128 and |q_x| ≤ 127), then pairs of those to int32.
#define AVX2_DOT(weights, activations) \
    _mm256_madd_epi16(_mm256_maddubs_epi16(weights, activations), _mm256_set1_epi16(1))
#define VNNI_DOT(weights, activations) _mm256_dpbusd_epi32(_mm256_setzero_si256(), weights, activations)

/// A kernel compiled for `TARGET`, with one loop per format so no block pays for choosing.
#define X86_KERNEL(name, TARGET, LANE_DOT)                                                               \
    __attribute__((target(TARGET))) static void name(ROW_KERNEL_PARAMETERS) {                            \
        switch (kernel_format) {                                                                         \
        case CK_Q4_0: { X86_ROW_LOOP(LANE_DOT, CK_Q4_0) } break;                                          \
        case CK_Q4_1: { X86_ROW_LOOP(LANE_DOT, CK_Q4_1) } break;                                          \
        case CK_Q8_0: { X86_ROW_LOOP(LANE_DOT, CK_Q8_0) } break;                                          \
        }                                                                                                \
    }

X86_KERNEL(multiply_rows_avx2, "avx2,fma,f16c", AVX2_DOT)
X86_KERNEL(multiply_rows_avx512_vnni, "avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c", VNNI_DOT)

static CKInstructionSet fastest = CK_PORTABLE;

__attribute__((constructor))
static void choose_fastest(void) {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) fastest = CK_AVX2;
    if (fastest == CK_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) fastest = CK_AVX512_VNNI;
}

CKInstructionSet ck_fastest_instruction_set(void) { return fastest; }
#else
CKInstructionSet ck_fastest_instruction_set(void) { return CK_PORTABLE; }
#endif

void ck_multiply_rows(CKInstructionSet set, CKBlockFormat format,
                      const uint8_t *blocks, ptrdiff_t row_bytes, const ptrdiff_t *rows,
                      ptrdiff_t first, ptrdiff_t count, ptrdiff_t blocks_per_row,
                      const int8_t *x_codes, const float *x_scales, const float *x_scaled_sums,
                      float *y) {
    switch (set) {
#if defined(__x86_64__)
    case CK_AVX512_VNNI:
        multiply_rows_avx512_vnni(format, blocks, row_bytes, rows, first, count, blocks_per_row, x_codes, x_scales, x_scaled_sums, y);
        return;
    case CK_AVX2:
        multiply_rows_avx2(format, blocks, row_bytes, rows, first, count, blocks_per_row, x_codes, x_scales, x_scaled_sums, y);
        return;
#endif
    default:
        multiply_rows_portable(format, blocks, row_bytes, rows, first, count, blocks_per_row, x_codes, x_scales, x_scaled_sums, y);
    }
}
