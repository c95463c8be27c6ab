/* wordpiece.c - loading a BERT WordPiece tokenizer from a Hugging Face model
 * folder: tokenizer.json (parsed with jansson) or vocab.txt plus
 * tokenizer_config.json. Builds the vocabulary hash table, the added-token
 * matcher and the post-processor templates used by wordpiece_encode.c.
 */
#include "text/wordpiece_internal.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#define WP_MAX_JSON_BYTES ((size_t)512 << 20) /* tokenizer.json cap */
#define WP_MAX_VOCAB_BYTES ((size_t)256 << 20) /* vocab.txt cap */
#define WP_MAX_ID (1 << 24)                    /* ids above this are refused */
#define WP_MAX_TEMPLATE 64                     /* items per template */

/* ---- vocabulary hash table ------------------------------------------- */

/* Polynomial hash h = sum s[i] * B^(n-1-i) (mod 2^64), so the encoder can
 * hash any substring of a word in O(1) from prefix sums (wordpiece_encode.c).
 * The slot index mixes h; entries are always confirmed with memcmp. */
uint64_t wp_hash(const char *s, size_t n_bytes)
{
    uint64_t h = 0;
    for (size_t i = 0; i < n_bytes; i++)
        h = h * WP_HASH_B + (unsigned char)s[i];
    return h;
}

int32_t wp_lookup_hashed(const rag_wordpiece *wp, uint64_t h, const char *pre, size_t n_pre,
                         const char *s, size_t n_bytes)
{
    size_t b = wp_bloom_bit(h), i;
    uint32_t tag = (uint32_t)(h >> 32);

    if (!(wp->bloom[b >> 6] >> (b & 63) & 1))
        return -1;
    for (i = wp_slot_index(wp, h);; i = (i + 1) & wp->mask) {
        const struct wp_slot *sl = &wp->slots[i];
        if (sl->id < 0)
            return -1;
        if (sl->tag == tag && wp->slot_len[i] == n_pre + n_bytes &&
            memcmp(wp->slot_tok[i], pre, n_pre) == 0 &&
            memcmp(wp->slot_tok[i] + n_pre, s, n_bytes) == 0)
            return sl->id;
    }
}

int32_t wp_lookup(const rag_wordpiece *wp, const char *s, size_t n_bytes)
{
    return wp_lookup_hashed(wp, wp_hash(s, n_bytes), "", 0, s, n_bytes);
}

/* Allocate the table for up to n_entries tokens (load factor <= 1/2). */
static int table_init(rag_wordpiece *wp, size_t n_entries, const char *name, rag_err *err)
{
    size_t n_slots = 16;
    while (n_slots < 2 * n_entries + 2)
        n_slots <<= 1;
    wp->slots = rag_arena_alloc(wp->arena, n_slots * sizeof *wp->slots);
    wp->slot_tok = rag_arena_alloc(wp->arena, n_slots * sizeof *wp->slot_tok);
    wp->slot_len = rag_arena_alloc(wp->arena, n_slots * sizeof *wp->slot_len);
    wp->bloom = rag_arena_alloc(wp->arena, ((size_t)1 << WP_BLOOM_BITS) / 8);
    if (!wp->slots || !wp->slot_tok || !wp->slot_len || !wp->bloom)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory for the vocabulary", name);
    memset(wp->slots, 0xFF, n_slots * sizeof *wp->slots); /* id -1: empty */
    memset(wp->bloom, 0, ((size_t)1 << WP_BLOOM_BITS) / 8);
    wp->mask = n_slots - 1;
    wp->shift = 64;
    while (n_slots > 1) {
        n_slots >>= 1;
        wp->shift--;
    }
    return 0;
}

