/* wordpiece_encode.c - the encoding pipeline of Hugging Face's BERT
 * tokenizer, in one streaming pass per sequence:
 *
 *   added tokens (matched verbatim on the raw text, leftmost-longest)
 *   BertNormalizer: clean_text (drop NUL, U+FFFD, Cc/Cf/Co/Cs except \t\n\r;
 *     White_Space -> split), handle_chinese_chars (isolate CJK ideographs),
 *     strip_accents (NFD, drop Mn), lowercase (per code point)
 *   BertPreTokenizer: split on White_Space, isolate punctuation (P* and all
 *     ASCII punctuation)
 *   WordPiece: greedy longest match, "##" continuation, words over
 *     max_input_chars_per_word -> [UNK], any unmatched piece -> [UNK]
 *   truncation (longest-first, HF's arithmetic), template post-processing.
 *
 * Each normalized character remembers the byte range of the source code
 * point it came from, so pieces get byte offsets into the caller's input.
 */
#include "text/wordpiece_internal.h"

#include <string.h>
#include <utf8proc.h>

/* ---- character classes ------------------------------------------------ */

static void init_ascii(rag_wordpiece *wp);

static int is_ascii_punct(uint32_t c)
{
    return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
           (c >= 123 && c <= 126);
}

/* Rust's char::is_whitespace (the Unicode White_Space property). */
static int is_space(uint32_t c)
{
    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) ||
           c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

/* clean_text's "control": Cc, Cf, Co, Cs, except \t \n \r. */
static int is_control(uint32_t c)
{
    if (c == '\t' || c == '\n' || c == '\r')
        return 0;
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CO:
    case UTF8PROC_CATEGORY_CS:
        return 1;
    default:
        return 0;
    }
}

static int is_punct(uint32_t c)
{
    if (c < 0x80)
        return is_ascii_punct(c);
    switch (utf8proc_category((utf8proc_int32_t)c)) {
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return 1;
    default:
        return 0;
    }
}

/* The CJK ideograph blocks of HF tokenizers' BertNormalizer. */
static int is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

int wp_finish(rag_wordpiece *wp, const char *name, rag_err *err)
{
    size_t n_pow = wp->max_tok_bytes + 1;

    wp->pow = rag_arena_alloc(wp->arena, n_pow * sizeof *wp->pow);
    if (!wp->pow)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    wp->pow[0] = 1;
    for (size_t k = 1; k < n_pow; k++)
        wp->pow[k] = wp->pow[k - 1] * WP_HASH_B;
    wp->prefix_hash = wp_hash(wp->prefix, wp->n_prefix);
    init_ascii(wp);
    return 0;
}

