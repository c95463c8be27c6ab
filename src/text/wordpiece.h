/* wordpiece.h - BERT WordPiece tokenizer, bit-exact with Hugging Face
 * tokenizers (BertNormalizer + BertPreTokenizer + WordPiece + BERT
 * post-processor), loaded from tokenizer.json or vocab.txt.
 *
 * Thread safety: a rag_wordpiece is read-only after load and may be shared
 * by threads; each call uses only its own output struct.
 */
#ifndef RAG_WORDPIECE_H
#define RAG_WORDPIECE_H

#include "core/core.h"

#include <stdint.h>

typedef struct rag_wordpiece rag_wordpiece;

typedef struct {
    int32_t *ids;            /* token ids, with [CLS]/[SEP] */
    int32_t *type_ids;       /* 0 for the first sequence, 1 for the second */
    int32_t *attention;      /* 1 for every token (no padding here) */
    size_t *byte_start;      /* offsets into the input; special tokens get 0,0 */
    size_t *byte_end;
    size_t n;                /* tokens */
    size_t cap;
    size_t n_truncated;      /* tokens dropped by truncation */
} rag_encoding;

/* Load from a model folder (tokenizer.json preferred, else vocab.txt plus
 * tokenizer_config.json for do_lower_case). Caller owns *out; free with
 * rag_wordpiece_destroy. Errors name the file. */
int rag_wordpiece_load(rag_wordpiece **out, const char *model_dir, rag_err *err);
int rag_wordpiece_load_json(rag_wordpiece **out, const char *json, size_t n_bytes,
                            const char *name, rag_err *err);
void rag_wordpiece_destroy(rag_wordpiece *wp);

size_t rag_wordpiece_vocab_size(const rag_wordpiece *wp);
int32_t rag_wordpiece_token_id(const rag_wordpiece *wp, const char *token); /* -1 if absent */
const char *rag_wordpiece_token(const rag_wordpiece *wp, int32_t id);       /* NULL if out of range */

/* truncation.max_length from tokenizer.json (model_max_length from
 * tokenizer_config.json for vocab.txt), or 0 if none is given. */
size_t rag_wordpiece_default_max_len(const rag_wordpiece *wp);
/* padding.pad_id (or the id of the pad token), 0 if none is given. */
int32_t rag_wordpiece_pad_id(const rag_wordpiece *wp);

/* Encode one text (b == NULL) or a pair, with special tokens, truncated to
 * max_len tokens in total (longest-first for pairs, exactly as HF
 * tokenizers; 0 = no truncation; below the number of special tokens:
 * RAG_EINVAL). The whole text is always tokenized, so enc->n_truncated is
 * exact; byte offsets of sequence-B tokens are into b. a may be NULL when
 * n_a == 0. Invalid UTF-8 is an error (RAG_EFORMAT) naming the text and
 * byte. Start with a zeroed enc (rag_encoding enc = {0}); it is reused across calls;
 * free with rag_encoding_fini. */
int rag_wordpiece_encode(const rag_wordpiece *wp, const char *a, size_t n_a,
                         const char *b, size_t n_b, size_t max_len,
                         rag_encoding *enc, rag_err *err);
void rag_encoding_fini(rag_encoding *enc);

#endif