/* Insert or replace (a later duplicate wins, as in HF's vocab readers). */
static void table_put(rag_wordpiece *wp, const char *tok, size_t n_bytes, int32_t id)
{
    uint64_t h = wp_hash(tok, n_bytes);
    size_t b = wp_bloom_bit(h), i;

    for (i = wp_slot_index(wp, h);; i = (i + 1) & wp->mask) {
        struct wp_slot *sl = &wp->slots[i];
        if (sl->id < 0) {
            sl->tag = (uint32_t)(h >> 32);
            sl->id = id;
            wp->slot_tok[i] = tok;
            wp->slot_len[i] = (uint32_t)n_bytes;
            break;
        }
        if (sl->tag == (uint32_t)(h >> 32) && wp->slot_len[i] == n_bytes &&
            memcmp(wp->slot_tok[i], tok, n_bytes) == 0) {
            sl->id = id;
            break;
        }
    }
    wp->bloom[b >> 6] |= (uint64_t)1 << (b & 63);
    if (n_bytes > wp->max_tok_bytes)
        wp->max_tok_bytes = n_bytes < WP_MAX_MATCH_BYTES ? n_bytes : WP_MAX_MATCH_BYTES;
}

static int ids_init(rag_wordpiece *wp, size_t n_ids, const char *name, rag_err *err)
{
    wp->id_to_tok = rag_arena_alloc(wp->arena, (n_ids ? n_ids : 1) * sizeof *wp->id_to_tok);
    if (!wp->id_to_tok)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory for the vocabulary", name);
    memset(wp->id_to_tok, 0, (n_ids ? n_ids : 1) * sizeof *wp->id_to_tok);
    wp->n_ids = n_ids;
    return 0;
}

/* ---- added tokens ----------------------------------------------------- */

static int added_cmp(const void *a, const void *b)
{
    const struct wp_added *x = a, *y = b;
    if (x->n_bytes != y->n_bytes)
        return x->n_bytes > y->n_bytes ? -1 : 1; /* longest first */
    return memcmp(x->content, y->content, x->n_bytes);
}

static void added_finish(rag_wordpiece *wp)
{
    qsort(wp->added, wp->n_added, sizeof *wp->added, added_cmp);
    memset(wp->added_first, 0, sizeof wp->added_first);
    for (size_t i = 0; i < wp->n_added; i++) {
        unsigned char c = (unsigned char)wp->added[i].content[0];
        wp->added_first[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
}

/* ---- templates -------------------------------------------------------- */

static const int32_t *one_id(rag_wordpiece *wp, int32_t id)
{
    int32_t *p = rag_arena_alloc(wp->arena, sizeof *p);
    if (p)
        *p = id;
    return p;
}

/* The BERT layout: [CLS] A [SEP] and [CLS] A [SEP] B [SEP] (B typed 1). */
static int bert_templates(rag_wordpiece *wp, int32_t cls, int32_t sep, const char *name,
                          rag_err *err)
{
    struct wp_tmpl_item *s = rag_arena_alloc(wp->arena, 3 * sizeof *s);
    struct wp_tmpl_item *p = rag_arena_alloc(wp->arena, 5 * sizeof *p);
    const int32_t *c = one_id(wp, cls), *e = one_id(wp, sep);

    if (!s || !p || !c || !e)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    s[0] = (struct wp_tmpl_item){-1, 0, c, 1};
    s[1] = (struct wp_tmpl_item){0, 0, NULL, 0};
    s[2] = (struct wp_tmpl_item){-1, 0, e, 1};
    p[0] = s[0];
    p[1] = s[1];
    p[2] = s[2];
    p[3] = (struct wp_tmpl_item){1, 1, NULL, 0};
    p[4] = (struct wp_tmpl_item){-1, 1, e, 1};
    wp->single = (struct wp_template){s, 3, 2};
    wp->pair = (struct wp_template){p, 5, 3};
    return 0;
}

/* ---- tokenizer.json --------------------------------------------------- */

static int json_bool(json_t *obj, const char *key, int dflt, int *out, const char *name,
                     rag_err *err)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return 0;
    }
    if (!json_is_boolean(v))
        return rag_fail(err, RAG_EFORMAT, "%s: %s must be true or false", name, key);
    *out = json_is_true(v);
    return 0;
}

