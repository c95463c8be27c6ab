/* wordpiece_internal.h - private to src/text/wordpiece*.c: the layout of
 * rag_wordpiece shared by the loader (wordpiece.c) and the encoder
 * (wordpiece_encode.c). Nothing outside those files may include it.
 */
#ifndef RAG_WORDPIECE_INTERNAL_H
#define RAG_WORDPIECE_INTERNAL_H

#include "text/wordpiece.h"

#include <stdint.h>

/* One slot of the open-addressing vocabulary table (model vocab only). */
struct wp_slot {
    uint64_t hash;     /* 0 = empty (real hashes are forced non-zero) */
    const char *tok;   /* borrowed from the arena */
    uint32_t n_bytes;
    int32_t id;
};

/* A token matched verbatim in the raw input (HF "added_tokens"). */
struct wp_added {
    const char *content; /* arena */
    size_t n_bytes;
    int32_t id;
    int special;
};

/* One element of a post-processor template. */
struct wp_tmpl_item {
    int seq;             /* -1 = special token, 0 = sequence A, 1 = B */
    int32_t type_id;
    const int32_t *ids;  /* special token ids (arena) */
    size_t n_ids;
};

struct wp_template {
    struct wp_tmpl_item *items; /* arena */
    size_t n_items;
    size_t n_special;           /* ids added on top of the sequences */
};

struct rag_wordpiece {
    rag_arena *arena;           /* every string and table below */

    /* id -> token (model vocab and added tokens); NULL for holes */
    const char **id_to_tok;
    size_t n_ids;

    struct wp_slot *slots;      /* model vocab, power-of-two size */
    size_t mask;
    size_t max_tok_bytes;       /* longest model-vocab entry */

    /* WordPiece model */
    int32_t unk_id;
    const char *prefix;         /* continuing_subword_prefix, e.g. "##" */
    size_t n_prefix;
    size_t max_chars;           /* max_input_chars_per_word */

    /* BertNormalizer; has_normalizer = 0 means the identity */
    int has_normalizer;
    int clean_text;
    int handle_chinese;
    int strip_accents;
    int lowercase;

    /* added tokens, longest first, matched on the raw text */
    struct wp_added *added;
    size_t n_added;
    uint8_t added_first[32];    /* bitset of their first bytes */

    struct wp_template single;
    struct wp_template pair;

    /* per-byte class and mapping for ASCII (wp_init_ascii) */
    uint8_t ascii_class[128];
    char ascii_map[128];

    size_t json_max_len;        /* truncation.max_length, 0 if none */
    int32_t pad_id;
};

/* Vocabulary lookup: id or -1. */
int32_t wp_lookup(const rag_wordpiece *wp, const char *s, size_t n_bytes);
uint64_t wp_hash(const char *s, size_t n_bytes);
/* Fill ascii_class/ascii_map from the normalizer flags (after parsing). */
void wp_init_ascii(rag_wordpiece *wp);

enum { WP_ASCII_WORD = 0, WP_ASCII_SPACE = 1, WP_ASCII_PUNCT = 2, WP_ASCII_DROP = 3 };

#endif
