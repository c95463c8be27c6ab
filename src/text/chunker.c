/* chunker.c - split an extracted document into overlapping token windows.
 *
 * One forward scan per window, character by character, keeps a running
 * token estimate (in hundredths of a token, so per-word costs can be
 * fractional) and notes the candidate ends it passes: section marks,
 * paragraph breaks ("\n" blank-line "\n"), sentence ends and word
 * boundaries. The scan stops where the next character would push the
 * window past max_tokens (the hard stop), so a window without any
 * punctuation still ends there. The end is then, in order of preference:
 * the first section mark past a quarter of the target, the paragraph break
 * nearest the target (past half of it), the sentence end nearest the
 * target (past three quarters), the word boundary nearest the target, the
 * last word boundary, and finally the hard stop (a UTF-8 character
 * boundary inside a giant word).
 *
 * The next window starts at the earliest word start whose distance to the
 * previous end is at most overlap_tokens (a sentence start if one gives at
 * least half the overlap), never before a section mark inside that
 * overlap, and always after the previous start; its end must lie past the
 * previous end, so every window advances. Work is linear in the text:
 * each byte is scanned by at most ~max/(target-overlap) windows.
 *
 * The estimator follows BERT's BasicTokenizer (punctuation and CJK
 * characters are one token each, control and combining characters cost
 * nothing) and prices each word by its shape and length, fitted on real
 * WordPiece counts (docs/chunking.md, scripts/chunk_calibrate.py).
 */
#include "text/chunker.h"

#include <string.h>
#include <utf8proc.h>

#define CENTI 100 /* costs are in hundredths of a token */
#define OPT_MIN 16
#define OPT_MAX 65536

rag_chunk_opts rag_chunk_default_opts(void)
{
    rag_chunk_opts o = {.target_tokens = 240, .max_tokens = 255, .overlap_tokens = 32};
    return o;
}

/* ---- character classes ------------------------------------------------ */

enum cclass {
    CC_SPACE,   /* splits words, costs nothing */
    CC_NEWLINE, /* like space; two in one run make a paragraph break */
    CC_ZERO,    /* removed by BERT (controls, format chars, accents) */
    CC_ALPHA,   /* ASCII letter */
    CC_DIGIT,   /* ASCII digit */
    CC_OTHER,   /* non-ASCII word character */
    CC_PUNCT,   /* its own token */
    CC_CJK,     /* its own token */
};

/* \v and \f are controls to BERT (removed, not splitting); treating them
 * as spaces only splits words, which can only raise the estimate. */
static const unsigned char ascii_class[128] = {
    [0 ... 8] = CC_ZERO, ['\t'] = CC_SPACE, ['\n'] = CC_NEWLINE, ['\v' ... '\r'] = CC_SPACE,
    [14 ... 31] = CC_ZERO, [' '] = CC_SPACE,
    ['!' ... '/'] = CC_PUNCT, ['0' ... '9'] = CC_DIGIT, [':' ... '@'] = CC_PUNCT,
    ['A' ... 'Z'] = CC_ALPHA, ['[' ... '`'] = CC_PUNCT, ['a' ... 'z'] = CC_ALPHA,
    ['{' ... '~'] = CC_PUNCT, [127] = CC_ZERO,
};

static int is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Class of the non-ASCII character at s; *n_len gets its byte length and
 * *weight how many characters it counts as inside a word (a Hangul
 * syllable decomposes into 2-3 jamo under NFD). */
static enum cclass classify_wide(const unsigned char *s, size_t n_left, size_t *n_len,
                                 uint32_t *cp_out, int *weight)
{
    uint32_t cp = 0;
    size_t k = rag_utf8_decode(s, n_left, &cp);

    *weight = 1;
    if (k == 0) { /* invalid byte: price it like U+FFFD, one unit */
        *n_len = 1;
        *cp_out = 0xFFFD;
        return CC_PUNCT;
    }
    *n_len = k;
    *cp_out = cp;
    if (is_cjk(cp))
        return CC_CJK;
    if (cp >= 0xAC00 && cp <= 0xD7A3) {
        *weight = 3;
        return CC_OTHER;
    }
    switch (utf8proc_category((utf8proc_int32_t)cp)) {
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
        return CC_SPACE;
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_MN:
        return CC_ZERO;
    case UTF8PROC_CATEGORY_PC:
    case UTF8PROC_CATEGORY_PD:
    case UTF8PROC_CATEGORY_PS:
    case UTF8PROC_CATEGORY_PE:
    case UTF8PROC_CATEGORY_PI:
    case UTF8PROC_CATEGORY_PF:
    case UTF8PROC_CATEGORY_PO:
        return CC_PUNCT;
    default:
        return CC_OTHER;
    }
}