static int json_id(json_t *v, int32_t *out)
{
    json_int_t x;
    if (!json_is_integer(v))
        return -1;
    x = json_integer_value(v);
    if (x < 0 || x >= WP_MAX_ID)
        return -1;
    *out = (int32_t)x;
    return 0;
}

static int parse_normalizer(rag_wordpiece *wp, json_t *root, const char *name, rag_err *err)
{
    json_t *n = json_object_get(root, "normalizer"), *t, *sa;
    int rc;

    if (!n || json_is_null(n)) {
        wp->has_normalizer = 0;
        return 0;
    }
    t = json_object_get(n, "type");
    if (!json_is_object(n) || !json_is_string(t))
        return rag_fail(err, RAG_EFORMAT, "%s: normalizer must be an object with a type", name);
    if (strcmp(json_string_value(t), "BertNormalizer") != 0)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: unsupported normalizer type \"%s\" (only BertNormalizer)", name,
                        json_string_value(t));
    wp->has_normalizer = 1;
    if ((rc = json_bool(n, "clean_text", 1, &wp->clean_text, name, err)) < 0 ||
        (rc = json_bool(n, "handle_chinese_chars", 1, &wp->handle_chinese, name, err)) < 0 ||
        (rc = json_bool(n, "lowercase", 1, &wp->lowercase, name, err)) < 0)
        return rc;
    sa = json_object_get(n, "strip_accents");
    /* null (or absent) follows lowercase, as in HF tokenizers */
    if (!sa || json_is_null(sa))
        wp->strip_accents = wp->lowercase;
    else if (json_is_boolean(sa))
        wp->strip_accents = json_is_true(sa);
    else
        return rag_fail(err, RAG_EFORMAT,
                        "%s: normalizer.strip_accents must be null, true or false", name);
    return 0;
}

