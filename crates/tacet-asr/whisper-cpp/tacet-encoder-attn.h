// Tacet's encoder self-attention for whisper.cpp (CPU), one fused ggml
// custom op in place of whisper.cpp's K·Q mul_mat, soft_max and V·KQ mul_mat.
//
// Why: on a 2-core Xeon, whisper.cpp 1.8.3 spent about half of a 30 s
// window's encoder pass in attention. K·Q has an inner dimension of 64 (the
// head size), so llamafile's tinyBLAS spends more time on horizontal sums
// than on multiply-adds; V·KQ has an inner dimension of 1500 frames, which
// tinyBLAS refuses (not a multiple of 16), so it ran as one `vec_dot_f16`
// per output element; and the 1500×1500 scores per head went through memory
// three times (written, soft-maxed, converted to f16). Here each thread
// takes a range of query frames and, per head and per block of 8 queries,
// computes the scores as outer products against a transposed copy of K
// (broadcast one query element, multiply-add 32 keys at once), soft-maxes
// them while they are in cache, and accumulates P·V as outer products
// again (broadcast one weight, multiply-add a 64-wide value row). Everything
// stays f32 (whisper.cpp rounded K and V to f16 first).
//
// The code is plain C++ on GCC/Clang vector types, compiled three times
// (AVX-512, AVX2+FMA, baseline) and chosen when the library loads
// (`target_clones`), so the binary does not depend on the build machine's
// CPU more than ggml's own code does. Only whisper's head size (64, every
// whisper model) and f32 contiguous inputs take this path; anything else
// keeps whisper.cpp's. `TACET_WHISPER_STOCK_ATTN=1` in the environment
// selects whisper.cpp's own attention at graph build, for comparison.
//
// crates/tacet-asr/whisper-cpp/patch.cmake puts this file beside
// whisper.cpp's src/whisper.cpp and calls it from the encoder graph.

#pragma once

#include "ggml.h"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <vector>

// The patch's version, bumped whenever either kernel's arithmetic (this
// one, tacet-encoder-q8.h) changes; read by tacet-asr to prove the patched
// whisper.cpp is the one linked.
#define TACET_ENCODER_ATTN_VERSION 2

extern "C" int tacet_whisper_encoder_attn_version(void) {
    return TACET_ENCODER_ATTN_VERSION;
}

