/* analyzer.c - BM25 text analysis shared by documents and queries.
 *
 * Text is cut into spans: a span is a run of letters and digits (with
 * combining marks, and apostrophes between letters) whose runs may be
 * joined by one connector ('-', '_', '.', ':', "::", "__", or ',' between
 * digits) followed by another letter or digit. "RISC-V", "x86_64", "v1.0",
 * "std::vector", "0x7FF", "1,000" are each one span.
 *
 * A span's parts are cut at connectors and at letter/digit changes
 * ("RV32I" -> RV 32 I). A span with one part is a plain word: lower-cased,
 * accents folded (utf8proc compatibility decomposition, marks dropped), a
 * trailing possessive 's dropped, stop words dropped (checked before
 * stemming, as Lucene does), then the Snowball English stemmer if the word
 * is alphabetic. A span with several parts is a compound: its whole form
 * (lower-cased and folded, not stemmed) is emitted first, then, in
 * DOCUMENT mode, each distinct part analysed as a plain word, colocated
 * with it. So a compound counts one position for BM25 length, the exact
 * token matches "RISC-V", and the part "risc" matches too. Dotted
 * abbreviations ("e.g.", "U.S.A.", "Ph.D.") are one word without parts.
 * Camel case is not split: measured, it cost CACM 0.003 nDCG@10 (names
 * like "McCarthy"), see docs/bm25.md.
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

/* End of the span starting at word character `pos` (not CJK). */
static size_t scan_span(const char *t, size_t n, size_t pos)
{
    int last = CL_SEP; /* class of the last letter or digit */

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
    }
}

/* The next part of span [.., end) at or after *pos: its bytes
 * [*ps, *pe) and whether it is alphabetic. Returns 0 when no part is left. */
static int next_part(const char *t, size_t end, size_t *pos, size_t *ps,
                     size_t *pe, int *alpha)
{
    size_t p = *pos;
    uchr c;
    int kind;

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
        p += c.n_bytes;
    }

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

/* Internal mode of rag_analyzer_match_expr: like DOCUMENT, but a compound
 * that is only hyphenated words ("boundary-layer") gives just its parts. */
#define MODE_EXPR 2

/* A compound is technical when its whole form says more than its words:
 * it has a digit, a connector other than '-', or an upper-case letter
 * after its first character ("RV32I", "x86_64", "v1.0", "std::vector",
 * "RISC-V", "Navier-Stokes"), unlike "boundary-layer" or "x-ray". */
static int is_technical(const char *t, size_t s, size_t e)
{
    for (size_t i = s; i < e;) {
        uchr c = char_at(t, i, e);
        if (c.cls == CL_DIGIT || (c.cls == CL_CONN && c.cp != '-' &&
                                  c.cp != 0x2010 && c.cp != 0x2011) ||
            c.cls == CL_COMMA || (c.cls == CL_UPPER && i > s))
            return 1;
        i += c.n_bytes;
    }
    return 0;
}

/* "e.g.", "U.S.A.", "Ph.D.": letters in pieces of one or two characters
 * joined by dots. Such a span is one word, as in Lucene's tokenizer; its
 * one-letter pieces would only add noise. */
static int is_abbreviation(const char *t, size_t s, size_t e)
{
    size_t pos = s, ps, pe;
    int alpha;

    for (size_t i = s; i < e; i++)
        if (t[i] == '-' || t[i] == '_' || t[i] == ':' || t[i] == ',' ||
            (t[i] >= '0' && t[i] <= '9'))
            return 0;
    while (next_part(t, e, &pos, &ps, &pe, &alpha)) {
        uchr c;
        size_t n_chars = 0;
        if (!alpha)
            return 0;
        for (size_t i = ps; i < pe; i += c.n_bytes) {
            c = char_at(t, i, pe);
            n_chars += c.cls != CL_MARK;
        }
        if (n_chars > 2)
            return 0;
    }
    return 1;
}

static int run_span(rag_analyzer *a, const char *t, size_t s, size_t e,
                    int mode, rag_term_fn fn, void *ctx)
{
    size_t pos = s, ps = s, pe = s, last_pe = s;
    size_t n_parts = 0;
    int alpha = 0, rc;

    while (next_part(t, e, &pos, &ps, &pe, &alpha)) {
        n_parts++;
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
        rc = fn(ctx, a->term, (size_t)n, ps, pe, 0);
        return rc < 0 ? rc : 0;
    }

    int n_whole = 0;
    if (n_parts <= MAX_TERM) {
        n_whole = normalize(t, s, last_pe, a->whole);
        if (n_whole < 0)
            n_whole = 0; /* too long: parts only */
    }
    if (n_whole == 0)
        return emit_parts(a, t, s, e, 0, fn, ctx);
    if (is_abbreviation(t, s, last_pe) ||
        (mode == MODE_EXPR && !is_technical(t, s, last_pe))) {
        if (mode == MODE_EXPR && !is_abbreviation(t, s, last_pe))
            return emit_parts(a, t, s, e, 0, fn, ctx);
        rc = fn(ctx, a->whole, (size_t)n_whole, s, last_pe, 0);
        return rc < 0 ? rc : 0;
    }

    rc = fn(ctx, a->whole, (size_t)n_whole, s, last_pe, 0);
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
        size_t end = scan_span(text, n_bytes, pos);
        int rc = run_span(a, text, pos, end, (int)mode, fn, ctx);
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
    rc = rag_analyzer_run_mode(a, query, strlen(query),
                               (rag_analyze_mode)MODE_EXPR, expr_term, &x);
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