static int parse_model(rag_wordpiece *wp, json_t *root, const char *name, rag_err *err)
{
    json_t *m = json_object_get(root, "model"), *t, *vocab, *v, *added;
    const char *key, *unk = "[UNK]";
    size_t n_ids = 0, i;
    int32_t id = 0;
    int rc;

    if (!json_is_object(m))
        return rag_fail(err, RAG_EFORMAT, "%s: no \"model\" object", name);
    t = json_object_get(m, "type");
    if (t && !json_is_string(t))
        return rag_fail(err, RAG_EFORMAT, "%s: model.type must be a string", name);
    if (!t || strcmp(json_string_value(t), "WordPiece") != 0)
        return rag_fail(err, RAG_EFORMAT, "%s: unknown model type \"%s\" (only WordPiece)", name,
                        t ? json_string_value(t) : "(none)");
    vocab = json_object_get(m, "vocab");
    if (!json_is_object(vocab) || json_object_size(vocab) == 0)
        return rag_fail(err, RAG_EFORMAT, "%s: model.vocab must be a non-empty object", name);

    /* the id space covers the vocab and the added tokens */
    json_object_foreach(vocab, key, v) {
        if (json_id(v, &id) < 0)
            return rag_fail(err, RAG_EFORMAT, "%s: model.vocab[\"%.60s\"] is not an id in 0..%d",
                            name, key, WP_MAX_ID - 1);
        if ((size_t)id + 1 > n_ids)
            n_ids = (size_t)id + 1;
    }
    added = json_object_get(root, "added_tokens");
    if (added && !json_is_null(added) && !json_is_array(added))
        return rag_fail(err, RAG_EFORMAT, "%s: added_tokens must be an array", name);
    json_array_foreach(added, i, v) {
        json_t *c = json_object_get(v, "content");
        if (!json_is_object(v) || json_id(json_object_get(v, "id"), &id) < 0 || !json_is_string(c))
            return rag_fail(err, RAG_EFORMAT,
                            "%s: added_tokens[%zu] needs an id in 0..%d and a string content", name,
                            i, WP_MAX_ID - 1);
        if ((size_t)id + 1 > n_ids)
            n_ids = (size_t)id + 1;
    }
    if ((rc = ids_init(wp, n_ids, name, err)) < 0 ||
        (rc = table_init(wp, json_object_size(vocab), name, err)) < 0)
        return rc;
    json_object_foreach(vocab, key, v) {
        size_t n_key = strlen(key);
        char *tok = rag_arena_strndup(wp->arena, key, n_key);
        if (!tok)
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory for the vocabulary", name);
        id = (int32_t)json_integer_value(v);
        wp->id_to_tok[id] = tok;
        table_put(wp, tok, n_key, id);
    }

    /* added tokens: all get ids; non-normalized ones are matched verbatim */
    wp->added = rag_arena_alloc(wp->arena, (json_array_size(added) + 1) * sizeof *wp->added);
    if (!wp->added)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    json_array_foreach(added, i, v) {
        const char *content = json_string_value(json_object_get(v, "content"));
        size_t n_content = json_string_length(json_object_get(v, "content"));
        int special = 0, normalized = 0;
        char *copy;

        json_id(json_object_get(v, "id"), &id);
        if ((rc = json_bool(v, "special", 0, &special, name, err)) < 0 ||
            (rc = json_bool(v, "normalized", !special, &normalized, name, err)) < 0)
            return rag_err_prefix(err, "added_tokens[%zu]", i);
        if (n_content == 0 || memchr(content, 0, n_content))
            continue;
        copy = rag_arena_strndup(wp->arena, content, n_content);
        if (!copy)
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
        wp->id_to_tok[id] = copy;
        if (normalized)
            continue; /* see docs/tokenizer.md: only verbatim added tokens are matched */
        wp->added[wp->n_added++] = (struct wp_added){copy, n_content, id, special};
    }
    added_finish(wp);

    t = json_object_get(m, "unk_token");
    if (t && !json_is_string(t))
        return rag_fail(err, RAG_EFORMAT, "%s: model.unk_token must be a string", name);
    if (t)
        unk = json_string_value(t);
    wp->unk_id = wp_lookup(wp, unk, strlen(unk));
    if (wp->unk_id < 0)
        return rag_fail(err, RAG_EFORMAT, "%s: model.unk_token \"%.60s\" is not in model.vocab",
                        name, unk);

    t = json_object_get(m, "continuing_subword_prefix");
    if (t && !json_is_null(t) && !json_is_string(t))
        return rag_fail(err, RAG_EFORMAT, "%s: model.continuing_subword_prefix must be a string",
                        name);
    wp->prefix = rag_arena_strndup(wp->arena, t && json_is_string(t) ? json_string_value(t) : "##",
                                   t && json_is_string(t) ? json_string_length(t) : 2);
    if (!wp->prefix)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    wp->n_prefix = strlen(wp->prefix);
    if (wp->n_prefix > 64)
        return rag_fail(err, RAG_ELIMIT, "%s: model.continuing_subword_prefix is over 64 bytes",
                        name);

    t = json_object_get(m, "max_input_chars_per_word");
    wp->max_chars = 100;
    if (t && !json_is_null(t)) {
        if (!json_is_integer(t) || json_integer_value(t) < 0)
            return rag_fail(err, RAG_EFORMAT,
                            "%s: model.max_input_chars_per_word must be a non-negative integer",
                            name);
        wp->max_chars = (size_t)json_integer_value(t);
    }
    return 0;
}

/* Resolve a SpecialToken name through post_processor.special_tokens. */
static int special_ids(rag_wordpiece *wp, json_t *specials, const char *tok_name,
                       struct wp_tmpl_item *it, const char *name, rag_err *err)
{
    json_t *s = json_object_get(specials, tok_name), *ids, *v;
    int32_t *out;
    size_t i;

    if (!json_is_object(s) || !json_is_array(ids = json_object_get(s, "ids")) ||
        json_array_size(ids) == 0 || json_array_size(ids) > WP_MAX_TEMPLATE)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: post_processor.special_tokens has no ids for \"%.60s\"", name,
                        tok_name);
    out = rag_arena_alloc(wp->arena, json_array_size(ids) * sizeof *out);
    if (!out)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    json_array_foreach(ids, i, v) {
        if (json_id(v, &out[i]) < 0 || (size_t)out[i] >= wp->n_ids)
            return rag_fail(err, RAG_EFORMAT,
                            "%s: post_processor.special_tokens[\"%.60s\"].ids[%zu] is out of range",
                            name, tok_name, i);
    }
    it->ids = out;
    it->n_ids = json_array_size(ids);
    return 0;
}