namespace tacet_attn {

constexpr int HEAD = 64;    // head size this kernel is written for
constexpr int ROWS = 8;     // query rows per block
constexpr int KEYS = 32;    // keys per score tile (two vectors)

typedef float v16 __attribute__((vector_size(64)));
typedef int32_t vi16 __attribute__((vector_size(64)));
typedef float v16u __attribute__((vector_size(64), aligned(4), may_alias));

static inline __attribute__((always_inline)) v16 splat(float x) {
    return v16{} + x;
}
static inline __attribute__((always_inline)) v16 load(const float * p) {
    return *reinterpret_cast<const v16u *>(p);
}
static inline __attribute__((always_inline)) void store(float * p, v16 v) {
    *reinterpret_cast<v16u *>(p) = v;
}

// e^x for x <= 0 (Cephes expf: x = n·ln2 + r, a degree-6 polynomial in r,
// 2^n built in the exponent bits). Inputs below -87 give e^-87 (~1.6e-38):
// those weights are far under f32's resolution next to the row's maximum,
// which contributes exactly 1.
static inline __attribute__((always_inline)) v16 exp_nonpositive(v16 x) {
    const v16 lo = splat(-87.0f);
    x = x < lo ? lo : x;
    const v16 magic = splat(12582912.0f); // 1.5·2^23: adding it rounds to an integer
    const v16 n = (x * 1.44269504088896341f + magic) - magic;
    v16 r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    v16 p = splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const vi16 e = (__builtin_convertvector(n, vi16) + 127) << 23;
    return p * (v16) e;
}

static inline __attribute__((always_inline)) float hmax(v16 v) {
    float m = v[0];
    for (int i = 1; i < 16; ++i) {
        m = v[i] > m ? v[i] : m;
    }
    return m;
}

static inline __attribute__((always_inline)) float hsum(v16 v) {
    float s = 0.0f;
    for (int i = 0; i < 16; ++i) {
        s += v[i];
    }
    return s;
}

// One thread's share: query frames [q_begin, q_end) of every head.
// q, k, v, out: [n_ctx][n_head·64] row-major f32. kt: scratch of
// 64·n_kv_pad floats, s: scratch of ROWS·n_kv_pad floats.
#if defined(__GNUC__) && defined(__x86_64__) && defined(__linux__) && !defined(__clang__)
__attribute__((target_clones("avx512f", "arch=haswell", "default")))
#endif
static void rows(const float * q, const float * k, const float * v, float * out,
                 int n_ctx, int n_head, int q_begin, int q_end, float scale,
                 float * kt, float * s) {
    const int n_state = n_head * HEAD;
    const int n_kv_pad = (n_ctx + KEYS - 1) / KEYS * KEYS;
    for (int h = 0; h < n_head; ++h) {
        // K for this head, transposed: kt[d][j], keys past n_ctx zero.
        for (int j = 0; j < n_ctx; ++j) {
            const float * kr = k + (size_t) j * n_state + h * HEAD;
            for (int d = 0; d < HEAD; ++d) {
                kt[(size_t) d * n_kv_pad + j] = kr[d];
            }
        }
        for (int d = 0; d < HEAD; ++d) {
            for (int j = n_ctx; j < n_kv_pad; ++j) {
                kt[(size_t) d * n_kv_pad + j] = 0.0f;
            }
        }
        for (int q0 = q_begin; q0 < q_end; q0 += ROWS) {
            const int n_rows = q_end - q0 < ROWS ? q_end - q0 : ROWS;
            const float * qr[ROWS];
            for (int r = 0; r < ROWS; ++r) {
                // Rows past the range repeat the last one; they are never stored.
                const int row = q0 + (r < n_rows ? r : n_rows - 1);
                qr[r] = q + (size_t) row * n_state + h * HEAD;
            }
            // Scores: s[r][j] = scale · q_r · k_j.
            for (int j0 = 0; j0 < n_kv_pad; j0 += KEYS) {
                v16 acc[ROWS][2];
                #pragma GCC unroll 8
                for (int r = 0; r < ROWS; ++r) {
                    acc[r][0] = v16{};
                    acc[r][1] = v16{};
                }
                for (int d = 0; d < HEAD; ++d) {
                    const v16 k0 = load(kt + (size_t) d * n_kv_pad + j0);
                    const v16 k1 = load(kt + (size_t) d * n_kv_pad + j0 + 16);
                    #pragma GCC unroll 8
                    for (int r = 0; r < ROWS; ++r) {
                        const float x = qr[r][d];
                        acc[r][0] += x * k0;
                        acc[r][1] += x * k1;
                    }
                }
                #pragma GCC unroll 8
                for (int r = 0; r < ROWS; ++r) {
                    store(s + (size_t) r * n_kv_pad + j0, acc[r][0] * scale);
                    store(s + (size_t) r * n_kv_pad + j0 + 16, acc[r][1] * scale);
                }
            }
            // Soft-max per row; the padding keys get no weight.
            float inv_sum[ROWS];
            for (int r = 0; r < n_rows; ++r) {
                float * sr = s + (size_t) r * n_kv_pad;
                for (int j = n_ctx; j < n_kv_pad; ++j) {
                    sr[j] = -INFINITY;
                }
                v16 m = splat(-INFINITY);
                for (int j = 0; j < n_kv_pad; j += 16) {
                    const v16 x = load(sr + j);
                    m = x > m ? x : m;
                }
                const float mx = hmax(m);
                v16 sum = v16{};
                for (int j = 0; j < n_kv_pad; j += 16) {
                    const v16 e = exp_nonpositive(load(sr + j) - mx);
                    store(sr + j, e);
                    sum += e;
                }
                for (int j = n_ctx; j < n_kv_pad; ++j) {
                    sr[j] = 0.0f;
                }
                inv_sum[r] = 1.0f / hsum(sum);
            }
            // Output: out_r = Σ_j p_rj · v_j, four rows at a time.
            for (int r0 = 0; r0 < n_rows; r0 += 4) {
                v16 o[4][4];
                #pragma GCC unroll 8
                for (int r = 0; r < 4; ++r) {
#pragma GCC unroll 4
                    for (int c = 0; c < 4; ++c) {
                        o[r][c] = v16{};
                    }
                }
                const float * p[4];
                for (int r = 0; r < 4; ++r) {
                    const int rr = r0 + r < n_rows ? r0 + r : n_rows - 1;
                    p[r] = s + (size_t) rr * n_kv_pad;
                }
                for (int j = 0; j < n_ctx; ++j) {
                    const float * vr = v + (size_t) j * n_state + h * HEAD;
                    const v16 v0 = load(vr);
                    const v16 v1 = load(vr + 16);
                    const v16 v2 = load(vr + 32);
                    const v16 v3 = load(vr + 48);
                    #pragma GCC unroll 8
                    for (int r = 0; r < 4; ++r) {
                        const float w = p[r][j];
                        o[r][0] += w * v0;
                        o[r][1] += w * v1;
                        o[r][2] += w * v2;
                        o[r][3] += w * v3;
                    }
                }
                for (int r = 0; r < 4 && r0 + r < n_rows; ++r) {
                    float * orow = out + (size_t) (q0 + r0 + r) * n_state + h * HEAD;
                    const float w = inv_sum[r0 + r];
                    store(orow, o[r][0] * w);
                    store(orow + 16, o[r][1] * w);
                    store(orow + 32, o[r][2] * w);
                    store(orow + 48, o[r][3] * w);
                }
            }
        }
    }
}

// Thread ith of nth: its range of query frames, with per-thread scratch
// reused across layers and calls (ggml's pool threads live as long as the
// context's threadpool).
static void run(const float * q, const float * k, const float * v, float * out,
                int n_ctx, int n_head, int ith, int nth) {
    const int q_begin = (int) ((int64_t) n_ctx * ith / nth);
    const int q_end = (int) ((int64_t) n_ctx * (ith + 1) / nth);
    if (q_begin >= q_end) {
        return;
    }
    const int n_kv_pad = (n_ctx + KEYS - 1) / KEYS * KEYS;
    static thread_local std::vector<float> scratch;
    const size_t need = (size_t) (HEAD + ROWS) * n_kv_pad;
    if (scratch.size() < need) {
        scratch.assign(need, 0.0f);
    }
    rows(q, k, v, out, n_ctx, n_head, q_begin, q_end, 1.0f / std::sqrt((float) HEAD),
         scratch.data(), scratch.data() + (size_t) HEAD * n_kv_pad);
}

// The ggml custom op: dst = softmax(Q·Kᵀ/8)·V per head, [n_state, n_ctx].
// userdata carries n_head.
static void op(struct ggml_tensor * dst, const struct ggml_tensor * q,
               const struct ggml_tensor * k, const struct ggml_tensor * v,
               int ith, int nth, void * userdata) {
    const int n_head = (int) (intptr_t) userdata;
    GGML_ASSERT(q->ne[0] == (int64_t) n_head * HEAD);
    GGML_ASSERT(ggml_is_contiguous(q) && ggml_is_contiguous(k) && ggml_is_contiguous(v));
    GGML_ASSERT(ggml_is_contiguous(dst) && dst->type == GGML_TYPE_F32);
    run((const float *) q->data, (const float *) k->data, (const float *) v->data,
        (float *) dst->data, (int) q->ne[1], n_head, ith, nth);
}

// Whether the encoder graph should use this op for tensors of this shape.
static bool usable(const struct ggml_tensor * q, const struct ggml_tensor * k,
                   const struct ggml_tensor * v, int n_head) {
    const char * stock = std::getenv("TACET_WHISPER_STOCK_ATTN");
    if (stock != nullptr && std::strcmp(stock, "1") == 0) {
        return false;
    }
    for (const struct ggml_tensor * t : {q, k, v}) {
        if (t->type != GGML_TYPE_F32 || t->ne[0] != (int64_t) n_head * HEAD ||
            t->ne[2] != 1 || t->ne[3] != 1 || t->ne[1] != q->ne[1]) {
            return false;
        }
    }
    return true;
}

} // namespace tacet_attn

// For tacet-asr's tests: the kernel on plain arrays ([n_ctx][n_head·64]
// f32 each), thread ith of nth's share, so the tests can check it against
// attention computed directly, for any shape and split.
extern "C" void tacet_whisper_encoder_attn_f32(const float * q, const float * k,
                                               const float * v, float * out,
                                               int n_ctx, int n_head, int ith, int nth) {
    tacet_attn::run(q, k, v, out, n_ctx, n_head, ith, nth);
}
