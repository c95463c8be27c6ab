/* analyzer.c - BM25 text analysis shared by documents and queries.
 *
 * Text is cut into spans: a span is a run of letters and digits (with
 * combining marks, and apostrophes between letters) whose runs may be
 * joined by one connector ('-', '_', '.', ':', "::", "__", or ',' between
 * digits) followed by another letter or digit. "RISC-V", "x86_64", "v1.0",
 * "std::vector", "0x7FF", "1,000" are each one span.
 *
 * A span's parts are cut at connectors, at letter/digit changes and at
 * camel-case humps ("RV32I" -> RV 32 I, "HashMap" -> Hash Map,
 * "HTTPServer" -> HTTP Server). A span with one part is a plain word:
 * lower-cased, accents folded (utf8proc compatibility decomposition, marks
 * dropped), a trailing possessive 's dropped, stop words dropped (checked
 * before stemming, as Lucene does), then the Snowball English stemmer if
 * the word is alphabetic. A span with several parts is a compound: its
 * whole form (lower-cased and folded, not stemmed; a camel-case-only span
 * is analysed like a plain word so "McCarthy" and "mccarthy" agree) is
 * emitted first, then, in DOCUMENT mode, each distinct part analysed as a
 * plain word, colocated with it. So the compound counts one position for
 * BM25 length, the exact token matches "RISC-V", and the part "risc"
 * matches too.
 *
 * Every term's source bytes [byte_start, byte_end) analyse, on their own
 * in QUERY mode, to exactly that term; rag_analyzer_match_expr relies on
 * it to hand FTS5 source text rather than already-stemmed terms (FTS5
 * runs the tokenizer over each quoted string of a MATCH expression).
 *
 * Terms longer than RAG_ANALYZER_MAX_TERM_BYTES are skipped; a compound
 * whose whole form is too long is emitted as its parts, each at its own
 * position. Han, kana and Hangul syllables are one term per character.
 */
#include "text/analyzer.h"

#include <libstemmer.h>
#include <string.h>
#include <utf8proc.h>

#define MAX_TERM RAG_ANALYZER_MAX_TERM_BYTES
/* Room for a normalised term: compatibility decomposition can expand. */
#define NORM_CAP (MAX_TERM + 32)
/* Distinct parts remembered per compound to drop repeats ("a-a"). */
#define MAX_SEEN_PARTS 32

struct rag_analyzer {
    struct sb_stemmer *stemmer; /* owned; not thread safe, hence one each */
    char norm[NORM_CAP];        /* scratch: normalised word */
    char term[NORM_CAP];        /* scratch: final term */
    char whole[NORM_CAP];       /* scratch: a compound's whole form */
};

/* ---- characters ------------------------------------------------------- */

enum {
    CL_SEP = 0,
    CL_LOWER,  /* Ll */
    CL_UPPER,  /* Lu, Lt */
    CL_LETTER, /* Lm, Lo (no case) */
    CL_DIGIT,  /* Nd, Nl, No */
    CL_MARK,   /* Mn, Mc, Me: part of the word before it */
    CL_CJK,    /* ideographs, kana, Hangul: one term each */
    CL_APOS,   /* ' and U+2019, inside words */
    CL_CONN,   /* - _ . : and Unicode hyphens */
    CL_COMMA,  /* ',' joins digits only */
};

typedef struct {
    uint32_t cp;
    unsigned char n_bytes; /* >= 1 */
    unsigned char cls;
} uchr;

static int is_word(int cls)
{
    return cls == CL_LOWER || cls == CL_UPPER || cls == CL_LETTER ||
           cls == CL_DIGIT;
}

static int is_alpha(int cls)
{
    return cls == CL_LOWER || cls == CL_UPPER || cls == CL_LETTER;
}