static int parse_template(rag_wordpiece *wp, json_t *pp, const char *which,
                          struct wp_template *t, const char *name, rag_err *err)
{
    json_t *arr = json_object_get(pp, which), *specials = json_object_get(pp, "special_tokens");
    json_t *v;
    size_t i;
    int rc;

    if (!json_is_array(arr) || json_array_size(arr) > WP_MAX_TEMPLATE)
        return rag_fail(err, RAG_EFORMAT, "%s: post_processor.%s must be an array (at most %d)",
                        name, which, WP_MAX_TEMPLATE);
    t->items = rag_arena_alloc(wp->arena, (json_array_size(arr) + 1) * sizeof *t->items);
    if (!t->items)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    t->n_items = 0;
    t->n_special = 0;
    json_array_foreach(arr, i, v) {
        struct wp_tmpl_item *it = &t->items[t->n_items];
        json_t *sp = json_object_get(v, "SpecialToken"), *sq = json_object_get(v, "Sequence");
        json_t *obj = sp ? sp : sq, *idv, *tv;
        json_int_t type_id = 0;

        if (!json_is_object(obj))
            return rag_fail(err, RAG_EFORMAT,
                            "%s: post_processor.%s[%zu] is neither SpecialToken nor Sequence", name,
                            which, i);
        idv = json_object_get(obj, "id");
        tv = json_object_get(obj, "type_id");
        if (tv) {
            if (!json_is_integer(tv) || json_integer_value(tv) < 0 ||
                json_integer_value(tv) > 1000)
                return rag_fail(err, RAG_EFORMAT, "%s: post_processor.%s[%zu].type_id is invalid",
                                name, which, i);
            type_id = json_integer_value(tv);
        }
        if (!json_is_string(idv))
            return rag_fail(err, RAG_EFORMAT, "%s: post_processor.%s[%zu].id must be a string",
                            name, which, i);
        it->type_id = (int32_t)type_id;
        if (sp) {
            it->seq = -1;
            if ((rc = special_ids(wp, specials, json_string_value(idv), it, name, err)) < 0)
                return rc;
            t->n_special += it->n_ids;
        } else {
            const char *s = json_string_value(idv);
            if (strcmp(s, "A") == 0)
                it->seq = 0;
            else if (strcmp(s, "B") == 0)
                it->seq = 1;
            else
                return rag_fail(err, RAG_EFORMAT,
                                "%s: post_processor.%s[%zu]: Sequence id must be \"A\" or \"B\"",
                                name, which, i);
            it->ids = NULL;
            it->n_ids = 0;
        }
        t->n_items++;
    }
    return 0;
}