/* ---- word prices (hundredths of a token), see docs/chunking.md ---------- */

/* WordPiece pieces of lower-case ASCII words by length: the mean over
 * ~1M words of English and technical text, plus a margin that grows with
 * length (scripts/chunk_calibrate.py, docs/chunking.md). */
static const int32_t alpha_table[16] = {
    0, 106, 112, 122, 128, 134, 142, 150, 160, 172, 188, 205, 220, 245, 270, 290,
};

static int32_t alpha_cost(int32_t n)
{
    return n < 16 ? alpha_table[n] : 40 * n;
}

static int32_t digit_cost(int32_t n)
{
    if (n <= 2)
        return 110;
    if (n == 3)
        return 130;
    if (n == 4)
        return 160;
    return 55 * n + 30;
}

static int32_t max32(int32_t a, int32_t b)
{
    return a > b ? a : b;
}

typedef struct {
    int32_t n_alpha, n_digit, n_other, n_vowel;
} word_state;

static const unsigned char vowel[128] = {
    ['a'] = 1, ['e'] = 1, ['i'] = 1, ['o'] = 1, ['u'] = 1, ['y'] = 1,
    ['A'] = 1, ['E'] = 1, ['I'] = 1, ['O'] = 1, ['U'] = 1, ['Y'] = 1,
};

static inline void word_add(word_state *w, enum cclass cls, unsigned char c, int weight)
{
    if (cls == CC_ALPHA) {
        w->n_alpha++;
        w->n_vowel += vowel[c & 127];
    } else if (cls == CC_DIGIT) {
        w->n_digit++;
    } else if (w->n_other < (1 << 20)) {
        w->n_other += weight;
    }
    if (w->n_alpha > (1 << 20)) /* keep the arithmetic in int32 */
        w->n_alpha = 1 << 20;
    if (w->n_digit > (1 << 20))
        w->n_digit = 1 << 20;
}

/* Price of a word by shape and length. Letters without a vowel (csr, pmp,
 * mxl) are acronyms WordPiece cuts up like mixed words. */
static inline int32_t word_cost(const word_state *w)
{
    int32_t n = w->n_alpha + w->n_digit + w->n_other;
    int32_t base = max32(alpha_cost(n), digit_cost(n));
    if (w->n_other)
        return max32(70 * n + 80, max32(50 * n + 110, base));
    if (w->n_alpha && w->n_digit)
        return max32(50 * n + 110, base);
    if (w->n_digit)
        return digit_cost(n);
    if (w->n_vowel == 0 && n >= 2)
        return max32(45 * n + 100, alpha_cost(n));
    return alpha_cost(n);
}

/* ---- sentence ends ----------------------------------------------------- */

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* Words after which a period usually does not end a sentence. */
static int is_abbreviation(const char *w, size_t n)
{
    static const char *const abbr[] = {
        "fig", "figs", "eq", "eqs", "no", "nos", "vol", "vols", "pp", "cf", "al",
        "vs", "dr", "mr", "mrs", "ms", "prof", "sec", "secs", "ch", "chap", "ref",
        "refs", "tab", "approx", "resp", "st", "jr", "sr", "dept", "univ", "ed",
        "eds", "ca", "viz", "incl", "max", "min", "est", "op", "cit", "art", "para",
        NULL,
    };
    char low[8];
    if (n == 0 || n >= sizeof low)
        return 0;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)ascii_lower((unsigned char)w[i]);
    low[n] = '\0';
    for (int i = 0; abbr[i]; i++)
        if (strcmp(low, abbr[i]) == 0)
            return 1;
    return 0;
}

static int is_closer(uint32_t cp)
{
    return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x2019 ||
           cp == 0x201D || cp == 0xBB;
}

