#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/// ggml's 32-element block formats (see QuantizedMatrix.swift for the layouts).
typedef enum {
    CK_Q4_0 = 0,
    CK_Q4_1 = 1,
    CK_Q8_0 = 2,
} CKBlockFormat;

/// The instruction sets the row kernels are written for, slowest first.
typedef enum {
    CK_PORTABLE = 0,       ///< plain C, any CPU
    CK_AVX2 = 1,           ///< x86-64 with AVX2, FMA and F16C
    CK_AVX512_VNNI = 2,    ///< x86-64 with AVX-512 F/BW/VL and VNNI
} CKInstructionSet;

/// The fastest set this CPU runs (decided once, at load time).
CKInstructionSet ck_fastest_instruction_set(void);

/// y[i] = Σ over the blocks of stored row `rows ? rows[first + i] : first + i` of
/// d_w·d_x·Σ q_w·q_x (+ Q4_1's m·d_x·Σq_x, − Q4_0's 8·d_w·d_x·Σq_x), for i in 0..<count.
/// Rows are `row_bytes` apart from `blocks`; the vector is `x_codes` (32 signed codes per
/// block), `x_scales` (d_x per block) and `x_scaled_sums` (d_x·Σq_x per block).
/// `set` must be one this CPU runs (at most ck_fastest_instruction_set()).
void ck_multiply_rows(CKInstructionSet set, CKBlockFormat format,
                      const uint8_t *blocks, ptrdiff_t row_bytes, const ptrdiff_t *rows,
                      ptrdiff_t first, ptrdiff_t count, ptrdiff_t blocks_per_row,
                      const int8_t *x_codes, const float *x_scales, const float *x_scaled_sums,
                      float *y);

#endif
