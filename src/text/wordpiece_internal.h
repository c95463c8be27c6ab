/* wordpiece_internal.h - private to src/text/wordpiece*.c: the layout of
 * rag_wordpiece shared by the loader (wordpiece.c) and the encoder
 * (wordpiece_encode.c). Nothing outside those files may include it.
 */
#ifndef RAG_WORDPIECE_INTERNAL_H
#define RAG_WORDPIECE_INTERNAL_H

#include "text/wordpiece.h"

#include <stdint.h>

/* One slot of the open-addressing vocabulary table (model vocab only):
 * 8 bytes so misses stay in cache; the token text is in slot_tok. */
struct wp_slot {
    uint32_t tag;      /* high 32 bits of wp_hash(token) */
    int32_t id;        /* -1 = empty slot */
};

#define WP_MAX_MATCH_BYTES 4096 /* longest vocabulary entry a word can match */
#define WP_BLOOM_BITS 18 /* 32 KiB filter in front of the table */

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
    const char **slot_tok;      /* per slot: token text (arena) */
    uint32_t *slot_len;         /* per slot: its length in bytes */
    uint64_t *bloom;            /* 2^WP_BLOOM_BITS bits */
    size_t mask;
    unsigned shift;             /* 64 - log2(number of slots) */
    size_t max_tok_bytes;       /* longest model-vocab entry, capped at
                                   WP_MAX_MATCH_BYTES (longer ones never match) */

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

    uint64_t prefix_hash;       /* wp_hash(prefix) */
    uint64_t *pow;              /* pow[k] = WP_HASH_B^k, k <= max_tok_bytes */

    size_t json_max_len;        /* truncation.max_length, 0 if none */
    int32_t pad_id;
};

#define WP_HASH_B 0x100000001b3ULL /* odd multiplier of the polynomial hash */

/* Vocabulary lookup: id or -1. */
int32_t wp_lookup(const rag_wordpiece *wp, const char *s, size_t n_bytes);
uint64_t wp_hash(const char *s, size_t n_bytes);
/* Lookup of pre + s (n_pre + n_bytes bytes) whose wp_hash is h. */
int32_t wp_lookup_hashed(const rag_wordpiece *wp, uint64_t h, const char *pre, size_t n_pre,
                         const char *s, size_t n_bytes);

static inline size_t wp_slot_index(const rag_wordpiece *wp, uint64_t h)
{
    h ^= h >> 31;
    return (size_t)((h * 0x9E3779B97F4A7C15ULL) >> wp->shift) & wp->mask;
}

static inline size_t wp_bloom_bit(uint64_t h)
{
    h ^= h >> 29;
    return (size_t)((h * 0xD6E8FEB86659FD93ULL) >> (64 - WP_BLOOM_BITS));
}
/* After parsing: fill ascii_class/ascii_map from the normalizer flags and
 * the hash powers. */
int wp_finish(rag_wordpiece *wp, const char *name, rag_err *err);

enum { WP_ASCII_WORD = 0, WP_ASCII_SPACE = 1, WP_ASCII_PUNCT = 2, WP_ASCII_DROP = 3 };

#endif