static int parse_post_processor(rag_wordpiece *wp, json_t *root, const char *name, rag_err *err)
{
    json_t *pp = json_object_get(root, "post_processor"), *t;
    const char *type;
    int rc;

    if (!pp || json_is_null(pp)) {
        /* no special tokens: the sequences alone (pair: A then B typed 1) */
        struct wp_tmpl_item *s = rag_arena_alloc(wp->arena, sizeof *s);
        struct wp_tmpl_item *p = rag_arena_alloc(wp->arena, 2 * sizeof *p);
        if (!s || !p)
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
        s[0] = (struct wp_tmpl_item){0, 0, NULL, 0};
        p[0] = s[0];
        p[1] = (struct wp_tmpl_item){1, 1, NULL, 0};
        wp->single = (struct wp_template){s, 1, 0};
        wp->pair = (struct wp_template){p, 2, 0};
        return 0;
    }
    t = json_object_get(pp, "type");
    if (!json_is_object(pp) || !json_is_string(t))
        return rag_fail(err, RAG_EFORMAT, "%s: post_processor must be an object with a type",
                        name);
    type = json_string_value(t);
    if (strcmp(type, "TemplateProcessing") == 0) {
        if ((rc = parse_template(wp, pp, "single", &wp->single, name, err)) < 0 ||
            (rc = parse_template(wp, pp, "pair", &wp->pair, name, err)) < 0)
            return rc;
        return 0;
    }
    if (strcmp(type, "BertProcessing") == 0) {
        int32_t cls, sep;
        json_t *c = json_object_get(pp, "cls"), *s = json_object_get(pp, "sep");
        if (!json_is_array(c) || !json_is_array(s) ||
            json_id(json_array_get(c, 1), &cls) < 0 || json_id(json_array_get(s, 1), &sep) < 0 ||
            (size_t)cls >= wp->n_ids || (size_t)sep >= wp->n_ids)
            return rag_fail(err, RAG_EFORMAT,
                            "%s: post_processor (BertProcessing) needs cls and sep as [token, id]",
                            name);
        return bert_templates(wp, cls, sep, name, err);
    }
    return rag_fail(err, RAG_EFORMAT,
                    "%s: unsupported post_processor type \"%s\" (TemplateProcessing or "
                    "BertProcessing)",
                    name, type);
}

static int parse_json_root(rag_wordpiece *wp, json_t *root, const char *name, rag_err *err)
{
    json_t *pt, *t, *tr, *pad;
    int rc;

    if (!json_is_object(root))
        return rag_fail(err, RAG_EFORMAT, "%s: top level must be an object", name);
    if ((rc = parse_model(wp, root, name, err)) < 0 ||
        (rc = parse_normalizer(wp, root, name, err)) < 0)
        return rc;
    pt = json_object_get(root, "pre_tokenizer");
    t = json_object_get(pt, "type");
    if (!json_is_object(pt) || !json_is_string(t) ||
        strcmp(json_string_value(t), "BertPreTokenizer") != 0)
        return rag_fail(err, RAG_EFORMAT,
                        "%s: unsupported pre_tokenizer \"%s\" (only BertPreTokenizer)", name,
                        json_is_string(t) ? json_string_value(t) : "(none)");
    if ((rc = parse_post_processor(wp, root, name, err)) < 0)
        return rc;
    tr = json_object_get(root, "truncation");
    if (json_is_object(tr)) {
        json_t *ml = json_object_get(tr, "max_length");
        if (json_is_integer(ml) && json_integer_value(ml) > 0)
            wp->json_max_len = (size_t)json_integer_value(ml);
    }
    pad = json_object_get(root, "padding");
    wp->pad_id = 0;
    if (json_is_object(pad))
        json_id(json_object_get(pad, "pad_id"), &wp->pad_id);
    return 0;
}

static rag_wordpiece *wp_new(void)
{
    rag_wordpiece *wp = rag_calloc(1, sizeof *wp);
    if (!wp)
        return NULL;
    wp->arena = rag_arena_create(1 << 20);
    if (!wp->arena) {
        rag_free(wp);
        return NULL;
    }
    return wp;
}

