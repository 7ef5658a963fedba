// Tacet's q8_0 matrix product for whisper.cpp's encoder (CPU, AVX-512 VNNI),
// a ggml custom op in place of ggml_mul_mat for the weight matrices the
// encoder's 1500 frames go through, when they are q8_0.
//
// Why: after the fused attention, about 38% of a 30 s window's pass on a
// 2-core Xeon was llamafile's q8_0 kernel, which works in 256-bit halves
// and flips signs per block pair (`_mm256_sign_epi8`) before each
// multiply-add. Here each thread takes a range of frames, quantises them
// to 8 bits per 32-value block (as ggml would, with an f32 scale), stores
// them offset by 128 (unsigned, as `vpdpbusd` wants), and multiplies 4
// weight rows by 4 frames per step of 64 values with one `vpdpbusd` per
// pair; the offset's contribution (128·Σw) is subtracted by starting each
// product's accumulator at its negative, computed once per row and step.
// Block scales are applied in f32 per step (two blocks per vector), so
// the result is q8_0 × q8_0 exactly as ggml defines it, up to f32
// summation order.
//
// Taken only for a 2-D q8_0 weight and 2-D f32 contiguous input whose
// inner size is a multiple of 64 and rows a multiple of 4, on a CPU with
// AVX-512 F, BW and VNNI, and not when `TACET_WHISPER_STOCK_Q8=1`; every
// other case is ggml_mul_mat as before. patch.cmake makes the
// ggml_mul_mat calls of the encoder graph and of the graph that projects
// the encoder's output for cross-attention come here (a macro around those
// two functions); the decoder's products, one token at a time, stay ggml's.

#pragma once

#include "ggml.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define TACET_Q8_X86 1
#endif

