// The peer's answer for the golden tests: tokenizes a prompt file with
// llama.cpp (special tokens parsed, no BOS added), runs it, then greedily
// decodes N more tokens, printing for every step the token ids so far and
// the top-K next-token logits. Output is TSV that
// crates/tacet-llm/tests/golden.rs reads from its fixtures.
//   llama-logits MODEL.gguf PROMPT.txt STEPS TOPK
#include "llama.h"
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <numeric>
#include <sstream>
#include <string>
#include <vector>

int main(int argc, char ** argv) {
    if (argc != 5) { fprintf(stderr, "usage: %s MODEL PROMPT STEPS TOPK\n", argv[0]); return 2; }
    std::ifstream f(argv[2]);
    std::stringstream ss; ss << f.rdbuf();
    std::string prompt = ss.str();
    int steps = atoi(argv[3]), topk = atoi(argv[4]);
    llama_backend_init();
    llama_model_params mp = llama_model_default_params();
    llama_model * model = llama_model_load_from_file(argv[1], mp);
    if (!model) { fprintf(stderr, "cannot load %s\n", argv[1]); return 1; }
    llama_context_params cp = llama_context_default_params();
    cp.n_ctx = 2048; cp.n_batch = 2048; cp.n_threads = 1; cp.n_threads_batch = 1;
    llama_context * ctx = llama_init_from_model(model, cp);
    const llama_vocab * vocab = llama_model_get_vocab(model);
    std::vector<llama_token> toks(prompt.size() + 16);
    int n = llama_tokenize(vocab, prompt.c_str(), prompt.size(), toks.data(), toks.size(), true, true);
    if (n < 0) { fprintf(stderr, "tokenize failed\n"); return 1; }
    toks.resize(n);
    printf("prompt");
    for (auto t : toks) printf("\t%d", t);
    printf("\n");
    int nv = llama_vocab_n_tokens(vocab);
    std::vector<llama_token> batch = toks;
    for (int s = 0; s <= steps; s++) {
        if (llama_decode(ctx, llama_batch_get_one(batch.data(), batch.size()))) { fprintf(stderr, "decode failed\n"); return 1; }
        const float * lg = llama_get_logits_ith(ctx, -1);
        std::vector<int> idx(nv);
        std::iota(idx.begin(), idx.end(), 0);
        std::partial_sort(idx.begin(), idx.begin() + topk, idx.end(), [&](int a, int b) { return lg[a] > lg[b]; });
        printf("step\t%d", s);
        for (int k = 0; k < topk; k++) printf("\t%d:%.4f", idx[k], lg[idx[k]]);
        printf("\n");
        batch = { idx[0] };
    }
    llama_free(ctx);
    llama_model_free(model);
    return 0;
}