/* ---- the scanner ------------------------------------------------------- */

/* A place a window may start (a unit that follows whitespace, or a CJK
 * character) with the estimate accumulated before it. */
typedef struct {
    size_t pos;
    int64_t cum;
    int sentence;
} unit_start;

typedef struct {
    size_t pos;
    int64_t tokens;
    int ok;
} cand;

typedef struct {
    const char *text;
    size_t n;
    const rag_section_mark *marks;
    size_t n_marks;
    int64_t target, maxc; /* hundredths */
    int64_t lo_sec, lo_para, lo_sent, lo_word;
    unit_start *units;
    size_t n_units, cap_units;
} scanner;

typedef struct {
    size_t end;
    int64_t tokens;
} window_end;

static void consider(cand *c, size_t pos, int64_t tok, int64_t lo, int64_t target)
{
    int64_t d, dbest;
    if (tok < lo)
        return;
    d = tok > target ? tok - target : target - tok;
    dbest = c->tokens > target ? c->tokens - target : target - c->tokens;
    if (!c->ok || d <= dbest) {
        c->pos = pos;
        c->tokens = tok;
        c->ok = 1;
    }
}

/* Units are kept only where the estimate has grown since the last one, so
 * there are at most max_tokens + 1 of them whatever the text. */
static void record_unit(scanner *sc, size_t pos, int64_t cum, int sentence)
{
    if (sc->n_units > 0 && sc->units[sc->n_units - 1].cum >= cum)
        return;
    if (sc->n_units < sc->cap_units) {
        sc->units[sc->n_units].pos = pos;
        sc->units[sc->n_units].cum = cum;
        sc->units[sc->n_units].sentence = sentence;
        sc->n_units++;
    }
}