int rag_wordpiece_load_json(rag_wordpiece **out, const char *json, size_t n_bytes,
                            const char *name, rag_err *err)
{
    json_error_t jerr;
    json_t *root;
    rag_wordpiece *wp;
    int rc;

    *out = NULL;
    if (!name)
        name = "tokenizer.json";
    if (!json && n_bytes)
        return rag_fail(err, RAG_EINVAL, "%s: NULL buffer", name);
    root = json_loadb(json ? json : "", n_bytes, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return rag_fail(err, RAG_EFORMAT, "%s: line %d column %d: %s", name, jerr.line,
                        jerr.column, jerr.text);
    wp = wp_new();
    if (!wp) {
        json_decref(root);
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    }
    rc = parse_json_root(wp, root, name, err);
    json_decref(root);
    if (rc == 0)
        rc = wp_finish(wp, name, err);
    if (rc < 0) {
        rag_wordpiece_destroy(wp);
        return rc;
    }
    *out = wp;
    return 0;
}

/* ---- vocab.txt + tokenizer_config.json -------------------------------- */

/* A config value that is a string or {"content": string}. */
static const char *cfg_token(json_t *cfg, const char *key, const char *dflt)
{
    json_t *v = json_object_get(cfg, key);
    if (json_is_object(v))
        v = json_object_get(v, "content");
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static int load_vocab_txt(rag_wordpiece *wp, const char *text, size_t n_bytes, json_t *cfg,
                          const char *name, rag_err *err)
{
    static const char *const specials[] = {"pad_token", "unk_token", "cls_token", "sep_token",
                                           "mask_token"};
    static const char *const defaults[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"};
    size_t n_lines = 0, i, pos;
    int32_t id = 0, cls, sep;
    json_t *v;
    int rc;

    for (i = 0; i < n_bytes; i++)
        n_lines += text[i] == '\n';
    if (n_bytes && text[n_bytes - 1] != '\n')
        n_lines++;
    if (n_lines == 0)
        return rag_fail(err, RAG_EFORMAT, "%s: empty vocabulary", name);
    if (n_lines >= WP_MAX_ID)
        return rag_fail(err, RAG_ELIMIT, "%s: over %d tokens", name, WP_MAX_ID);
    if ((rc = ids_init(wp, n_lines, name, err)) < 0 ||
        (rc = table_init(wp, n_lines, name, err)) < 0)
        return rc;
    for (pos = 0; pos < n_bytes; id++) {
        const char *nl = memchr(text + pos, '\n', n_bytes - pos);
        size_t end = nl ? (size_t)(nl - text) : n_bytes, n_tok;
        char *tok;

        n_tok = end - pos;
        if (n_tok && text[pos + n_tok - 1] == '\r')
            n_tok--;
        if (!rag_utf8_valid(text + pos, n_tok))
            return rag_fail(err, RAG_EFORMAT, "%s: line %d is not valid UTF-8", name, id + 1);
        tok = rag_arena_strndup(wp->arena, text + pos, n_tok);
        if (!tok)
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
        wp->id_to_tok[id] = tok;
        table_put(wp, tok, n_tok, id);
        pos = end + 1;
    }

    wp->has_normalizer = 1;
    wp->clean_text = 1;
    wp->lowercase = 1;
    if (json_is_boolean(v = json_object_get(cfg, "do_lower_case")))
        wp->lowercase = json_is_true(v);
    wp->strip_accents = wp->lowercase;
    if (json_is_boolean(v = json_object_get(cfg, "strip_accents")))
        wp->strip_accents = json_is_true(v);
    wp->handle_chinese = 1;
    if (json_is_boolean(v = json_object_get(cfg, "tokenize_chinese_chars")))
        wp->handle_chinese = json_is_true(v);
    wp->prefix = "##";
    wp->n_prefix = 2;
    wp->max_chars = 100;

    /* special tokens are matched verbatim in the input, as HF does */
    wp->added = rag_arena_alloc(wp->arena, 5 * sizeof *wp->added);
    if (!wp->added)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    for (i = 0; i < 5; i++) {
        const char *tok = cfg_token(cfg, specials[i], defaults[i]);
        int32_t tid = wp_lookup(wp, tok, strlen(tok));
        if (tid >= 0 && *tok)
            wp->added[wp->n_added++] = (struct wp_added){wp->id_to_tok[tid], strlen(tok), tid, 1};
    }
    added_finish(wp);
    {
        const char *unk = cfg_token(cfg, "unk_token", "[UNK]");
        const char *c = cfg_token(cfg, "cls_token", "[CLS]");
        const char *s = cfg_token(cfg, "sep_token", "[SEP]");
        const char *p = cfg_token(cfg, "pad_token", "[PAD]");
        wp->unk_id = wp_lookup(wp, unk, strlen(unk));
        cls = wp_lookup(wp, c, strlen(c));
        sep = wp_lookup(wp, s, strlen(s));
        wp->pad_id = wp_lookup(wp, p, strlen(p));
        if (wp->pad_id < 0)
            wp->pad_id = 0;
        if (wp->unk_id < 0 || cls < 0 || sep < 0)
            return rag_fail(err, RAG_EFORMAT, "%s: the tokens %s, %s and %s must all be present",
                            name, unk, c, s);
    }
    v = json_object_get(cfg, "model_max_length");
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 1000000)
        wp->json_max_len = (size_t)json_integer_value(v);
    return bert_templates(wp, cls, sep, name, err);
}

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int rag_wordpiece_load(rag_wordpiece **out, const char *model_dir, rag_err *err)
{
    struct stat st;
    rag_buf text = RAG_BUF_INIT;
    char *tj = NULL, *vt = NULL, *cf = NULL;
    json_t *cfg = NULL;
    rag_wordpiece *wp = NULL;
    int rc;

    *out = NULL;
    if (!model_dir)
        return rag_fail(err, RAG_EINVAL, "tokenizer: no model folder given");
    if (stat(model_dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return rag_fail(err, RAG_ENOTFOUND, "model folder %s does not exist", model_dir);
    tj = rag_asprintf("%s/tokenizer.json", model_dir);
    vt = rag_asprintf("%s/vocab.txt", model_dir);
    cf = rag_asprintf("%s/tokenizer_config.json", model_dir);
    if (!tj || !vt || !cf) {
        rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", model_dir);
        goto done;
    }
    if (file_exists(tj)) {
        rc = rag_read_file(&text, tj, WP_MAX_JSON_BYTES, err);
        if (rc < 0)
            goto done;
        rc = rag_wordpiece_load_json(out, text.data, text.len, tj, err);
        goto done;
    }
    if (!file_exists(vt)) {
        rc = rag_fail(err, RAG_ENOTFOUND,
                      "model folder %s has neither tokenizer.json nor vocab.txt", model_dir);
        goto done;
    }
    if (file_exists(cf)) {
        json_error_t jerr;
        cfg = json_load_file(cf, 0, &jerr);
        if (!json_is_object(cfg)) {
            rc = rag_fail(err, RAG_EFORMAT, "%s: line %d column %d: %s", cf, jerr.line,
                          jerr.column, cfg ? "top level must be an object" : jerr.text);
            goto done;
        }
    }
    rc = rag_read_file(&text, vt, WP_MAX_VOCAB_BYTES, err);
    if (rc < 0)
        goto done;
    wp = wp_new();
    if (!wp) {
        rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", vt);
        goto done;
    }
    rc = load_vocab_txt(wp, text.data ? text.data : "", text.len, cfg, vt, err);
    if (rc == 0)
        rc = wp_finish(wp, vt, err);
    if (rc < 0)
        goto done;
    *out = wp;
    wp = NULL;
done:
    rag_wordpiece_destroy(wp);
    json_decref(cfg);
    rag_buf_fini(&text);
    rag_free(tj);
    rag_free(vt);
    rag_free(cf);
    return rc;
}

void rag_wordpiece_destroy(rag_wordpiece *wp)
{
    if (!wp)
        return;
    rag_arena_destroy(wp->arena);
    rag_free(wp);
}

size_t rag_wordpiece_vocab_size(const rag_wordpiece *wp)
{
    return wp->n_ids;
}

int32_t rag_wordpiece_token_id(const rag_wordpiece *wp, const char *token)
{
    for (size_t i = 0; i < wp->n_added; i++)
        if (strcmp(wp->added[i].content, token) == 0)
            return wp->added[i].id;
    return wp_lookup(wp, token, strlen(token));
}

const char *rag_wordpiece_token(const rag_wordpiece *wp, int32_t id)
{
    if (id < 0 || (size_t)id >= wp->n_ids)
        return NULL;
    return wp->id_to_tok[id];
}

size_t rag_wordpiece_default_max_len(const rag_wordpiece *wp)
{
    return wp->json_max_len;
}

int32_t rag_wordpiece_pad_id(const rag_wordpiece *wp)
{
    return wp->pad_id;
}