static void init_ascii(rag_wordpiece *wp)
{
    int clean = wp->has_normalizer && wp->clean_text;
    int lower = wp->has_normalizer && wp->lowercase;

    for (int c = 0; c < 128; c++) {
        uint8_t k = WP_ASCII_WORD;
        if (clean && (c == 0 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F))
            k = WP_ASCII_DROP;
        else if (is_space((uint32_t)c))
            k = WP_ASCII_SPACE;
        else if (is_ascii_punct((uint32_t)c))
            k = WP_ASCII_PUNCT;
        wp->ascii_class[c] = k;
        wp->ascii_map[c] = (char)(lower && c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
}

/* ---- token lists ------------------------------------------------------ */

struct tokvec {
    int32_t *ids;
    size_t *start, *end;
    size_t n, cap;
    size_t word_limit;  /* 0, or the truncation max_length (see word_done) */
    size_t n_at_limit;  /* tokens at the first word end with n >= word_limit */
};

/* HF tokenizers (0.23) stops tokenizing a sequence at the first word end
 * where it holds max_length tokens, and its LongestFirst arithmetic sees
 * those lengths; we record the same count. */
static void word_done(struct tokvec *tv)
{
    if (tv->word_limit && !tv->n_at_limit && tv->n >= tv->word_limit)
        tv->n_at_limit = tv->n;
}

static int tokvec_push(struct tokvec *tv, int32_t id, size_t start, size_t end)
{
    if (tv->n == tv->cap) {
        size_t cap = tv->cap ? tv->cap * 2 : 64;
        int32_t *ids = rag_realloc(tv->ids, cap * sizeof *ids);
        if (!ids)
            return RAG_ENOMEM;
        tv->ids = ids;
        size_t *s = rag_realloc(tv->start, cap * sizeof *s);
        if (!s)
            return RAG_ENOMEM;
        tv->start = s;
        size_t *e = rag_realloc(tv->end, cap * sizeof *e);
        if (!e)
            return RAG_ENOMEM;
        tv->end = e;
        tv->cap = cap;
    }
    tv->ids[tv->n] = id;
    tv->start[tv->n] = start;
    tv->end[tv->n] = end;
    tv->n++;
    return 0;
}

static void tokvec_fini(struct tokvec *tv)
{
    rag_free(tv->ids);
    rag_free(tv->start);
    rag_free(tv->end);
}

/* ---- the word being built --------------------------------------------- */

struct word {
    char *buf;          /* the normalized word, UTF-8 */
    size_t *src_start;  /* per word byte: source range of its code point */
    size_t *src_end;
    uint64_t *hpre;     /* hpre[i] = wp_hash of the first i bytes (cap + 1) */
    size_t cap;         /* bytes allocated in buf */
    size_t n_bytes;
    size_t n_chars;     /* may exceed max_chars; then bytes stop growing */
    size_t start, end;  /* source range of the whole word */
};

static int word_reserve(struct word *w, size_t need)
{
    size_t cap;
    char *b;
    size_t *s, *e;
    uint64_t *h;

    if (need <= w->cap)
        return 0;
    cap = w->cap ? w->cap : 64;
    while (cap < need)
        cap *= 2;
    b = rag_realloc(w->buf, cap);
    if (!b)
        return RAG_ENOMEM;
    w->buf = b;
    s = rag_realloc(w->src_start, cap * sizeof *s);
    if (!s)
        return RAG_ENOMEM;
    w->src_start = s;
    e = rag_realloc(w->src_end, cap * sizeof *e);
    if (!e)
        return RAG_ENOMEM;
    w->src_end = e;
    h = rag_realloc(w->hpre, (cap + 1) * sizeof *h);
    if (!h)
        return RAG_ENOMEM;
    w->hpre = h;
    w->cap = cap;
    return 0;
}

static int word_push(const rag_wordpiece *wp, struct word *w, uint32_t cp, size_t s, size_t e)
{
    char u[4];
    size_t k;

    if (w->n_chars == 0)
        w->start = s;
    w->end = e;
    if (++w->n_chars > wp->max_chars)
        return 0; /* will become [UNK]: only its extent matters */
    k = cp < 0x80 ? (u[0] = (char)cp, 1) : rag_utf8_encode(cp, u);
    if (w->n_bytes + k > w->cap && word_reserve(w, w->n_bytes + k) < 0)
        return RAG_ENOMEM;
    memcpy(w->buf + w->n_bytes, u, k);
    for (size_t j = 0; j < k; j++) {
        w->src_start[w->n_bytes + j] = s;
        w->src_end[w->n_bytes + j] = e;
    }
    w->n_bytes += k;
    return 0;
}

/* WordPiece on the finished word; appends pieces (or one [UNK]) to tv.
 * Greedy longest match: each candidate's hash comes from prefix hashes in
 * O(1), so a word of n bytes costs O(n * max_tok_bytes) at worst. */
static int word_flush(const rag_wordpiece *wp, struct word *w, struct tokvec *tv)
{
    size_t P = wp->n_prefix, n = w->n_bytes, pos = 0, n_before = tv->n;
    const char *word = w->buf;
    const uint64_t *H = w->hpre, *pw = wp->pow;
    int rc;

    if (w->n_chars == 0)
        return 0;
    if (w->n_chars > wp->max_chars)
        goto unk;
    w->hpre[0] = 0;
    for (size_t i = 0; i < n; i++)
        w->hpre[i + 1] = w->hpre[i] * WP_HASH_B + (unsigned char)word[i];
    while (pos < n) {
        size_t limit = wp->max_tok_bytes;
        if (pos > 0)
            limit = limit > P ? limit - P : 0;
        size_t end = n - pos > limit ? pos + limit : n;
        int32_t id = -1;

        while (end > pos) {
            size_t len;
            uint64_t h;
            /* candidates end on character boundaries */
            while (end > pos && end < n && ((unsigned char)word[end] & 0xC0) == 0x80)
                end--;
            if (end == pos)
                break;
            len = end - pos;
            h = H[end] - H[pos] * pw[len];
            if (pos == 0)
                id = wp_lookup_hashed(wp, h, "", 0, word, len);
            else
                id = wp_lookup_hashed(wp, wp->prefix_hash * pw[len] + h, wp->prefix, P,
                                      word + pos, len);
            if (id >= 0)
                break;
            end--;
        }
        if (id < 0)
            goto unk;
        if ((rc = tokvec_push(tv, id, w->src_start[pos], w->src_end[end - 1])) < 0)
            return rc;
        pos = end;
    }
    w->n_chars = w->n_bytes = 0;
    word_done(tv);
    return 0;
unk:
    tv->n = n_before;
    w->n_chars = w->n_bytes = 0;
    rc = tokvec_push(tv, wp->unk_id, w->start, w->end);
    word_done(tv);
    return rc;
}

/* One normalized code point: split, isolate or append. */
static int emit_char(const rag_wordpiece *wp, struct word *w, struct tokvec *tv, uint32_t cp,
                     size_t s, size_t e)
{
    int rc;
    if (is_space(cp))
        return word_flush(wp, w, tv);
    if (is_punct(cp)) {
        if ((rc = word_flush(wp, w, tv)) < 0 || (rc = word_push(wp, w, cp, s, e)) < 0)
            return rc;
        return word_flush(wp, w, tv);
    }
    return word_push(wp, w, cp, s, e);
}

static uint32_t lower_cp(uint32_t c)
{
    return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
}

/* A non-ASCII source code point through the normalizer and splitter. */
static int emit_cp(const rag_wordpiece *wp, struct word *w, struct tokvec *tv, uint32_t cp,
                   size_t s, size_t e)
{
    utf8proc_int32_t dec[32];
    utf8proc_ssize_t n_dec;
    int cjk, rc;

    if (!wp->has_normalizer)
        return emit_char(wp, w, tv, cp, s, e);
    if (wp->clean_text) {
        if (cp == 0xFFFD || is_control(cp))
            return 0;
        if (is_space(cp))
            return word_flush(wp, w, tv);
    }
    cjk = wp->handle_chinese && is_cjk(cp);
    if (cjk && (rc = word_flush(wp, w, tv)) < 0)
        return rc;
    if (wp->strip_accents) {
        int last_boundary = 0;
        n_dec = utf8proc_decompose_char((utf8proc_int32_t)cp, dec, 32, UTF8PROC_DECOMPOSE,
                                        &last_boundary);
        if (n_dec < 0 || n_dec > 32) {
            dec[0] = (utf8proc_int32_t)cp;
            n_dec = 1;
        }
        for (utf8proc_ssize_t i = 0; i < n_dec; i++) {
            uint32_t c = (uint32_t)dec[i];
            if (utf8proc_category(dec[i]) == UTF8PROC_CATEGORY_MN)
                continue;
            if (wp->lowercase)
                c = lower_cp(c);
            if ((rc = emit_char(wp, w, tv, c, s, e)) < 0)
                return rc;
        }
    } else if (wp->lowercase) {
        if (cp == 0x130) { /* the one unconditional multi-char lowercase: İ -> i + U+0307 */
            if ((rc = emit_char(wp, w, tv, 'i', s, e)) < 0)
                return rc;
            cp = 0x307;
        } else {
            cp = lower_cp(cp);
        }
        if ((rc = emit_char(wp, w, tv, cp, s, e)) < 0)
            return rc;
    } else if ((rc = emit_char(wp, w, tv, cp, s, e)) < 0) {
        return rc;
    }
    if (cjk)
        return word_flush(wp, w, tv);
    return 0;
}

/* Length of the added token matching at text[i], and its id; 0 if none. */
static size_t match_added(const rag_wordpiece *wp, const char *text, size_t n, size_t i,
                          int32_t *id)
{
    for (size_t k = 0; k < wp->n_added; k++) {
        const struct wp_added *a = &wp->added[k];
        if (a->n_bytes <= n - i && memcmp(text + i, a->content, a->n_bytes) == 0) {
            *id = a->id;
            return a->n_bytes;
        }
    }
    return 0;
}

/* Tokenize one sequence (no special tokens) into tv. */
static int tokenize(const rag_wordpiece *wp, const char *text, size_t n, const char *which,
                    struct word *w, struct tokvec *tv, rag_err *err)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t i = 0;
    int rc = 0;

    w->n_bytes = w->n_chars = 0;
    while (i < n) {
        unsigned c = p[i];
        if (wp->n_added && (wp->added_first[c >> 3] >> (c & 7) & 1)) {
            int32_t id;
            size_t k = match_added(wp, text, n, i, &id);
            if (k) {
                if ((rc = word_flush(wp, w, tv)) < 0 || (rc = tokvec_push(tv, id, i, i + k)) < 0)
                    goto oom;
                word_done(tv);
                i += k;
                continue;
            }
        }
        if (c < 0x80) {
            switch (wp->ascii_class[c]) {
            case WP_ASCII_WORD:
                if (w->n_chars < wp->max_chars && w->n_bytes < w->cap) {
                    /* fast path: append in place */
                    if (w->n_chars == 0)
                        w->start = i;
                    w->end = i + 1;
                    w->n_chars++;
                    w->buf[w->n_bytes] = wp->ascii_map[c];
                    w->src_start[w->n_bytes] = i;
                    w->src_end[w->n_bytes] = i + 1;
                    w->n_bytes++;
                } else {
                    rc = word_push(wp, w, (unsigned char)wp->ascii_map[c], i, i + 1);
                }
                break;
            case WP_ASCII_SPACE:
                rc = word_flush(wp, w, tv);
                break;
            case WP_ASCII_PUNCT:
                if ((rc = word_flush(wp, w, tv)) == 0 &&
                    (rc = word_push(wp, w, (unsigned char)wp->ascii_map[c], i, i + 1)) == 0)
                    rc = word_flush(wp, w, tv);
                break;
            default:
                break;
            }
            if (rc < 0)
                goto oom;
            i++;
            continue;
        }
        {
            uint32_t cp;
            size_t k = rag_utf8_decode(p + i, n - i, &cp);
            if (!k)
                return rag_fail(err, RAG_EFORMAT, "tokenizer: text %s: invalid UTF-8 at byte %zu",
                                which, i);
            if ((rc = emit_cp(wp, w, tv, cp, i, i + k)) < 0)
                goto oom;
            i += k;
        }
    }
    if ((rc = word_flush(wp, w, tv)) < 0)
        goto oom;
    return 0;
oom:
    return rag_fail(err, rc, "tokenizer: out of memory encoding text %s", which);
}

/* ---- truncation and assembly ------------------------------------------ */

/* HF tokenizers' LongestFirst: budget is max_len minus the special tokens;
 * *n1, *n2 hold the lengths HF compares (see word_done) and get the lengths
 * to keep. */
static void longest_first(size_t *n1, size_t *n2, int pair, size_t budget)
{
    size_t a = *n1, b = *n2;
    int swap = 0;

    if (!pair) {
        if (a > budget)
            *n1 = budget;
        return;
    }
    if (a + b <= budget)
        return;
    if (a > b) {
        size_t t = a;
        a = b;
        b = t;
        swap = 1;
    }
    if (a > budget)
        b = a;
    else
        b = a > budget - a ? a : budget - a;
    if (a + b > budget) {
        a = budget / 2;
        b = a + budget % 2;
    }
    if (swap) {
        size_t t = a;
        a = b;
        b = t;
    }
    if (a < *n1)
        *n1 = a;
    if (b < *n2)
        *n2 = b;
}

static int enc_reserve(rag_encoding *enc, size_t n)
{
    size_t cap = enc->cap ? enc->cap : 64;
    void *p;

    if (n <= enc->cap && enc->ids)
        return 0;
    while (cap < n)
        cap *= 2;
#define GROW(field)                                                   \
    do {                                                              \
        p = rag_realloc(enc->field, cap * sizeof *enc->field);        \
        if (!p)                                                       \
            return RAG_ENOMEM;                                        \
        enc->field = p;                                               \
    } while (0)
    GROW(ids);
    GROW(type_ids);
    GROW(attention);
    GROW(byte_start);
    GROW(byte_end);
#undef GROW
    enc->cap = cap;
    return 0;
}

int rag_wordpiece_encode(const rag_wordpiece *wp, const char *a, size_t n_a, const char *b,
                         size_t n_b, size_t max_len, rag_encoding *enc, rag_err *err)
{
    struct tokvec tv[2] = {{0}, {0}};
    struct word w = {0};
    const struct wp_template *t = b ? &wp->pair : &wp->single;
    size_t keep[2], total, k = 0;
    int rc;

    if (!wp || !enc || (!a && n_a))
        return rag_fail(err, RAG_EINVAL, "tokenizer: encode needs a tokenizer, text and output");
    enc->n = 0;
    enc->n_truncated = 0;
    if (max_len && max_len < t->n_special)
        return rag_fail(err, RAG_EINVAL,
                        "tokenizer: max_len %zu is below the %zu special tokens it must hold",
                        max_len, t->n_special);
    if (word_reserve(&w, 256) < 0) {
        rc = rag_fail(err, RAG_ENOMEM, "tokenizer: out of memory");
        goto done;
    }
    tv[0].word_limit = tv[1].word_limit = max_len;
    if ((rc = tokenize(wp, a ? a : "", n_a, "a", &w, &tv[0], err)) < 0)
        goto done;
    if (b && (rc = tokenize(wp, b, n_b, "b", &w, &tv[1], err)) < 0)
        goto done;

    keep[0] = tv[0].n;
    keep[1] = tv[1].n;
    if (max_len) {
        for (int s = 0; s < 2; s++)
            if (tv[s].n_at_limit)
                keep[s] = tv[s].n_at_limit;
        longest_first(&keep[0], &keep[1], b != NULL, max_len - t->n_special);
        for (int s = 0; s < 2; s++)
            if (keep[s] > tv[s].n)
                keep[s] = tv[s].n;
    }
    total = t->n_special + keep[0] + keep[1];
    if (enc_reserve(enc, total) < 0) {
        rc = rag_fail(err, RAG_ENOMEM, "tokenizer: out of memory for %zu tokens", total);
        goto done;
    }
    for (size_t i = 0; i < t->n_items; i++) {
        const struct wp_tmpl_item *it = &t->items[i];
        if (it->seq < 0) {
            for (size_t j = 0; j < it->n_ids; j++, k++) {
                enc->ids[k] = it->ids[j];
                enc->type_ids[k] = it->type_id;
                enc->byte_start[k] = enc->byte_end[k] = 0;
            }
        } else if (it->seq == 0 || b) {
            const struct tokvec *s = &tv[it->seq];
            for (size_t j = 0; j < keep[it->seq]; j++, k++) {
                enc->ids[k] = s->ids[j];
                enc->type_ids[k] = it->type_id;
                enc->byte_start[k] = s->start[j];
                enc->byte_end[k] = s->end[j];
            }
        }
    }
    for (size_t i = 0; i < k; i++)
        enc->attention[i] = 1;
    enc->n = k;
    enc->n_truncated = (tv[0].n - keep[0]) + (tv[1].n - keep[1]);
    rc = 0;
done:
    rag_free(w.buf);
    rag_free(w.src_start);
    rag_free(w.src_end);
    rag_free(w.hpre);
    tokvec_fini(&tv[0]);
    tokvec_fini(&tv[1]);
    return rc;
}

void rag_encoding_fini(rag_encoding *enc)
{
    if (!enc)
        return;
    rag_free(enc->ids);
    rag_free(enc->type_ids);
    rag_free(enc->attention);
    rag_free(enc->byte_start);
    rag_free(enc->byte_end);
    memset(enc, 0, sizeof *enc);
}