namespace tacet_q8 {

constexpr int BLOCK = 32;  // q8_0 block
constexpr int STEP = 64;   // values per vector step (two blocks)
constexpr int TILE = 4;    // rows × frames per tile

struct block_q8_0 {
    uint16_t d;  // f16 scale
    int8_t qs[BLOCK];
};
static_assert(sizeof(block_q8_0) == 34, "ggml's q8_0 block is 34 bytes");

#if TACET_Q8_X86
#define TACET_Q8_TARGET __attribute__((target("avx512f,avx512bw,avx512vnni")))

// Frames [f_begin, f_end) of x ([n][k] f32) to unsigned 8-bit quants
// (q + 128, [n_f][k]) and, per frame and 64-value step, a vector of the two
// blocks' scales (lanes 0–7 the first block's, 8–15 the second's).
TACET_Q8_TARGET static void quantize_frames(const float * x, int k, int f_begin, int f_end,
                                            uint8_t * xq, float * xs) {
    const int steps = k / STEP;
    for (int f = f_begin; f < f_end; ++f) {
        const float * row = x + (size_t) f * k;
        uint8_t * q = xq + (size_t) (f - f_begin) * k;
        float * s = xs + (size_t) (f - f_begin) * steps * 16;
        for (int b = 0; b < k / BLOCK; ++b) {
            const __m512 v0 = _mm512_loadu_ps(row + b * BLOCK);
            const __m512 v1 = _mm512_loadu_ps(row + b * BLOCK + 16);
            const __m512 a = _mm512_max_ps(_mm512_abs_ps(v0), _mm512_abs_ps(v1));
            const float amax = _mm512_reduce_max_ps(a);
            const float d = amax / 127.0f;
            const float id = d > 0.0f ? 1.0f / d : 0.0f;
            const __m512 m = _mm512_set1_ps(id);
            // Round to nearest, ties to even (as ggml's AVX quantizer does).
            const __m512i i0 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v0, m),
                                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            const __m512i i1 = _mm512_cvt_roundps_epi32(_mm512_mul_ps(v1, m),
                                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            const __m512i off = _mm512_set1_epi32(128);
            _mm_storeu_si128((__m128i *) (q + b * BLOCK), _mm512_cvtepi32_epi8(_mm512_add_epi32(i0, off)));
            _mm_storeu_si128((__m128i *) (q + b * BLOCK + 16), _mm512_cvtepi32_epi8(_mm512_add_epi32(i1, off)));
            float * lanes = s + (b / 2) * 16 + (b % 2) * 8;
            for (int l = 0; l < 8; ++l) {
                lanes[l] = d;
            }
        }
    }
}

// All m rows of w (q8_0) to contiguous signed quants ([m][k]) and per row
// and step the scale vector, as for the frames.
static void unpack_weights(const block_q8_0 * w, int m, int k, int8_t * wq, float * ws) {
    const int blocks = k / BLOCK;
    const int steps = k / STEP;
    for (int r = 0; r < m; ++r) {
        for (int b = 0; b < blocks; ++b) {
            const block_q8_0 & blk = w[(size_t) r * blocks + b];
            std::memcpy(wq + (size_t) r * k + b * BLOCK, blk.qs, BLOCK);
            const float d = ggml_fp16_to_fp32(blk.d);
            float * lanes = ws + ((size_t) r * steps + b / 2) * 16 + (b % 2) * 8;
            for (int l = 0; l < 8; ++l) {
                lanes[l] = d;
            }
        }
    }
}

// out[f][r] for the frames quantised in xq/xs (n_f of them) and all rows.
TACET_Q8_TARGET static void product(const int8_t * wq, const float * ws, const uint8_t * xq,
                                    const float * xs, int m, int k, int n_f, float * out,
                                    int out_stride) {
    const int steps = k / STEP;
    const __m512i x80 = _mm512_set1_epi8((char) 0x80);
    for (int f0 = 0; f0 < n_f; f0 += TILE) {
        const int n_tf = n_f - f0 < TILE ? n_f - f0 : TILE;
        int fi[TILE];
        for (int t = 0; t < TILE; ++t) {
            fi[t] = f0 + (t < n_tf ? t : n_tf - 1);
        }
        for (int r0 = 0; r0 < m; r0 += TILE) {
            __m512 acc[TILE][TILE];
#pragma GCC unroll 4
            for (int r = 0; r < TILE; ++r) {
#pragma GCC unroll 4
                for (int t = 0; t < TILE; ++t) {
                    acc[r][t] = _mm512_setzero_ps();
                }
            }
            for (int s = 0; s < steps; ++s) {
                __m512i w[TILE];
                __m512i neg[TILE];
#pragma GCC unroll 4
                for (int r = 0; r < TILE; ++r) {
                    w[r] = _mm512_loadu_si512(wq + (size_t) (r0 + r) * k + s * STEP);
                    // -(128·Σw) per lane: the offset's share of every product.
                    neg[r] = _mm512_sub_epi32(_mm512_setzero_si512(),
                                              _mm512_dpbusd_epi32(_mm512_setzero_si512(), x80, w[r]));
                }
#pragma GCC unroll 4
                for (int t = 0; t < TILE; ++t) {
                    const __m512i x = _mm512_loadu_si512(xq + (size_t) fi[t] * k + s * STEP);
                    const __m512 xsv = _mm512_loadu_ps(xs + ((size_t) fi[t] * steps + s) * 16);
#pragma GCC unroll 4
                    for (int r = 0; r < TILE; ++r) {
                        const __m512i dp = _mm512_dpbusd_epi32(neg[r], x, w[r]);
                        const __m512 scale = _mm512_mul_ps(
                            xsv, _mm512_loadu_ps(ws + ((size_t) (r0 + r) * steps + s) * 16));
                        acc[r][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(dp), scale, acc[r][t]);
                    }
                }
            }
            for (int t = 0; t < n_tf; ++t) {
                float * o = out + (size_t) (f0 + t) * out_stride + r0;
#pragma GCC unroll 4
                for (int r = 0; r < TILE; ++r) {
                    o[r] = _mm512_reduce_add_ps(acc[r][t]);
                }
            }
        }
    }
}

static bool cpu_has_vnni() {
    static const bool has = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512vnni");
    return has;
}

// Thread ith of nth: frames [n·ith/nth, n·(ith+1)/nth) of out ([n][m] f32)
// = x ([n][k] f32) · wᵀ (w: m rows of k/32 q8_0 blocks).
static void run(const void * w, const float * x, float * out, int m, int k, int n, int ith,
                int nth) {
    const int f_begin = (int) ((int64_t) n * ith / nth);
    const int f_end = (int) ((int64_t) n * (ith + 1) / nth);
    if (f_begin >= f_end) {
        return;
    }
    const int steps = k / STEP;
    const int n_f = f_end - f_begin;
    static thread_local std::vector<int8_t> wq;
    static thread_local std::vector<float> ws;
    static thread_local std::vector<uint8_t> xq;
    static thread_local std::vector<float> xs;
    wq.resize((size_t) m * k);
    ws.resize((size_t) m * steps * 16);
    xq.resize((size_t) n_f * k);
    xs.resize((size_t) n_f * steps * 16);
    unpack_weights((const block_q8_0 *) w, m, k, wq.data(), ws.data());
    quantize_frames(x, k, f_begin, f_end, xq.data(), xs.data());
    product(wq.data(), ws.data(), xq.data(), xs.data(), m, k, n_f, out + (size_t) f_begin * m, m);
}

static void op(struct ggml_tensor * dst, int ith, int nth, void * userdata) {
    (void) userdata;
    const struct ggml_tensor * w = dst->src[0];
    const struct ggml_tensor * x = dst->src[1];
    GGML_ASSERT(w->type == GGML_TYPE_Q8_0 && x->type == GGML_TYPE_F32);
    GGML_ASSERT(ggml_is_contiguous(w) && ggml_is_contiguous(x) && ggml_is_contiguous(dst));
    run(w->data, (const float *) x->data, (float *) dst->data, (int) w->ne[1], (int) w->ne[0],
        (int) x->ne[1], ith, nth);
}
#endif // TACET_Q8_X86

// ggml_mul_mat(ctx, a, b) for the encoder graph: the op above where it
// applies, ggml's own everywhere else.
static struct ggml_tensor * mul_mat(struct ggml_context * ctx, struct ggml_tensor * a,
                                    struct ggml_tensor * b) {
#if TACET_Q8_X86
    const char * stock = std::getenv("TACET_WHISPER_STOCK_Q8");
    const bool wanted = stock == nullptr || std::strcmp(stock, "1") != 0;
    if (wanted && cpu_has_vnni() && a->type == GGML_TYPE_Q8_0 && b->type == GGML_TYPE_F32 &&
        a->ne[2] == 1 && a->ne[3] == 1 && b->ne[2] == 1 && b->ne[3] == 1 &&
        a->ne[0] == b->ne[0] && a->ne[0] % STEP == 0 && a->ne[1] % TILE == 0 &&
        ggml_is_contiguous(a) && ggml_is_contiguous(b)) {
        struct ggml_tensor * args[2] = {a, b};
        return ggml_custom_4d(ctx, GGML_TYPE_F32, a->ne[1], b->ne[1], 1, 1, args, 2, op,
                              GGML_N_TASKS_MAX, nullptr);
    }
#endif
    return ggml_mul_mat(ctx, a, b);
}

} // namespace tacet_q8

// For tacet-asr's tests: thread ith of nth's share of the product on plain
// arrays; returns 0 (and does nothing) on a CPU without AVX-512 VNNI.
extern "C" int tacet_whisper_encoder_q8_f32(const void * w, const float * x, float * out, int m,
                                            int k, int n, int ith, int nth) {
#if TACET_Q8_X86
    if (!tacet_q8::cpu_has_vnni() || k % tacet_q8::STEP != 0 || m % tacet_q8::TILE != 0) {
        return 0;
    }
    tacet_q8::run(w, x, out, m, k, n, ith, nth);
    return 1;
#else
    (void) w; (void) x; (void) out; (void) m; (void) k; (void) n; (void) ith; (void) nth;
    return 0;
#endif
}