static int is_cjk(uint32_t cp)
{
    return (cp >= 0x3040 && cp <= 0x30FF) ||   /* hiragana, katakana */
           (cp >= 0x3400 && cp <= 0x4DBF) ||   /* CJK ext A */
           (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK unified */
           (cp >= 0xAC00 && cp <= 0xD7AF) ||   /* Hangul syllables */
           (cp >= 0xF900 && cp <= 0xFAFF) ||   /* CJK compatibility */
           (cp >= 0x20000 && cp <= 0x3FFFF);   /* CJK ext B.. */
}

/* Decode the character at s (n_bytes > 0). Invalid UTF-8 is a 1-byte
 * separator. */
static uchr get_char(const char *s, size_t n_bytes)
{
    uchr c;
    unsigned char b = (unsigned char)s[0];

    if (b < 0x80) {
        c.cp = b;
        c.n_bytes = 1;
        if (b >= 'a' && b <= 'z')
            c.cls = CL_LOWER;
        else if (b >= 'A' && b <= 'Z')
            c.cls = CL_UPPER;
        else if (b >= '0' && b <= '9')
            c.cls = CL_DIGIT;
        else if (b == '\'')
            c.cls = CL_APOS;
        else if (b == '-' || b == '_' || b == '.' || b == ':')
            c.cls = CL_CONN;
        else if (b == ',')
            c.cls = CL_COMMA;
        else
            c.cls = CL_SEP;
        return c;
    }
    c.n_bytes = (unsigned char)rag_utf8_decode((const unsigned char *)s,
                                               n_bytes, &c.cp);
    if (c.n_bytes == 0) {
        c.n_bytes = 1;
        c.cp = 0xFFFD;
        c.cls = CL_SEP;
        return c;
    }
    if (c.cp == 0x2019) {
        c.cls = CL_APOS;
        return c;
    }
    if (c.cp == 0x2010 || c.cp == 0x2011) {
        c.cls = CL_CONN;
        return c;
    }
    if (is_cjk(c.cp)) {
        c.cls = CL_CJK;
        return c;
    }
    switch (utf8proc_category((utf8proc_int32_t)c.cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LT:
        c.cls = CL_UPPER;
        break;
    case UTF8PROC_CATEGORY_LL:
        c.cls = CL_LOWER;
        break;
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        c.cls = CL_LETTER;
        break;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        c.cls = CL_DIGIT;
        break;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        c.cls = CL_MARK;
        break;
    default:
        c.cls = CL_SEP;
        break;
    }
    return c;
}

static uchr char_at(const char *t, size_t pos, size_t end)
{
    return get_char(t + pos, end - pos);
}

/* ---- spans and parts -------------------------------------------------- */

/* End of the span starting at word character `pos` (not CJK); *n_segs
 * gets the number of connector-separated segments. */
static size_t scan_span(const char *t, size_t n, size_t pos, size_t *n_segs)
{
    int last = CL_SEP; /* class of the last letter or digit */

    *n_segs = 1;
    for (;;) {
        while (pos < n) {
            uchr c = char_at(t, pos, n);
            if (is_word(c.cls)) {
                last = c.cls;
                pos += c.n_bytes;
            } else if (c.cls == CL_MARK) {
                pos += c.n_bytes;
            } else if (c.cls == CL_APOS && is_alpha(last) &&
                       pos + c.n_bytes < n &&
                       is_alpha(char_at(t, pos + c.n_bytes, n).cls)) {
                pos += c.n_bytes;
            } else {
                break;
            }
        }
        if (pos >= n)
            return pos;
        uchr c = char_at(t, pos, n);
        size_t k = pos + c.n_bytes;
        if (c.cls == CL_CONN) {
            if ((c.cp == ':' || c.cp == '_') && k < n &&
                (unsigned char)t[k] == c.cp)
                k++;
        } else if (!(c.cls == CL_COMMA && last == CL_DIGIT)) {
            return pos;
        }
        if (k >= n)
            return pos;
        uchr d = char_at(t, k, n);
        if (!is_word(d.cls) || (c.cls == CL_COMMA && d.cls != CL_DIGIT))
            return pos;
        pos = k;
        (*n_segs)++;
    }
}

/* The next part of span [.., end) at or after *pos: its bytes
 * [*ps, *pe) and whether it is alphabetic. Returns 0 when no part is left. */
static int next_part(const char *t, size_t end, size_t *pos, size_t *ps,
                     size_t *pe, int *alpha)
{
    size_t p = *pos;
    uchr c;
    int kind, prev;

    while (p < end) {
        c = char_at(t, p, end);
        if (is_word(c.cls))
            break;
        p += c.n_bytes;
    }
    if (p >= end)
        return 0;
    *ps = p;
    kind = is_alpha(c.cls);
    prev = c.cls;
    p += c.n_bytes;
    while (p < end) {
        c = char_at(t, p, end);
        if (c.cls == CL_MARK) {
            p += c.n_bytes;
            continue;
        }
        if (c.cls == CL_APOS) {
            /* scan_span only let apostrophes between letters in */
            if (!kind || p + c.n_bytes >= end ||
                !is_alpha(char_at(t, p + c.n_bytes, end).cls))
                break;
            p += c.n_bytes;
            continue;
        }
        if (!is_word(c.cls) || is_alpha(c.cls) != kind)
            break;
        if (kind) {
            if (prev == CL_LOWER && c.cls == CL_UPPER)
                break;
            if (prev == CL_UPPER && c.cls == CL_UPPER) {
                size_t k = p + c.n_bytes;
                /* skip marks to find the letter after this one */
                while (k < end) {
                    uchr m = char_at(t, k, end);
                    if (m.cls != CL_MARK) {
                        if (m.cls == CL_LOWER)
                            goto done;
                        break;
                    }
                    k += m.n_bytes;
                }
            }
        }
        prev = c.cls;
        p += c.n_bytes;
    }
done:
    *pos = p;
    *pe = p;
    *alpha = kind;
    /* possessive: drop trailing 's / 'S (repeatedly, so the result
     * analyses to itself) */
    while (kind && *pe - *ps >= 3 && (t[*pe - 1] == 's' || t[*pe - 1] == 'S')) {
        size_t apos;
        if (t[*pe - 2] == '\'')
            apos = *pe - 2;
        else if (*pe - *ps >= 5 && memcmp(t + *pe - 4, "\xE2\x80\x99", 3) == 0)
            apos = *pe - 4;
        else
            break;
        if (apos <= *ps)
            break;
        *pe = apos;
    }
    return 1;
}

/* ---- normalisation ---------------------------------------------------- */

/* Lower-case and fold [s, e) into out (cap NORM_CAP). Returns the length,
 * or -1 if it exceeds MAX_TERM. */
static int normalize(const char *t, size_t s, size_t e, char *out)
{
    size_t n = 0;

    while (s < e) {
        unsigned char b = (unsigned char)t[s];
        if (b < 0x80) {
            if (n >= MAX_TERM)
                return -1;
            out[n++] = (char)(b >= 'A' && b <= 'Z' ? b + 32 : b);
            s++;
            continue;
        }
        uchr c = char_at(t, s, e);
        s += c.n_bytes;
        if (c.cls == CL_APOS || c.cls == CL_CONN) {
            if (n >= MAX_TERM)
                return -1;
            out[n++] = c.cls == CL_APOS ? '\'' : '-';
            continue;
        }
        utf8proc_int32_t dec[8];
        int boundclass = 0;
        utf8proc_ssize_t n_dec = utf8proc_decompose_char(
            utf8proc_tolower((utf8proc_int32_t)c.cp), dec, 8,
            UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, &boundclass);
        if (n_dec < 0 || n_dec > 8) {
            dec[0] = (utf8proc_int32_t)c.cp;
            n_dec = 1;
        }
        for (utf8proc_ssize_t i = 0; i < n_dec; i++) {
            utf8proc_category_t cat = utf8proc_category(dec[i]);
            if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_ME)
                continue;
            char enc[4];
            size_t k = rag_utf8_encode((uint32_t)utf8proc_tolower(dec[i]), enc);
            if (n + k > MAX_TERM)
                return -1;
            memcpy(out + n, enc, k);
            n += k;
        }
    }
    return (int)n;
}

/* Analyse one part or plain word [s, e) into a->term. Returns its length,
 * 0 if it is dropped (stop word, too long, empty), RAG_ENOMEM. */
static int analyse_word(rag_analyzer *a, const char *t, size_t s, size_t e,
                        int alpha)
{
    int n = normalize(t, s, e, a->norm);

    if (n <= 0)
        return 0;
    if (!alpha) {
        memcpy(a->term, a->norm, (size_t)n);
        return n;
    }
    if (rag_analyzer_is_stopword(a->norm, (size_t)n))
        return 0;
    const sb_symbol *st = sb_stemmer_stem(a->stemmer,
                                          (const sb_symbol *)a->norm, n);
    if (!st)
        return RAG_ENOMEM;
    int n_st = sb_stemmer_length(a->stemmer);
    if (n_st <= 0 || n_st > MAX_TERM)
        return 0;
    memcpy(a->term, st, (size_t)n_st);
    return n_st;
}

/* ---- the analysis loop ------------------------------------------------ */

static int emit_parts(rag_analyzer *a, const char *t, size_t s, size_t e,
                      int colocated, rag_term_fn fn, void *ctx)
{
    char seen[MAX_SEEN_PARTS][MAX_TERM];
    int seen_n[MAX_SEEN_PARTS];
    int n_seen = 0;
    size_t pos = s, ps, pe;
    int alpha;

    while (next_part(t, e, &pos, &ps, &pe, &alpha)) {
        int n = analyse_word(a, t, ps, pe, alpha);
        if (n < 0)
            return n;
        if (n == 0)
            continue;
        if (colocated) {
            int dup = 0;
            for (int i = 0; i < n_seen && !dup; i++)
                dup = seen_n[i] == n && memcmp(seen[i], a->term, (size_t)n) == 0;
            if (dup)
                continue;
            if (n_seen < MAX_SEEN_PARTS) {
                memcpy(seen[n_seen], a->term, (size_t)n);
                seen_n[n_seen++] = n;
            }
        }
        int rc = fn(ctx, a->term, (size_t)n, ps, pe, colocated);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int run_span(rag_analyzer *a, const char *t, size_t s, size_t e,
                    size_t n_segs, rag_analyze_mode mode, rag_term_fn fn,
                    void *ctx)
{
    size_t pos = s, ps = s, pe = s, last_pe = s;
    size_t n_parts = 0;
    int alpha, all_alpha = 1;

    while (next_part(t, e, &pos, &ps, &pe, &alpha)) {
        n_parts++;
        all_alpha &= alpha;
        last_pe = pe;
        if (n_parts > MAX_TERM)
            break; /* too many parts for the whole to fit anyway */
    }
    if (n_parts == 0)
        return 0;
    if (n_parts == 1) {
        int n = analyse_word(a, t, ps, pe, alpha);
        if (n <= 0)
            return n;
        int rc = fn(ctx, a->term, (size_t)n, ps, pe, 0);
        return rc < 0 ? rc : 0;
    }

    int n_whole;
    if (n_parts > MAX_TERM) {
        n_whole = 0;
    } else if (n_segs == 1 && all_alpha) {
        /* camel-case only: the whole is a plain word, case-independent */
        n_whole = analyse_word(a, t, s, last_pe, 1);
        if (n_whole > 0)
            memcpy(a->whole, a->term, (size_t)n_whole);
    } else {
        n_whole = normalize(t, s, last_pe, a->whole);
        if (n_whole < 0)
            n_whole = 0; /* too long: parts only */
    }
    if (n_whole < 0)
        return n_whole; /* ENOMEM from the stemmer */
    if (n_whole == 0)
        return emit_parts(a, t, s, e, 0, fn, ctx);

    int rc = fn(ctx, a->whole, (size_t)n_whole, s, last_pe, 0);
    if (rc < 0)
        return rc;
    if (mode == RAG_ANALYZE_QUERY)
        return 0;
    return emit_parts(a, t, s, e, 1, fn, ctx);
}

int rag_analyzer_run_mode(rag_analyzer *a, const char *text, size_t n_bytes,
                          rag_analyze_mode mode, rag_term_fn fn, void *ctx)
{
    size_t pos = 0;

    if (!text)
        return 0;
    while (pos < n_bytes) {
        uchr c = char_at(text, pos, n_bytes);
        if (c.cls == CL_CJK) {
            int n = normalize(text, pos, pos + c.n_bytes, a->term);
            if (n > 0) {
                int rc = fn(ctx, a->term, (size_t)n, pos, pos + c.n_bytes, 0);
                if (rc < 0)
                    return rc;
            }
            pos += c.n_bytes;
            continue;
        }
        if (!is_word(c.cls)) {
            pos += c.n_bytes;
            continue;
        }
        size_t n_segs;
        size_t end = scan_span(text, n_bytes, pos, &n_segs);
        int rc = run_span(a, text, pos, end, n_segs, mode, fn, ctx);
        if (rc < 0)
            return rc;
        pos = end;
    }
    return 0;
}

int rag_analyzer_run(rag_analyzer *a, const char *text, size_t n_bytes,
                     rag_term_fn fn, void *ctx)
{
    return rag_analyzer_run_mode(a, text, n_bytes, RAG_ANALYZE_DOCUMENT, fn,
                                 ctx);
}

int rag_analyzer_create(rag_analyzer **out, rag_err *err)
{
    rag_analyzer *a;

    *out = NULL;
    a = rag_calloc(1, sizeof *a);
    if (!a)
        return rag_fail(err, RAG_ENOMEM, "analyzer: out of memory");
    a->stemmer = sb_stemmer_new("english", NULL);
    if (!a->stemmer) {
        rag_free(a);
        return rag_fail(err, RAG_ENOMEM,
                        "analyzer: sb_stemmer_new(\"english\") failed");
    }
    *out = a;
    return RAG_OK;
}

void rag_analyzer_destroy(rag_analyzer *a)
{
    if (!a)
        return;
    sb_stemmer_delete(a->stemmer);
    rag_free(a);
}

/* ---- MATCH expressions ------------------------------------------------ */

struct expr_ctx {
    rag_buf *out;
    const char *query;
    size_t start_len; /* out->len before we began */
    int n_terms;
    int rc;
};

static int expr_term(void *vctx, const char *term, size_t n_bytes,
                     size_t byte_start, size_t byte_end, int colocated)
{
    struct expr_ctx *x = vctx;
    rag_buf *b = x->out;
    int rc = 0;

    (void)term;
    (void)n_bytes;
    (void)colocated;
    if (x->n_terms >= RAG_ANALYZER_MAX_QUERY_TERMS)
        return -1;
    if (x->n_terms > 0)
        rc = rag_buf_puts(b, " OR ");
    if (rc == 0)
        rc = rag_buf_putc(b, '"');
    for (size_t i = byte_start; rc == 0 && i < byte_end; i++) {
        if (x->query[i] == '"')
            rc = rag_buf_putc(b, '"');
        if (rc == 0)
            rc = rag_buf_putc(b, x->query[i]);
    }
    if (rc == 0)
        rc = rag_buf_putc(b, '"');
    if (rc < 0) {
        x->rc = rc;
        return -1;
    }
    x->n_terms++;
    return 0;
}

int rag_analyzer_match_expr(rag_analyzer *a, rag_buf *out, const char *query,
                            rag_err *err)
{
    struct expr_ctx x = {out, query, out->len, 0, 0};
    int rc;

    if (!query)
        return RAG_OK;
    rc = rag_analyzer_run_mode(a, query, strlen(query), RAG_ANALYZE_DOCUMENT,
                               expr_term, &x);
    if (x.rc < 0 || (rc < 0 && x.n_terms < RAG_ANALYZER_MAX_QUERY_TERMS)) {
        int code = x.rc < 0 ? x.rc : rc;
        /* leave out as it was */
        out->len = x.start_len;
        if (out->data)
            out->data[out->len] = '\0';
        return rag_fail(err, code, "analyzer: building the MATCH expression: %s",
                        rag_status_name(code));
    }
    return RAG_OK;
}
