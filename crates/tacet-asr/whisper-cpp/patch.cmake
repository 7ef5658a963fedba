# Tacet's changes to the whisper.cpp that whisper-rs-sys builds, both in the
# encoder: its self-attention runs as the fused op in tacet-encoder-attn.h,
# and the q8_0 weight products of the encoder graph and of the graph that
# projects its output for cross-attention as the op in tacet-encoder-q8.h
# (a macro for ggml_mul_mat around those two functions).
#
# How it gets here: .cargo/config.toml sets CMAKE_PROJECT_INCLUDE to this
# file; whisper-rs-sys forwards every CMAKE_* variable to CMake, and CMake
# runs this file after each project() call. whisper-rs-sys configures a copy
# of the sources in its OUT_DIR, so the edit touches that copy only, never
# the registry's. The edit is four exact text replacements; if any anchor
# is missing (a different whisper.cpp), configuring fails here, loudly,
# instead of building an unpatched library that tests would take for ours.
# Running again on an edited copy changes nothing.
#
# cargo does not re-run whisper-rs-sys's build when this file or the header
# changes: after editing any of them, `cargo clean -p whisper-rs-sys`.

if(NOT PROJECT_NAME STREQUAL "whisper.cpp")
    return()
endif()

set(_tacet_src "${CMAKE_SOURCE_DIR}/src/whisper.cpp")
file(COPY "${CMAKE_CURRENT_LIST_DIR}/tacet-encoder-attn.h" "${CMAKE_CURRENT_LIST_DIR}/tacet-encoder-q8.h"
     DESTINATION "${CMAKE_SOURCE_DIR}/src")
file(READ "${_tacet_src}" _tacet_text)

string(FIND "${_tacet_text}" "tacet-encoder-attn.h" _tacet_done)
if(_tacet_done GREATER -1)
    return()
endif()

set(_tacet_include_anchor [==[#include "ggml-backend.h"
]==])
set(_tacet_include [==[#include "ggml-backend.h"
#include "tacet-encoder-attn.h"
#include "tacet-encoder-q8.h"
]==])

set(_tacet_attn_anchor [==[            if (wctx.params.flash_attn) {
                ggml_build_forward_expand(gf, ggml_cpy(ctx0, Kcur, ggml_view_1d(ctx0, kv_pad.k, n_ctx*n_state, 0)));]==])
set(_tacet_attn [==[            if (!wctx.params.flash_attn && tacet_attn::usable(Qcur, Kcur, Vcur, n_head)) {
                cur = ggml_map_custom3(ctx0, Qcur, Kcur, Vcur, tacet_attn::op, GGML_N_TASKS_MAX, (void *) (intptr_t) n_head);
            } else if (wctx.params.flash_attn) {
                ggml_build_forward_expand(gf, ggml_cpy(ctx0, Kcur, ggml_view_1d(ctx0, kv_pad.k, n_ctx*n_state, 0)));]==])

set(_tacet_encoder_anchor [==[static struct ggml_cgraph * whisper_build_graph_encoder(]==])
set(_tacet_encoder [==[#define ggml_mul_mat(ctx, a, b) tacet_q8::mul_mat(ctx, a, b)
static struct ggml_cgraph * whisper_build_graph_encoder(]==])

set(_tacet_end_anchor [==[static bool whisper_encode_internal(]==])
set(_tacet_end [==[#undef ggml_mul_mat
static bool whisper_encode_internal(]==])

foreach(_tacet_anchor IN ITEMS _tacet_include_anchor _tacet_attn_anchor _tacet_encoder_anchor _tacet_end_anchor)
    string(FIND "${_tacet_text}" "${${_tacet_anchor}}" _tacet_at)
    if(_tacet_at EQUAL -1)
        message(FATAL_ERROR "tacet: ${_tacet_src} lacks the text patch.cmake edits "
                            "(${_tacet_anchor}); whisper.cpp changed, update crates/tacet-asr/whisper-cpp")
    endif()
endforeach()

string(REPLACE "${_tacet_include_anchor}" "${_tacet_include}" _tacet_text "${_tacet_text}")
string(REPLACE "${_tacet_attn_anchor}" "${_tacet_attn}" _tacet_text "${_tacet_text}")
string(REPLACE "${_tacet_encoder_anchor}" "${_tacet_encoder}" _tacet_text "${_tacet_text}")
string(REPLACE "${_tacet_end_anchor}" "${_tacet_end}" _tacet_text "${_tacet_text}")
file(WRITE "${_tacet_src}" "${_tacet_text}")
message(STATUS "tacet: encoder attention and q8_0 products patched into ${_tacet_src}")