/* Index of the first mark with byte_start > pos. */
static size_t mark_after(const rag_section_mark *m, size_t n_marks, size_t pos)
{
    size_t lo = 0, hi = n_marks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m[mid].byte_start <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Scan one window from `start` (a non-space position); candidate ends must
 * lie past min_end. Fills sc->units. */
static window_end scan_window(scanner *sc, size_t start, size_t min_end)
{
    const unsigned char *t = (const unsigned char *)sc->text;
    size_t n = sc->n, i = start;
    size_t mk = mark_after(sc->marks, sc->n_marks, start);
    size_t ws_start = 0, word_start = 0, word_end = (size_t)-1;
    int64_t cum = 0;
    int in_word = 0, in_ws = 0, n_nl = 0, pending_sent = 0, after_sent = 1;
    int line_start = 1, word_line_start = 0;
    word_state w = {0, 0, 0, 0};
    cand para = {0, 0, 0}, sent = {0, 0, 0}, word = {0, 0, 0}, last_word = {0, 0, 0};
    window_end we;

    if (min_end < start)
        min_end = start; /* an end must hold at least one character */
    sc->n_units = 0;
    record_unit(sc, start, 0, 1);
    while (i < n) {
        size_t clen = 1;
        uint32_t cp;
        int weight = 1;
        enum cclass cls;
        unsigned char c = t[i];

        if (c < 0x80) {
            cls = (enum cclass)ascii_class[c];
            cp = c;
        } else {
            cls = classify_wide(t + i, n - i, &clen, &cp, &weight);
        }

        /* A section mark ends the window once it holds enough text. */
        while (mk < sc->n_marks && sc->marks[mk].byte_start <= i) {
            if (!in_word && i > min_end && i > start && cum >= sc->lo_sec) {
                we.end = i;
                we.tokens = cum;
                return we;
            }
            mk++;
        }

        if (cls == CC_SPACE || cls == CC_NEWLINE) {
            if (in_word) {
                cum += word_cost(&w);
                in_word = 0;
                word_end = i;
            }
            if (!in_ws) {
                in_ws = 1;
                ws_start = i;
                n_nl = 0;
                if (i > min_end) {
                    consider(&word, i, cum, sc->lo_word, sc->target);
                    last_word.pos = i;
                    last_word.tokens = cum;
                    last_word.ok = 1;
                    if (pending_sent)
                        consider(&sent, i, cum, sc->lo_sent, sc->target);
                }
                after_sent = pending_sent;
                pending_sent = 0;
            }
            if (cls == CC_NEWLINE) {
                if (++n_nl == 2 && ws_start > min_end)
                    consider(&para, ws_start, cum, sc->lo_para, sc->target);
                line_start = 1;
            }
            i += clen;
            continue;
        }
        if (in_ws) {
            in_ws = 0;
            record_unit(sc, i, cum, after_sent || n_nl >= 2);
        }
        if (cls == CC_ZERO) {
            i += clen;
            continue;
        }
        if (cls == CC_ALPHA || cls == CC_DIGIT || cls == CC_OTHER) {
            int64_t before = in_word ? word_cost(&w) : 0;
            if (!in_word) {
                in_word = 1;
                memset(&w, 0, sizeof w);
                word_start = i;
                word_line_start = line_start;
            }
            word_add(&w, cls, c, weight);
            /* word_cost <= 70 n + 290: skip the exact price far from max */
            if (cum + 70 * (int64_t)(w.n_alpha + w.n_digit + w.n_other) + 290 > sc->maxc &&
                cum + word_cost(&w) > sc->maxc) {
                we.end = i;
                we.tokens = cum + before;
                goto hard_stop;
            }
            pending_sent = 0;
            line_start = 0;
            i += clen;
            /* the rest of an ASCII word, while far from max */
            while (i < n && t[i] < 0x80 &&
                   (ascii_class[t[i]] == CC_ALPHA || ascii_class[t[i]] == CC_DIGIT) &&
                   cum + 70 * (int64_t)(w.n_alpha + w.n_digit + w.n_other + 1) + 290 <=
                       sc->maxc) {
                word_add(&w, (enum cclass)ascii_class[t[i]], t[i], 1);
                i++;
            }
            continue;
        }
        /* punctuation or CJK: a unit of its own, closing any word */
        if (in_word) {
            cum += word_cost(&w);
            in_word = 0;
            word_end = i;
        }
        if (cum + CENTI > sc->maxc) {
            we.end = i;
            we.tokens = cum;
            goto hard_stop;
        }
        if (cls == CC_CJK && i > start) {
            if (i > min_end)
                consider(&word, i, cum, sc->lo_word, sc->target);
            if (i > min_end) {
                last_word.pos = i;
                last_word.tokens = cum;
                last_word.ok = 1;
            }
            record_unit(sc, i, cum, after_sent);
        }
        after_sent = 0;
        cum += CENTI;
        if (cp == '!' || cp == '?') {
            pending_sent = 1;
        } else if (cp == '.') {
            int attached = word_end == i;
            size_t wn = attached ? i - word_start : 0;
            const char *wp = sc->text + word_start;
            if (attached && wn == 1 && (unsigned char)wp[0] < 0x80 &&
                ascii_class[(unsigned char)wp[0]] == CC_ALPHA)
                pending_sent = 0; /* an initial, or e.g. / i.e. */
            else if (attached && is_abbreviation(wp, wn))
                pending_sent = 0;
            else if (attached && word_line_start && w.n_digit == (int32_t)wn)
                pending_sent = 0; /* "1." numbering a list item */
            else
                pending_sent = 1;
        } else if (cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F) {
            /* CJK sentence ends need no following space */
            if (i + clen > min_end)
                consider(&sent, i + clen, cum, sc->lo_sent, sc->target);
            after_sent = 1;
            pending_sent = 0;
        } else if (!(pending_sent && is_closer(cp))) {
            pending_sent = 0;
        }
        line_start = 0;
        i += clen;
    }
    we.end = n;
    we.tokens = cum + (in_word ? word_cost(&w) : 0);
    return we;

hard_stop:
    if (para.ok) {
        we.end = para.pos;
        we.tokens = para.tokens;
    } else if (sent.ok) {
        we.end = sent.pos;
        we.tokens = sent.tokens;
    } else if (word.ok) {
        we.end = word.pos;
        we.tokens = word.tokens;
    } else if (last_word.ok) {
        we.end = last_word.pos;
        we.tokens = last_word.tokens;
    }
    /* else: the hard stop itself, a character boundary */
    return we;
}

/* Where the window after [start, end) begins. */
static size_t next_start(const scanner *sc, size_t start, const window_end *we,
                         int64_t overlap)
{
    size_t p = we->end, sent_p = 0, k;
    int have_sent = 0;

    if (overlap <= 0)
        return we->end;
    for (k = sc->n_units; k-- > 0;) {
        const unit_start *u = &sc->units[k];
        int64_t back;
        if (u->pos >= we->end)
            continue;
        if (u->pos <= start)
            break;
        back = we->tokens - u->cum;
        if (back > overlap)
            break;
        p = u->pos;
        if (u->sentence && 2 * back >= overlap) {
            sent_p = u->pos;
            have_sent = 1;
        }
    }
    if (have_sent)
        p = sent_p;
    /* Never carry text across a section mark into the next window. */
    if (sc->n_marks) {
        size_t m = mark_after(sc->marks, sc->n_marks, we->end);
        if (m > 0 && sc->marks[m - 1].byte_start > p)
            p = sc->marks[m - 1].byte_start;
    }
    return p;
}

/* ---- estimator --------------------------------------------------------- */

int rag_chunk_estimate_tokens(const char *s, size_t n_bytes)
{
    const unsigned char *t = (const unsigned char *)s;
    int64_t cum = 0;
    word_state w = {0, 0, 0, 0};
    int in_word = 0;
    size_t i = 0;

    while (i < n_bytes) {
        size_t clen = 1;
        uint32_t cp;
        int weight = 1;
        enum cclass cls;
        if (t[i] < 0x80)
            cls = (enum cclass)ascii_class[t[i]];
        else
            cls = classify_wide(t + i, n_bytes - i, &clen, &cp, &weight);
        i += clen;
        switch (cls) {
        case CC_ZERO:
            break;
        case CC_ALPHA:
        case CC_DIGIT:
        case CC_OTHER:
            if (!in_word) {
                in_word = 1;
                memset(&w, 0, sizeof w);
            }
            word_add(&w, cls, t[i - clen], weight);
            while (i < n_bytes && t[i] < 0x80 &&
                   (ascii_class[t[i]] == CC_ALPHA || ascii_class[t[i]] == CC_DIGIT)) {
                word_add(&w, (enum cclass)ascii_class[t[i]], t[i], 1);
                i++;
            }
            break;
        default:
            if (in_word) {
                cum += word_cost(&w);
                in_word = 0;
            }
            if (cls == CC_PUNCT || cls == CC_CJK)
                cum += CENTI;
            break;
        }
        if (cum > (int64_t)INT32_MAX * CENTI)
            return INT32_MAX;
    }
    if (in_word)
        cum += word_cost(&w);
    return (int)((cum + CENTI - 1) / CENTI);
}

/* ---- output ------------------------------------------------------------ */

static int is_space_byte(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int page_at(const rag_doc *doc, size_t pos)
{
    size_t lo = 0, hi = doc->n_pages;
    if (!doc->pages || doc->n_pages == 0)
        return 1;
    /* last page with byte_start <= pos */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (doc->pages[mid].byte_start <= pos)
            lo = mid + 1;
        else
            hi = mid;
    }
    return doc->pages[lo ? lo - 1 : 0].page;
}

static int64_t chunk_id(rag_buf *scratch, const char *path, int ord, const char *text,
                        size_t n_text, int *rc)
{
    char hex[65];
    uint64_t v = 0;

    rag_buf_clear(scratch);
    if ((*rc = rag_buf_puts(scratch, path)) < 0 || (*rc = rag_buf_putc(scratch, '\0')) < 0 ||
        (*rc = rag_buf_printf(scratch, "%d", ord)) < 0 ||
        (*rc = rag_buf_putc(scratch, '\0')) < 0 ||
        (*rc = rag_buf_append(scratch, text, n_text)) < 0)
        return 0;
    rag_sha256_hex(scratch->data, scratch->len, hex);
    for (int k = 0; k < 16; k++) {
        int c = hex[k];
        v = (v << 4) | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
    }
    v &= ~(UINT64_C(1) << 63);
    return v ? (int64_t)v : 1;
}

void rag_chunks_destroy(rag_chunks *chunks)
{
    if (!chunks)
        return;
    rag_free(chunks->items);
    rag_arena_destroy(chunks->arena);
    rag_free(chunks);
}

static int check_opts(const rag_chunk_opts *o, rag_err *err)
{
    if (o->target_tokens < OPT_MIN)
        return rag_fail(err, RAG_EINVAL, "chunk.target_tokens must be >= %d (got %d)",
                        OPT_MIN, o->target_tokens);
    if (o->max_tokens < OPT_MIN)
        return rag_fail(err, RAG_EINVAL, "chunk.max_tokens must be >= %d (got %d)", OPT_MIN,
                        o->max_tokens);
    if (o->max_tokens > OPT_MAX)
        return rag_fail(err, RAG_EINVAL, "chunk.max_tokens must be <= %d (got %d)", OPT_MAX,
                        o->max_tokens);
    if (o->target_tokens > o->max_tokens)
        return rag_fail(err, RAG_EINVAL,
                        "chunk.target_tokens (%d) must be <= chunk.max_tokens (%d)",
                        o->target_tokens, o->max_tokens);
    if (o->overlap_tokens < 0)
        return rag_fail(err, RAG_EINVAL, "chunk.overlap_tokens must be >= 0 (got %d)",
                        o->overlap_tokens);
    if (o->overlap_tokens >= o->target_tokens)
        return rag_fail(err, RAG_EINVAL,
                        "chunk.overlap_tokens (%d) must be < chunk.target_tokens (%d)",
                        o->overlap_tokens, o->target_tokens);
    return RAG_OK;
}

static int push_chunk(rag_chunks *out, size_t *cap, const rag_doc *doc, const char *path,
                      size_t s, size_t e,
                      int n_tokens, rag_buf *scratch, size_t *sec_idx, const char **sec_str,
                      rag_err *err)
{
    rag_chunk *c;
    int rc = RAG_OK;
    size_t m;

    if (out->n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16, bytes;
        rag_chunk *p;
        if (rag_size_mul(ncap, sizeof *p, &bytes) < 0 ||
            !(p = rag_realloc(out->items, bytes)))
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory chunking", path);
        out->items = p;
        *cap = ncap;
    }
    c = &out->items[out->n];
    memset(c, 0, sizeof *c);
    c->ord = (int)out->n;
    c->byte_start = s;
    c->byte_end = e;
    c->text_bytes = e - s;
    c->n_tokens = n_tokens;
    c->page_start = page_at(doc, s);
    c->page_end = page_at(doc, e > s ? e - 1 : s);
    c->text = rag_arena_strndup(out->arena, doc->text + s, e - s);
    if (!c->text)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory chunking", path);
    m = doc->sections ? mark_after(doc->sections, doc->n_sections, s) : 0;
    if (m == 0) {
        c->section = "";
    } else {
        if (*sec_idx != m - 1) {
            const char *path = doc->sections[m - 1].path ? doc->sections[m - 1].path : "";
            const char *copy = rag_arena_strndup(out->arena, path, strlen(path));
            if (!copy)
                return rag_fail(err, RAG_ENOMEM, "%s: out of memory chunking", path);
            *sec_idx = m - 1;
            *sec_str = copy;
        }
        c->section = *sec_str;
    }
    c->id = chunk_id(scratch, path, c->ord, c->text, c->text_bytes, &rc);
    if (rc < 0)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory chunking", path);
    out->n++;
    return RAG_OK;
}

int rag_chunker_split(rag_chunks **out, const rag_doc *doc, const rag_chunk_opts *opts,
                      rag_err *err)
{
    rag_chunk_opts o = opts ? *opts : rag_chunk_default_opts();
    rag_chunks *res = NULL;
    rag_buf scratch = RAG_BUF_INIT;
    scanner sc;
    size_t cap = 0, start = 0, min_end = 0, sec_idx = (size_t)-1, n;
    const char *sec_str = "";
    const char *path;
    int rc;

    *out = NULL;
    if (!doc || (!doc->text && doc->text_bytes))
        return rag_fail(err, RAG_EINVAL, "chunker: no document text");
    path = doc->path ? doc->path : "";
    if ((rc = check_opts(&o, err)) < 0)
        return rc;

    memset(&sc, 0, sizeof sc);
    sc.text = doc->text;
    sc.n = n = doc->text_bytes;
    sc.marks = doc->sections;
    sc.n_marks = doc->sections ? doc->n_sections : 0;
    sc.target = (int64_t)o.target_tokens * CENTI;
    sc.maxc = (int64_t)o.max_tokens * CENTI;
    sc.lo_sec = sc.target / 4;
    sc.lo_para = sc.target / 2;
    sc.lo_sent = sc.target * 3 / 4;
    sc.lo_word = sc.target * 3 / 4;
    sc.cap_units = (size_t)o.max_tokens + 8;

    res = rag_calloc(1, sizeof *res);
    if (!res)
        goto nomem;
    res->arena = rag_arena_create(n < (1 << 16) ? n + 256 : 1 << 20);
    if (!res->arena)
        goto nomem;
    sc.units = rag_malloc(sc.cap_units * sizeof *sc.units);
    if (!sc.units)
        goto nomem;

    while (start < n) {
        window_end we;
        size_t s, e, nxt;

        while (start < n && is_space_byte((unsigned char)doc->text[start]))
            start++;
        if (start >= n)
            break;
        {
            /* The tail: text that fits in one window (and crosses no
             * section mark) stays whole instead of being cut at the target
             * into a full window and a scrap; a tail a little longer is
             * split into two similar halves. Short documents stay one
             * chunk, and no chunk is a tiny remainder. */
            int64_t saved_target = sc.target, rem = -1;
            if (n - start <= (size_t)o.max_tokens * 32 &&
                mark_after(sc.marks, sc.n_marks, start + 1) >= sc.n_marks)
                rem = (int64_t)rag_chunk_estimate_tokens(doc->text + start, n - start) * CENTI;
            if (rem >= 0 && rem <= sc.maxc) {
                we.end = n;
                we.tokens = rem;
            } else {
                if (rem > 0 && rem < sc.target + sc.maxc) {
                    int64_t half = (rem + (int64_t)o.overlap_tokens * CENTI) / 2;
                    sc.target = half < sc.target ? half : sc.target;
                    sc.lo_para = sc.target / 2;
                    sc.lo_sent = sc.lo_word = sc.target * 3 / 4;
                }
                we = scan_window(&sc, start, min_end);
                sc.target = saved_target;
                sc.lo_para = sc.target / 2;
                sc.lo_sent = sc.lo_word = sc.target * 3 / 4;
            }
        }
        s = start;
        e = we.end;
        while (s < e && is_space_byte((unsigned char)doc->text[s]))
            s++;
        while (e > s && is_space_byte((unsigned char)doc->text[e - 1]))
            e--;
        if (we.end <= min_end || we.end <= start || (res->n && e <= res->items[res->n - 1].byte_end)) {
            /* The overlap left no room for new text (the unit after the
             * previous end does not fit beside it): start this window at
             * the previous end instead. */
            if (min_end > start) {
                start = min_end;
            } else {
                uint32_t cp;
                size_t k = rag_utf8_decode((const unsigned char *)doc->text + start,
                                           n - start, &cp);
                start += k ? k : 1;
            }
            min_end = 0;
            continue;
        }
        if (e > s) {
            /* Whitespace costs nothing, so the trimmed text's estimate is
             * the window's (the tests check this equality). */
            int nt = (int)((we.tokens + CENTI - 1) / CENTI);
            rc = push_chunk(res, &cap, doc, path, s, e, nt, &scratch, &sec_idx, &sec_str, err);
            if (rc < 0)
                goto fail;
        }
        if (we.end >= n)
            break;
        /* Stop when only whitespace follows: another window would repeat
         * the overlap and add nothing. */
        nxt = we.end;
        while (nxt < n && is_space_byte((unsigned char)doc->text[nxt]))
            nxt++;
        if (nxt >= n)
            break;
        min_end = we.end;
        start = next_start(&sc, start, &we, (int64_t)o.overlap_tokens * CENTI);
    }
    rag_free(sc.units);
    rag_buf_fini(&scratch);
    *out = res;
    return RAG_OK;

nomem:
    rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory chunking", path);
fail:
    rag_free(sc.units);
    rag_buf_fini(&scratch);
    rag_chunks_destroy(res);
    return rc;
}
