/* fuzz_tokenizer_json.c - libFuzzer target for the tokenizer.json loader
 * (rag_wordpiece_load_json). Input: the JSON bytes. When a tokenizer loads,
 * it also encodes fixed probes and the input itself (single and pair, with
 * and without truncation), checking the invariants every encoding keeps. */
#include "text/wordpiece.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(const rag_wordpiece *wp, const char *a, size_t n_a, const char *b, size_t n_b,
                  size_t max_len, rag_encoding *enc)
{
    rag_err err;
    int rc = rag_wordpiece_encode(wp, a, n_a, b, n_b, max_len, enc, &err);
    if (rc != 0) {
        /* only bad UTF-8, a too-small max_len or OOM may fail */
        if (rc != RAG_EFORMAT && rc != RAG_EINVAL && rc != RAG_ENOMEM)
            abort();
        return;
    }
    if (max_len && enc->n > max_len)
        abort();
    for (size_t i = 0; i < enc->n; i++) {
        if (enc->ids[i] < 0 || (size_t)enc->ids[i] >= rag_wordpiece_vocab_size(wp))
            abort();
        if (enc->byte_start[i] > enc->byte_end[i])
            abort();
        if (enc->byte_end[i] > (n_a > n_b ? n_a : n_b))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const probes[] = {
        "", "Hello, World! [CLS] naïve café 東京 😀", "a b c d e f g h i j k l m n o p",
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
        "[SEP][MASK] ##ing ΟΔΟΣ İ ﬁ e\xcc\x81", "bad \xff utf8",
    };
    rag_wordpiece *wp = NULL;
    rag_encoding enc = {0};
    rag_err err;

    if (rag_wordpiece_load_json(&wp, (const char *)data, size, "fuzz.json", &err) != 0)
        return 0;
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        const char *p = probes[i];
        check(wp, p, strlen(p), NULL, 0, 0, &enc);
        check(wp, p, strlen(p), probes[(i + 1) % 6], strlen(probes[(i + 1) % 6]), 8, &enc);
        check(wp, p, strlen(p), NULL, 0, 5, &enc);
    }
    check(wp, (const char *)data, size, NULL, 0, 0, &enc);
    check(wp, (const char *)data, size / 2, (const char *)data + size / 2, size - size / 2, 16,
          &enc);
    for (int32_t id = -1; id < 5; id++)
        (void)rag_wordpiece_token(wp, id);
    rag_encoding_fini(&enc);
    rag_wordpiece_destroy(wp);
    return 0;
}
