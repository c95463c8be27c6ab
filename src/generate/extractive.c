/* extractive.c - answers built from the indexed text itself.
 *
 * The top chunks are cut into sentences, and each sentence is classified
 * (sentence_kind.c): headings, captions, table rows, the running text of
 * figures, URLs, references and editor lists are never quoted, nor a
 * sentence cut at a chunk boundary (a chunk that starts mid-sentence, or
 * ends without a sentence end). A sentence ending in ':' is quoted with
 * the list that follows it. Each remaining sentence is scored by the
 * IDF-weighted share of the question's terms it contains, discounted by
 * its chunk's rank; the best (at least half the best score) form the
 * answer, near-duplicates dropped (overlapping chunks and other versions
 * of the same text repeat sentences; the answer says where else it is).
 * Each side of a comparison and each part of a multi-part question gets a
 * sentence of its own, or the answer says which part was not found.
 * Sentences of one chunk keep their document order; chunks come in the
 * order of their best sentence. Each sentence is followed by [n].
 *
 * Confidence combines the worst-covered part of the question (within the
 * answer), the best sentence's coverage and its chunk's rank, so it is
 * high only when the answer itself holds the question's rare words.
 */

#include "generate.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A sentence's score falls by this much from the first context chunk to
 * the last; sentences scoring below PICK_SHARE of the best are left out */
#ifndef RANK_FALL
#define RANK_FALL 0.1
#endif
#ifndef PICK_SHARE
#define PICK_SHARE 0.5
#endif

/* Rows of a table quoted at most */
#define TABLE_ROWS 10
/* A table's coverage counts this much of a sentence's: prose says more */
#define TABLE_WEIGHT 0.9
/* A table whose header and caption cover this share of the question is
 * about its subject: every row is quoted */
#ifndef TABLE_ABOUT
#define TABLE_ABOUT 0.4
#endif

/* Weight of holding what the question asks for (a date for "when", a
 * number for "how many"), on the scale of the IDF-weighted coverage */
#define TYPE_BONUS 0.3
/* ... and of opening with one of its rare words */
#define LEAD_BONUS 0.1
/* A chunk starting this early on page 1 may hold (the rest of) the title
 * page */
#define TITLE_PAGE_BYTES 1024
/* ... and is quoted when it covers this share of the best-covered title
 * page's coverage (another paper's title page names authors too) */
#ifndef TITLE_PAGE_SHARE
#define TITLE_PAGE_SHARE 0.7
#endif

/* Intercept, then one weight per feature (the order of the debug line
 * "answer: features ..."): written by scripts/fit_confidence.py */
#define RAG_CONF_FEATURES 10
/* fitted on 49 answers (39 holding every nugget) of the tuning half (odd
 * lines of data/qa/answers.jsonl), l2 0.01; training AUC 0.9077 */
static const double conf_weights[RAG_CONF_FEATURES + 1] = {
    -0.3913, 4.5613, 2.2778, 0.8271, 0.2248, -2.0378, -2.9950, 0.0000, 1.2365, 1.5009, -3.7118,
};

rag_extractive_opts rag_extractive_default_opts(void)
{
    return (rag_extractive_opts){.max_sentences = 3, .context_chunks = 5,
                                 .max_sentence_bytes = 600};
}

typedef struct {
    size_t hit;             /* index into hits */
    size_t start, end;      /* bytes in the chunk text */
    size_t list_end;        /* > end: the list quoted with this sentence */
    rag_sentence_kind kind;
    int eligible;           /* may be quoted */
    int picked;
    int front;              /* the document's title block */
    double bonus;           /* holds what the question asks for */
    /* a table's rows, quoted with its header line and caption */
    int table;
    size_t head_s, head_e, cap_s, cap_e;   /* 0, 0: none */
    size_t row_s[TABLE_ROWS], row_e[TABLE_ROWS];
    int n_rows;
    double weight;          /* its chunk's rank weight */
    double cov;             /* coverage of the question (with its list) */
    double score;
    uint64_t matched;
} sent;

typedef struct {
    sent *items;
    size_t n, cap;
    size_t hit;
    size_t first;           /* first sentence of the current chunk */
    const char *text;
} sent_list;

static int on_sentence(void *ctx, size_t s, size_t e)
{
    sent_list *l = ctx;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        sent *p = rag_realloc(l->items, cap * sizeof *p);
        if (!p)
            return RAG_ENOMEM;
        l->items = p;
        l->cap = cap;
    }
    memset(&l->items[l->n], 0, sizeof l->items[l->n]);
    l->items[l->n].hit = l->hit;
    l->items[l->n].start = s;
    l->items[l->n].end = e;
    l->items[l->n].kind = rag_sentence_classify(l->text + s, e - s);
    l->n++;
    return 0;
}

static int ends_sentence(const char *s, size_t n)
{
    unsigned char c;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (!n)
        return 0;
    c = (unsigned char)s[n - 1];
    if (c == ')' || c == '"' || c == '\'')
        c = n > 1 ? (unsigned char)s[n - 2] : c;
    return c == '.' || c == '!' || c == '?' || c == ':' ||
           (n >= 3 && !memcmp(s + n - 3, "\xE2\x80\x9D", 3));
}

/* Append text with runs of whitespace collapsed to one space; a word
 * hyphenated at a line end ("multi-\nprogrammed") is joined. */
static int append_flat(rag_buf *b, const char *s, size_t n)
{
    int space = 0, rc = RAG_OK;
    for (size_t i = 0; i < n && rc == RAG_OK; i++) {
        if (s[i] == '-' && i + 1 < n && s[i + 1] == '\n' && i > 0 &&
            islower((unsigned char)s[i - 1]) && i + 2 < n &&
            islower((unsigned char)s[i + 2])) {
            i++;
            continue;
        }
        if (isspace((unsigned char)s[i])) {
            space = 1;
            continue;
        }
        if (space && b->len && b->data[b->len - 1] != ' ' && b->data[b->len - 1] != '\n')
            rc = rag_buf_putc(b, ' ');
        space = 0;
        if (rc == RAG_OK)
            rc = rag_buf_putc(b, s[i]);
    }
    return rc;
}

/* 1 if line s[0..n) (trimmed) is part of title (case-insensitive,
 * whitespace runs as one space). */
static int in_title(const char *title, const char *s, size_t n)
{
    size_t tl = strlen(title);
    for (size_t at = 0; at < tl; at++) {
        size_t i = 0, j = at;
        while (i < n && j < tl) {
            if (isspace((unsigned char)s[i]) && isspace((unsigned char)title[j])) {
                while (i < n && isspace((unsigned char)s[i]))
                    i++;
                while (j < tl && isspace((unsigned char)title[j]))
                    j++;
                continue;
            }
            if (tolower((unsigned char)s[i]) != tolower((unsigned char)title[j]))
                break;
            i++;
            j++;
        }
        if (i == n)
            return 1;
    }
    return 0;
}

/* A title block as one line: "Title page: TITLE; line; line." with the
 * document's title, then the lines that say what the question asks: the
 * date or version lines for "when" and "which version", every line but
 * URLs and e-mail addresses for "who" and "at which event". */
static int append_title_block(rag_buf *b, const char *title, const char *s, size_t n,
                              const rag_qterms *q)
{
    size_t i = 0;
    int rc = rag_buf_printf(b, "Title page: %s", title);
    while (rc == RAG_OK && i < n) {
        const char *nl = memchr(s + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - s) : n, st = i, en;
        int keep;
        while (st < e && isspace((unsigned char)s[st]))
            st++;
        en = e;
        while (en > st && isspace((unsigned char)s[en - 1]))
            en--;
        i = e + 1;
        if (en <= st || in_title(title, s + st, en - st))
            continue;
        if (en - st > 4 && (!strncmp(s + st, "http", 4) || !strncmp(s + st, "www.", 4)))
            keep = 0;
        else if (q->atype == RAG_ATYPE_PERSON || q->atype == RAG_ATYPE_EVENT)
            keep = 1;
        else
            keep = rag_sentence_holds_type(s + st, en - st, q->atype, q->numbers) ||
                   rag_sentence_holds_type(s + st, en - st, RAG_ATYPE_DATE, "");
        if (!keep)
            continue;
        rc = rag_buf_puts(b, ";");
        /* word by word, e-mail addresses left out */
        for (size_t w = st, dropped = 0; rc == RAG_OK && w < en;) {
            size_t we = w;
            while (we < en && !isspace((unsigned char)s[we]))
                we++;
            if (memchr(s + w, '@', we - w) || (dropped && we - w == 1 && s[w] == ',')) {
                dropped = 1;
            } else {
                dropped = 0;
                rc = rag_buf_putc(b, ' ');
                if (rc == RAG_OK)
                    rc = append_flat(b, s + w, we - w);
            }
            while (we < en && isspace((unsigned char)s[we]))
                we++;
            w = we;
        }
    }
    if (rc == RAG_OK && b->len && !strchr(".?!", b->data[b->len - 1]))
        rc = rag_buf_putc(b, '.');
    return rc;
}

void rag_answer_fini(rag_answer *a)
{
    for (size_t i = 0; i < a->n_citations; i++) {
        rag_free(a->citations[i].doc);
        rag_free(a->citations[i].title);
        rag_free(a->citations[i].version);
        rag_free(a->citations[i].section);
    }
    rag_free(a->citations);
    for (size_t i = 0; i < a->n_sentences; i++)
        rag_free(a->sentences[i].text);
    rag_free(a->sentences);
    rag_free(a->answer);
    rag_free(a->backend_owned);
    rag_free(a->model);
    rag_free(a->notice);
    rag_free(a->dropped_citations);
    memset(a, 0, sizeof *a);
}

int rag_answer_refuse(rag_answer *out, double confidence, rag_err *err)
{
    memset(out, 0, sizeof *out);
    out->answer = rag_strdup(RAG_REFUSAL);
    if (!out->answer)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    out->refused = 1;
    out->confidence = confidence;
    out->backend = "extractive";
    return RAG_OK;
}

static int cite(rag_answer *out, rag_index *ix, const rag_chunk_row *r, size_t s,
                size_t e, int *n_out, int *page, rag_err *err)
{
    rag_citation *c = NULL;
    int p0, p1;

    p0 = rag_index_page_at(ix, r->doc_id, r->byte_start + (int64_t)s, err);
    p1 = rag_index_page_at(ix, r->doc_id, r->byte_start + (int64_t)e - 1, err);
    if (p0 < 0 || p1 < 0)
        return p0 < 0 ? p0 : p1;
    if (p0 <= 0 || p0 < r->page_start || p0 > r->page_end)
        p0 = r->page_start;
    if (p1 < p0 || p1 > r->page_end)
        p1 = p0;
    *page = p0;
    for (size_t i = 0; i < out->n_citations; i++)
        if (out->citations[i].chunk_id == r->chunk_id)
            c = &out->citations[i];
    if (!c) {
        rag_citation *p = rag_realloc(out->citations,
                                      (out->n_citations + 1) * sizeof *p);
        if (!p)
            return rag_fail(err, RAG_ENOMEM, "out of memory");
        out->citations = p;
        c = &p[out->n_citations];
        memset(c, 0, sizeof *c);
        c->n = (int)++out->n_citations;
        c->n_given = c->n;   /* set to the hit's place once the answer is built */
        c->chunk_id = r->chunk_id;
        c->doc = rag_strdup(r->doc);
        c->title = rag_strdup(r->title);
        c->version = rag_strdup(r->version ? r->version : "");
        c->section = rag_strdup(r->section);
        c->page_start = p0;
        c->page_end = p1;
        if (!c->doc || !c->title || !c->section || !c->version)
            return rag_fail(err, RAG_ENOMEM, "out of memory");
    } else {
        if (p0 < c->page_start)
            c->page_start = p0;
        if (p1 > c->page_end)
            c->page_end = p1;
    }
    *n_out = c->n;
    return RAG_OK;
}


/* 1 if sentence x repeats an already picked one: same words (overlapping
 * chunks of one document, or another version of the text). *other_doc
 * gets the picked one's hit when it is another document. */
static int repeats(const sent_list *l, const rag_hits *hits, const sent *x,
                   size_t *other_hit)
{
    const char *tx = hits->items[x->hit].row.text;
    for (size_t i = 0; i < l->n; i++) {
        const sent *y = &l->items[i];
        const char *ty = hits->items[y->hit].row.text;
        if (!y->picked)
            continue;
        if (rag_sentence_near_duplicate(tx + x->start, x->end - x->start, ty + y->start,
                                        y->end - y->start)) {
            *other_hit = y->hit;
            return 1;
        }
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static int add_sentence(rag_answer *out, const char *text, int n, int page)
{
    rag_answer_sentence *p = rag_realloc(out->sentences,
                                         (out->n_sentences + 1) * sizeof *p);
    if (!p)
        return RAG_ENOMEM;
    out->sentences = p;
    p[out->n_sentences].text = rag_strdup(text);
    if (!p[out->n_sentences].text)
        return RAG_ENOMEM;
    p[out->n_sentences].n = n;
    p[out->n_sentences].page = page;
    out->n_sentences++;
    return RAG_OK;
}

/* A formula: an '=' between two names ("vl = min(vlmax(sew, lmul),
 * AVL)"), or a set membership ('∈'). */
static int formula(const char *s, size_t n)
{
    int letters = 0;
    for (size_t i = 0; i < n; i++) {
        if (isalpha((unsigned char)s[i]))
            letters++;
        if (s[i] == '=' && letters >= 2 && i + 2 < n && s[i + 1] != '=' &&
            (i == 0 || (s[i - 1] != '<' && s[i - 1] != '>' && s[i - 1] != '!')))
            return 1;
        if (i + 3 <= n && !memcmp(s + i, "\xE2\x88\x88", 3) && letters >= 2)
            return 1;
    }
    return 0;
}

/* "sew: Standard Element Width." (after a list marker): one word, a
 * colon, then two or more words, the first capitalised. */
static int glossary_line(const char *s, size_t n)
{
    size_t i = 0, w = 0, words = 0;
    if (n >= 3 && (unsigned char)s[0] == 0xE2)
        i = 3;
    else if (n >= 2 && (s[0] == '-' || s[0] == '*'))
        i = 1;
    while (i < n && s[i] == ' ')
        i++;
    w = i;
    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '_'))
        i++;
    if (i == w || i + 2 >= n || s[i] != ':' || s[i + 1] != ' ' ||
        !isupper((unsigned char)s[i + 2]))
        return 0;
    for (i += 2; i < n; i++)
        if (!isspace((unsigned char)s[i]) && isspace((unsigned char)s[i - 1]))
            words++;
    return words >= 1;
}

/* Only white space, and at most one blank line, between two sentences. */
static int blank_gap(const char *t, size_t from, size_t to)
{
    int nl = 0;
    for (size_t i = from; i < to; i++) {
        if (!isspace((unsigned char)t[i]))
            return 0;
        nl += t[i] == '\n';
    }
    return nl <= 2;
}

/* Mark what may be quoted: prose, not cut at the chunk's edges, lists
 * attached to the sentence that introduces them. */
static void mark_eligible(sent_list *l, size_t first, size_t end, const rag_chunk_row *r,
                          size_t max_bytes)
{
    const char *t = r->text;
    size_t len = strlen(t);
    while (len && isspace((unsigned char)t[len - 1]))
        len--;
    for (size_t i = first; i < end; i++) {
        sent *x = &l->items[i];
        int item = rag_sentence_is_list_item(t + x->start, x->end - x->start);
        /* a bullet wrapped over lines ("• ... computes the new vl as" /
         * "vl = min(vlmax(sew, lmul), AVL)"): its lines are one item */
        if (item && i > first) {
            int prose = x->kind == RAG_SENT_PROSE;
            size_t j = i + 1;
            while (j < end && !ends_sentence(t + l->items[j - 1].start,
                                             l->items[j - 1].end - l->items[j - 1].start) &&
                   !rag_sentence_is_list_item(t + l->items[j].start,
                                              l->items[j].end - l->items[j].start) &&
                   !isupper((unsigned char)t[l->items[j].start]) &&
                   l->items[j].end - x->start <= max_bytes && j < i + 4)
                j++;
            if (j > i + 1 && j < end) {
                /* the last line must not be cut by the chunk's end */
                x->end = l->items[j - 1].end;
                x->kind = rag_sentence_classify(t + x->start, x->end - x->start);
                if (prose)
                    x->kind = RAG_SENT_PROSE;
                for (size_t k = i + 1; k < j; k++) {
                    l->items[k].kind = RAG_SENT_FRAGMENT;
                    l->items[k].start = l->items[k].end = x->end;
                }
            }
        }
        x->eligible = x->kind == RAG_SENT_PROSE && x->end - x->start <= max_bytes;
        /* a formula on a slide ("• vlmax(sew, lmul) = (VLEN / sew) × lmul"):
         * quoted like prose; scoring decides whether it is about the
         * question */
        if (item && (x->kind == RAG_SENT_TABLE || x->kind == RAG_SENT_FRAGMENT) &&
            x->end - x->start <= 200 && formula(t + x->start, x->end - x->start))
            x->eligible = 1;
        /* a chunk that starts inside a sentence (chunks overlap; the
         * previous one holds it whole, or nothing does) */
        if (i == first && r->byte_start > 0 && !item &&
            !(isupper((unsigned char)t[x->start]) || isdigit((unsigned char)t[x->start]) ||
              (unsigned char)t[x->start] >= 0x80 || t[x->start] == '(' ||
              t[x->start] == '"'))
            x->eligible = 0;
        /* a line that continues the one before it (lower-case start after
         * a line with no sentence end: a wrapped clause, a cell) */
        if (i > first && !item && islower((unsigned char)t[x->start]) &&
            !ends_sentence(t + l->items[i - 1].start,
                           l->items[i - 1].end - l->items[i - 1].start)) {
            sent *p = &l->items[i - 1];
            x->eligible = 0;
            /* ... across a page break ("Regression analysis and testing
             * are employed to provide" / blank line / "assurance that
             * ..."): one sentence, when the part before is quotable prose
             * or was taken for a heading only for having no end, and the
             * whole reads as prose */
            if ((p->eligible || (p->kind == RAG_SENT_HEADING &&
                                 !(i - 1 == first && r->byte_start > 0))) &&
                !p->table && x->end - p->start <= max_bytes &&
                blank_gap(t, p->end, x->start) &&
                rag_sentence_classify(t + p->start, x->end - p->start) == RAG_SENT_PROSE) {
                p->end = x->end;
                p->kind = RAG_SENT_PROSE;
                p->eligible = 1;
                x->kind = RAG_SENT_FRAGMENT;
                x->start = x->end = p->end;
            }
        }
        /* ... or ends inside one */
        if (i + 1 == end && !item && !ends_sentence(t + x->start, x->end - x->start) &&
            x->end >= len)
            x->eligible = 0;
        /* a glossary line ("• sew: Standard Element Width.") with the
         * line that explains it */
        if (!x->eligible && x->end - x->start <= max_bytes &&
            (x->kind == RAG_SENT_HEADING || x->kind == RAG_SENT_FRAGMENT) &&
            glossary_line(t + x->start, x->end - x->start)) {
            x->eligible = 1;
            if (i + 1 < end && !rag_sentence_is_list_item(t + l->items[i + 1].start,
                                                          l->items[i + 1].end -
                                                              l->items[i + 1].start) &&
                (l->items[i + 1].kind == RAG_SENT_HEADING ||
                 l->items[i + 1].kind == RAG_SENT_PROSE) &&
                l->items[i + 1].end - x->start <= max_bytes) {
                x->list_end = l->items[i + 1].end;
                l->items[i + 1].eligible = 0;
                i++;
            }
            continue;
        }
        if (x->eligible && rag_sentence_introduces_list(t + x->start, x->end - x->start)) {
            size_t j = i + 1, bytes = 0;
            int items = j < end && rag_sentence_is_list_item(t + l->items[j].start,
                                                             l->items[j].end -
                                                                 l->items[j].start);
            /* bulleted items, or (a list without markers) the next few lines */
            for (; j < end && bytes < 900 && j < i + (items ? 13 : 4); j++) {
                const sent *y = &l->items[j];
                if (items ? !rag_sentence_is_list_item(t + y->start, y->end - y->start)
                          : (y->kind == RAG_SENT_HEADING || y->kind == RAG_SENT_CAPTION ||
                             y->kind == RAG_SENT_URL || y->kind == RAG_SENT_REFERENCE))
                    break;
                bytes += y->end - y->start;
                x->list_end = y->end;
            }
            /* no list, or one cut off by the chunk's end: nothing to quote */
            if (!x->list_end || (j == end && x->list_end >= len && !items &&
                                 !ends_sentence(t + l->items[j - 1].start,
                                                l->items[j - 1].end - l->items[j - 1].start)))
                x->eligible = 0;
            /* its items are quoted with it, not on their own */
            for (size_t k = i + 1; x->eligible && k < j; k++)
                l->items[k].eligible = 0;
            if (x->eligible)
                i = j - 1;
        }
    }
}

/* A sentence that opens by pointing back ("This register", "It",
 * "These bits"): what it says is about the sentence before. */
static int refers_back(const char *s, size_t n)
{
    static const char *const words[] = {"This ", "These ", "It ", "Its ", "They ",
                                        "Their ", "Such ", "The latter ", "The former ",
                                        "Both ", "Here ", NULL};
    for (int k = 0; words[k]; k++)
        if (n > strlen(words[k]) && !strncmp(s, words[k], strlen(words[k])))
            return 1;
    return 0;
}

/* ---- tables -------------------------------------------------------------- */

typedef struct {
    size_t s, e;
    int words;
    rag_sentence_kind kind;
} line_span;

static int count_words(const char *s, size_t n)
{
    int w = 0;
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]) && (i == 0 || isspace((unsigned char)s[i - 1])))
            w++;
    return w;
}

static int has_digit(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (isdigit((unsigned char)s[i]))
            return 1;
    return 0;
}

/* A table's header: two or more words, no digits, no sentence end, and
 * at most a third of its words in lower case ("Register ABI Name
 * Description Saver", not "support four-byte granularity."). */
static int header_like(const char *s, size_t n, int words)
{
    int lower = 0;
    if (words < 2 || has_digit(s, n) || strchr(".:;,", s[n - 1]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]) && (i == 0 || isspace((unsigned char)s[i - 1])))
            lower += islower((unsigned char)s[i]) != 0;
    return lower * 3 <= words;
}

/* A line of a table: short, and no prose, or opening with a code or a
 * number ("0 Direct All exceptions set pc to BASE."). */
static int row_like(const char *t, const line_span *l)
{
    if (l->words > 16 || l->kind == RAG_SENT_CAPTION || l->kind == RAG_SENT_URL ||
        l->kind == RAG_SENT_REFERENCE)
        return 0;
    return l->kind != RAG_SENT_PROSE || isdigit((unsigned char)t[l->s]) || l->words <= 6;
}

/* Tables in one chunk: runs of three or more table-like lines, most of
 * them holding a number or a code or short, under a header line (no
 * digits, two or more words) or next to a caption. When the header and
 * caption cover TABLE_ABOUT of the question, the table is about its subject and
 * all rows are quoted (up to TABLE_ROWS, 600 bytes); else the rows that
 * hold a rare word of the question the header and caption lack. Each
 * table becomes one candidate of sl. */
static int add_tables(sent_list *sl, size_t hit, const char *t, size_t n,
                      const rag_qterms *q, rag_analyzer *an, uint64_t strong)
{
    line_span lines[160];
    size_t n_lines = 0, i = 0;
    int rc = RAG_OK;

    while (i < n && n_lines < sizeof lines / sizeof lines[0]) {
        const char *nl = memchr(t + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - t) : n, st = i, en = e;
        while (st < en && isspace((unsigned char)t[st]))
            st++;
        while (en > st && isspace((unsigned char)t[en - 1]))
            en--;
        if (en > st) {
            lines[n_lines].s = st;
            lines[n_lines].e = en;
            lines[n_lines].words = count_words(t + st, en - st);
            lines[n_lines].kind = rag_sentence_classify(t + st, en - st);
            n_lines++;
        }
        i = e + 1;
    }
    for (size_t a = 0; a < n_lines && rc == RAG_OK;) {
        size_t b = a, head = (size_t)-1, cap = (size_t)-1;
        uint64_t ctx = 0, rows_m[TABLE_ROWS * 4];
        double c;
        sent *x;
        int n_rows = 0;
        while (b < n_lines && row_like(t, &lines[b]))
            b++;
        if (b - a < 3 || b - a > TABLE_ROWS * 4) {
            a = b > a ? b : a + 1;
            continue;
        }
        if (header_like(t + lines[a].s, lines[a].e - lines[a].s, lines[a].words))
            head = a;
        if (a > 0 && lines[a - 1].kind == RAG_SENT_CAPTION)
            cap = a - 1;
        else if (b < n_lines && lines[b].kind == RAG_SENT_CAPTION)
            cap = b;
        {
            /* rows of cells: most hold a number or a code, or are short
             * (wrapped prose is neither) */
            size_t cells = 0;
            for (size_t r = a; r < b; r++)
                cells += has_digit(t + lines[r].s, lines[r].e - lines[r].s) ||
                         lines[r].words <= 6;
            if ((head == (size_t)-1 && cap == (size_t)-1) || cells * 2 < b - a) {
                a = b;
                continue;
            }
        }
        if (head != (size_t)-1 &&
            (rc = rag_qterms_coverage(q, an, t + lines[head].s, lines[head].e - lines[head].s,
                                      &c, &ctx)) < 0)
            break;
        if (cap != (size_t)-1) {
            uint64_t m = 0;
            if ((rc = rag_qterms_coverage(q, an, t + lines[cap].s, lines[cap].e - lines[cap].s,
                                          &c, &m)) < 0)
                break;
            ctx |= m;
        }
        if (on_sentence(sl, lines[a].s, lines[b - 1].e) < 0) {
            rc = RAG_ENOMEM;
            break;
        }
        x = &sl->items[sl->n - 1];
        x->hit = hit;
        x->table = 1;
        x->kind = RAG_SENT_PROSE;
        if (head != (size_t)-1) {
            x->head_s = lines[head].s;
            x->head_e = lines[head].e;
        }
        if (cap != (size_t)-1) {
            x->cap_s = lines[cap].s;
            x->cap_e = lines[cap].e;
        }
        x->matched = ctx;
        for (size_t r = (head == a ? a + 1 : a); r < b; r++) {
            uint64_t m = 0;
            if ((rc = rag_qterms_coverage(q, an, t + lines[r].s, lines[r].e - lines[r].s, &c,
                                          &m)) < 0)
                break;
            rows_m[r - a] = m;
            if (rag_qterms_share(q, ~(uint64_t)0, ctx) < TABLE_ABOUT && (m & strong & ~ctx) &&
                n_rows < TABLE_ROWS) {
                x->row_s[n_rows] = lines[r].s;
                x->row_e[n_rows++] = lines[r].e;
                x->matched |= m;
                /* a row of a few words wraps: its cells go on below */
                if (lines[r].words <= 4 && r + 1 < b && n_rows < TABLE_ROWS) {
                    x->row_s[n_rows] = lines[r + 1].s;
                    x->row_e[n_rows++] = lines[r + 1].e;
                }
            }
        }
        if (rc < 0)
            break;
        if (n_rows == 0 && rag_qterms_share(q, ~(uint64_t)0, ctx) >= TABLE_ABOUT) {
            size_t bytes = 0;
            for (size_t r = (head == a ? a + 1 : a); r < b && n_rows < TABLE_ROWS; r++) {
                bytes += lines[r].e - lines[r].s;
                if (bytes > 600)
                    break;
                x->row_s[n_rows] = lines[r].s;
                x->row_e[n_rows++] = lines[r].e;
                x->matched |= rows_m[r - a];
            }
        }
        x->n_rows = n_rows;
        x->eligible = n_rows > 0;
        if (n_rows) {
            x->start = x->head_e > x->head_s ? x->head_s : x->row_s[0];
            x->end = x->row_e[n_rows - 1];
        }
        a = b;
    }
    return rc;
}

/* "HEADER: row; row (CAPTION)." */
static int append_table(rag_buf *b, const char *t, const sent *x)
{
    int rc = RAG_OK;
    if (x->head_e > x->head_s) {
        rc = append_flat(b, t + x->head_s, x->head_e - x->head_s);
        if (rc == RAG_OK)
            rc = rag_buf_puts(b, ": ");
    }
    for (int r = 0; rc == RAG_OK && r < x->n_rows; r++) {
        size_t e = x->row_e[r];
        while (e > x->row_s[r] && (t[e - 1] == '.' || t[e - 1] == ';'))
            e--;
        if (r)
            rc = rag_buf_puts(b, "; ");
        if (rc == RAG_OK)
            rc = append_flat(b, t + x->row_s[r], e - x->row_s[r]);
    }
    if (rc == RAG_OK && x->cap_e > x->cap_s) {
        size_t e = x->cap_e;
        while (e > x->cap_s && t[e - 1] == '.')
            e--;
        rc = rag_buf_puts(b, " (");
        if (rc == RAG_OK)
            rc = append_flat(b, t + x->cap_s, e - x->cap_s);
        if (rc == RAG_OK)
            rc = rag_buf_putc(b, ')');
    }
    if (rc == RAG_OK)
        rc = rag_buf_putc(b, '.');
    return rc;
}

/* Bytes of the first three words of s (after a list marker). */
static size_t lead_bytes(const char *s, size_t n)
{
    size_t i = 0;
    int words = 0;
    if (n >= 3 && (unsigned char)s[0] == 0xE2)
        i = 3;
    while (i < n && words < 4) {
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i < n)
            words++;
        if (words == 4)
            break;
        while (i < n && !isspace((unsigned char)s[i]))
            i++;
    }
    return i;
}

static int by_hit_start(const void *a, const void *b)
{
    const sent *const *x = a, *const *y = b;
    if ((*x)->hit != (*y)->hit)
        return (*x)->hit < (*y)->hit ? -1 : 1;
    return (*x)->start < (*y)->start ? -1 : (*x)->start > (*y)->start;
}

/* Bytes of a neighbouring chunk read across a context chunk's edge */
#define EDGE_BYTES 600

/* A context chunk with the text around it: [core_s, core_e) of text is the
 * chunk's own; before it up to EDGE_BYTES of the chunk before in the
 * document, after it as much of the one after, so that a sentence (or the
 * list after a ':') the chunk boundary cuts is whole. */
typedef struct {
    size_t core_s, core_e;
    char *text;   /* owned; NULL: the hit as it is */
} edge_text;

static int with_edges(rag_index *ix, const rag_chunk_row *r, int title_page, edge_text *et,
                      rag_err *err)
{
    rag_chunk_row prev, next;
    rag_buf b = RAG_BUF_INIT;
    rag_err lerr = {0};
    size_t len = strlen(r->text), pre = 0;
    int have_prev = 0, have_next = 0, rc = RAG_OK;

    memset(et, 0, sizeof *et);
    memset(&prev, 0, sizeof prev);
    memset(&next, 0, sizeof next);
    /* no chunk beside (the document's first or last) is no error */
    if (r->byte_start > 0 && !title_page) {
        rc = rag_index_chunk_beside(ix, r->chunk_id, -1, &prev, &lerr);
        have_prev = rc == RAG_OK && prev.byte_start < r->byte_start &&
                    prev.byte_end >= r->byte_start - 2;
    }
    if (rc == RAG_OK || rc == RAG_ENOTFOUND) {
        rc = rag_index_chunk_beside(ix, r->chunk_id, 1, &next, &lerr);
        have_next = rc == RAG_OK && next.byte_end > r->byte_end &&
                    next.byte_start <= r->byte_end + 2 && (!title_page || next.page_start == 1);
    }
    if (rc < 0 && rc != RAG_ENOTFOUND) {
        if (err)
            *err = lerr;   /* the index's own message (it names the file) */
        goto done;
    }
    rc = RAG_OK;
    if (!have_prev && !have_next)
        goto done;
    if (have_prev) {
        /* the document's bytes before the chunk (a gap of one or two bytes
         * between chunks is the paragraph break the chunker left out) */
        size_t upto = prev.byte_end < r->byte_start ? strlen(prev.text)
                                                    : (size_t)(r->byte_start - prev.byte_start);
        size_t from = upto > EDGE_BYTES ? upto - EDGE_BYTES : 0;
        rc = rag_buf_append(&b, prev.text + from, upto - from);
        if (rc == RAG_OK && prev.byte_end < r->byte_start)
            rc = rag_buf_append(&b, "\n\n", (size_t)(r->byte_start - prev.byte_end));
        pre = b.len;
    }
    if (rc == RAG_OK)
        rc = rag_buf_append(&b, r->text, len);
    if (rc == RAG_OK && have_next) {
        size_t nlen = strlen(next.text);
        size_t from = next.byte_start < r->byte_end ? (size_t)(r->byte_end - next.byte_start) : 0;
        size_t upto = nlen - from > EDGE_BYTES ? from + EDGE_BYTES : nlen;
        if (next.byte_start > r->byte_end)
            rc = rag_buf_append(&b, "\n\n", (size_t)(next.byte_start - r->byte_end));
        if (rc == RAG_OK && from < nlen)
            rc = rag_buf_append(&b, next.text + from, upto - from);
    }
    if (rc == RAG_OK && !(et->text = rag_buf_take(&b)))
        rc = RAG_ENOMEM;
    if (rc < 0)
        rc = rag_fail(err, RAG_ENOMEM, "out of memory reading the chunks around a passage");
    et->core_s = pre;
    et->core_e = pre + len;
done:
    rag_buf_fini(&b);
    rag_chunk_row_fini(&prev);
    rag_chunk_row_fini(&next);
    return rc;
}

static int answer_on(rag_answer *out, rag_index *ix, rag_analyzer *an, const rag_qterms *q,
                     const rag_hits *hits, const edge_text *edges,
                     const rag_extractive_opts *opts, rag_err *err);

/* Word w (n bytes) in s[0..len) as a word of its own, case aside. */
static int has_word(const char *s, size_t len, const char *w, size_t n)
{
    for (size_t i = 0; n && i + n <= len; i++)
        if (!strncasecmp(s + i, w, n) && (i == 0 || !isalnum((unsigned char)s[i - 1])) &&
            (i + n == len || !isalnum((unsigned char)s[i + n])))
            return 1;
    return 0;
}

/* For part p of q, which has no topic words: a picked sentence, else the
 * best-scoring eligible one that is no repeat, holding one of the
 * topic-less words the question analysis set aside (q->ignored) that the
 * part is made of, and the part's answer type when it has one; (size_t)-1
 * if none. */
static size_t soft_part_pick(sent_list *sl, const rag_hits *hits, const rag_qterms *q,
                             size_t p)
{
    const char *part = q->part_text[p], *w = q->ignored;
    size_t best = (size_t)-1, other = 0;
    rag_atype t = p < RAG_QPARTS_MAX ? q->part_atype[p] : RAG_ATYPE_NONE;

    while (w && *w) {
        const char *e = strchr(w, ',');
        size_t n = e ? (size_t)(e - w) : strlen(w);
        if (has_word(part, strlen(part), w, n)) {
            for (size_t i = 0; i < sl->n; i++) {
                sent *x = &sl->items[i];
                const char *s = hits->items[x->hit].row.text + x->start;
                size_t len = x->end - x->start;
                if ((!x->eligible && !x->picked) || x->front || !has_word(s, len, w, n))
                    continue;
                if (t != RAG_ATYPE_NONE && !rag_sentence_holds_type(s, len, t, q->numbers))
                    continue;
                if (x->picked)
                    return i;   /* the answer holds it already */
                if (best == (size_t)-1 || x->score > sl->items[best].score)
                    best = i;
            }
        }
        w = e ? e + 2 : NULL;
    }
    if (best != (size_t)-1 && repeats(sl, hits, &sl->items[best], &other))
        best = (size_t)-1;
    return best;
}

int rag_answer_extractive(rag_answer *out, rag_index *ix, rag_analyzer *an,
                          const rag_qterms *q, const rag_hits *hits,
                          const rag_extractive_opts *opts, rag_err *err)
{
    size_t n_ctx = hits->n < opts->context_chunks ? hits->n : opts->context_chunks;
    edge_text edges[64];
    rag_hits ext = *hits;
    int rc = RAG_OK;

    memset(edges, 0, sizeof edges);
    if (n_ctx > 64)
        n_ctx = 64;
    ext.items = hits->n ? rag_malloc(hits->n * sizeof *ext.items) : NULL;
    if (hits->n && !ext.items)
        return rag_fail(err, RAG_ENOMEM, "out of memory building the answer");
    if (hits->n)
        memcpy(ext.items, hits->items, hits->n * sizeof *ext.items);
    /* the rows' strings stay the caller's; only the texts with edges are
     * ours. A title page (the context's, or one ask.c added after it) is
     * read on into the next chunk while that is still on page 1: its
     * block of lines may go on there ("Technical Report No. ..." / "May
     * 13, 2011") */
    for (size_t h = 0; h < hits->n && h < 64 && rc == RAG_OK; h++) {
        rag_chunk_row *r = &ext.items[h].row;
        int title_page = r->page_start == 1 && r->byte_start < TITLE_PAGE_BYTES;
        if (!r->text || !r->chunk_id || (h >= n_ctx && !title_page))
            continue;
        rc = with_edges(ix, r, title_page, &edges[h], err);
        if (rc == RAG_OK && edges[h].text) {
            r->byte_start -= (int64_t)edges[h].core_s;
            r->text = edges[h].text;
        }
    }
    if (rc == RAG_OK)
        rc = answer_on(out, ix, an, q, &ext, edges, opts, err);
    for (size_t h = 0; h < 64; h++)
        rag_free(edges[h].text);
    rag_free(ext.items);
    return rc;
}

static int answer_on(rag_answer *out, rag_index *ix, rag_analyzer *an, const rag_qterms *q,
                     const rag_hits *hits, const edge_text *edges,
                     const rag_extractive_opts *opts, rag_err *err)
{
    sent_list sl = {0};
    sent **order = NULL;
    rag_buf answer = RAG_BUF_INIT, flat = RAG_BUF_INIT, notes = RAG_BUF_INIT;
    size_t n_ctx = hits->n < opts->context_chunks ? hits->n : opts->context_chunks;
    size_t n_picked = 0, best = (size_t)-1;
    double best_chunk = 0, part_min = 1, best_score = 0, group_score[64], chunk_cov[64] = {0};
    uint64_t strong = 0, matched = 0, all_mask = q->n >= 64 ? ~(uint64_t)0 : (((uint64_t)1 << q->n) - 1);
    int rc = RAG_OK, missing_part = 0, fallback = 0;
    char also[256] = "";

    memset(out, 0, sizeof *out);
    out->backend = "extractive";
    {
        /* the question's rare words: IDF within 60% of its rarest */
        double top = 0;
        for (size_t i = 0; i < q->n; i++)
            if (q->items[i].idf > top)
                top = q->items[i].idf;
        for (size_t i = 0; i < q->n && i < 64; i++)
            if (q->items[i].idf >= 0.6 * top)
                strong |= (uint64_t)1 << i;
    }
    /* hits past the context are title pages ask.c added for questions a
     * title page answers: only their title block is looked at */
    for (size_t h = 0; h < hits->n && h < 64; h++) {
        const rag_chunk_row *r = &hits->items[h].row;
        double cov, rank_weight = 1.0 - RANK_FALL * (double)h / (double)(n_ctx ? n_ctx : 1);
        size_t first = sl.n, block = 0, tlen = strlen(r->text);
        int title_page = r->page_start == 1 && r->byte_start < TITLE_PAGE_BYTES &&
                         rag_atype_on_title_page(q->atype);
        if (h >= n_ctx && !title_page)
            continue;
        if (h >= n_ctx)
            rank_weight = 0.85;
        sl.hit = h;
        sl.text = r->text;
        /* the chunk's own text: its neighbours' words are not its coverage */
        if (edges[h].text)
            rc = rag_qterms_coverage(q, an, r->text + edges[h].core_s,
                                     edges[h].core_e - edges[h].core_s, &cov, NULL);
        else
            rc = rag_qterms_coverage(q, an, r->text, tlen, &cov, NULL);
        if (rc == RAG_OK)
            rc = rag_sentences(r->text, tlen, 0, on_sentence, &sl);
        if (rc < 0) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory building the answer");
            goto done;
        }
        if (cov > best_chunk)
            best_chunk = cov;
        chunk_cov[h] = cov;
        mark_eligible(&sl, first, sl.n, r, opts->max_sentence_bytes);
        if (h < n_ctx && (rc = add_tables(&sl, h, r->text, tlen, q, an, strong)) < 0)
            goto oom;
        if (edges[h].text)   /* the neighbours' own sentences are theirs */
            for (size_t i = first; i < sl.n; i++)
                if (sl.items[i].end <= edges[h].core_s || sl.items[i].start >= edges[h].core_e)
                    sl.items[i].eligible = 0;
        if (title_page && (block = rag_title_block_end(r->text, tlen)) > 0) {
            /* the title block replaces the lines it holds */
            for (size_t i = first; i < sl.n; i++)
                if (sl.items[i].start < block || h >= n_ctx)
                    sl.items[i].eligible = 0;
            rc = on_sentence(&sl, 0, block);
            if (rc < 0)
                goto oom;
            sl.items[sl.n - 1].front = 1;
            sl.items[sl.n - 1].eligible = 1;
        }
        for (size_t i = first; i < sl.n; i++) {
            sent *x = &sl.items[i];
            size_t e = x->list_end > x->end ? x->list_end : x->end;
            if (x->table) {
                x->cov = TABLE_WEIGHT * rag_qterms_share(q, ~(uint64_t)0, x->matched);
                continue;
            }
            rc = rag_qterms_coverage(q, an, r->text + x->start, e - x->start, &x->cov,
                                     &x->matched);
            if (rc < 0) {
                rc = rag_fail(err, RAG_ENOMEM, "out of memory building the answer");
                goto done;
            }
        }
        for (size_t i = first; i < sl.n; i++) {
            sent *x = &sl.items[i];
            size_t e = x->list_end > x->end ? x->list_end : x->end;
            double bonus = 0;
            if (!x->eligible)
                continue;
            /* "This register holds ...": the sentence before names what
             * it is about */
            if (i > first && !x->front && !x->table && refers_back(r->text + x->start, x->end - x->start)) {
                uint64_t both = x->matched | sl.items[i - 1].matched;
                double c = 0.9 * rag_qterms_share(q, ~(uint64_t)0, both);
                if (c > x->cov) {
                    x->cov = c;
                    x->matched = both;
                }
            }
            if (q->atype != RAG_ATYPE_NONE &&
                rag_sentence_holds_type(r->text + x->start, e - x->start, q->atype,
                                        q->numbers))
                bonus = TYPE_BONUS;
            /* a part that asks for a type of its own ("... and how large
             * are compressed instructions?"): a sentence on that part
             * holding one */
            for (size_t p = 0; bonus == 0 && p < q->n_parts && p < RAG_QPARTS_MAX; p++)
                if (q->part_atype[p] != RAG_ATYPE_NONE && q->part_atype[p] != q->atype &&
                    (x->matched & rag_qterms_part_mask(q, p)) &&
                    rag_sentence_holds_type(r->text + x->start, e - x->start,
                                            q->part_atype[p], q->numbers))
                    bonus = TYPE_BONUS;
            /* about the question's subject: one of its rare words opens
             * the sentence ("The WFI instruction ...", "sew: ...") */
            if (!x->front && !x->table) {
                size_t lead = lead_bytes(r->text + x->start, x->end - x->start);
                uint64_t lm = 0;
                double lc = 0;
                rc = rag_qterms_coverage(q, an, r->text + x->start, lead, &lc, &lm);
                if (rc < 0)
                    goto oom;
                if (lm & strong)
                    bonus += LEAD_BONUS;
            }
            if (x->front) {
                /* a title page names its authors and its event; the date
                 * or version asked must be on it */
                if (q->atype == RAG_ATYPE_PERSON || q->atype == RAG_ATYPE_EVENT)
                    bonus = TYPE_BONUS;
                if (bonus == 0)
                    x->eligible = 0;
                /* its words are the title's too (a title page cut in two
                 * chunks: the date alone in the second) */
                for (size_t k = 0; k < sl.n; k++)
                    if (sl.items[k].front && hits->items[sl.items[k].hit].row.doc_id ==
                                                 r->doc_id)
                        x->matched |= sl.items[k].matched;
                {
                    uint64_t tm = 0;
                    double tc = 0;
                    rc = rag_qterms_coverage(q, an, r->title, strlen(r->title), &tc, &tm);
                    if (rc < 0)
                        goto oom;
                    x->matched |= tm;
                }
                x->cov = rag_qterms_share(q, ~(uint64_t)0, x->matched);
                for (size_t k = 0; k < sl.n; k++)
                    if (k != i && sl.items[k].front &&
                        hits->items[sl.items[k].hit].row.doc_id == r->doc_id &&
                        sl.items[k].weight > 0) {
                        sl.items[k].matched |= x->matched;
                        sl.items[k].cov = x->cov;
                        sl.items[k].score = (x->cov + sl.items[k].bonus) * sl.items[k].weight;
                        if (sl.items[k].eligible && sl.items[k].score > best_score) {
                            best_score = sl.items[k].score;
                            best = k;
                        }
                    }
            }
            x->bonus = bonus;
            x->weight = rank_weight;
            x->score = (x->cov + bonus) * rank_weight;
            if (x->cov <= 0)
                x->eligible = 0;
            if (x->eligible && x->score > best_score) {
                best_score = x->score;
                best = i;
            }
        }
    }
    {
        double top = 0;
        int dropped = 0;
        for (size_t i = 0; i < sl.n; i++)
            if (sl.items[i].front && sl.items[i].eligible && sl.items[i].cov > top)
                top = sl.items[i].cov;
        for (size_t i = 0; i < sl.n; i++)
            if (sl.items[i].front && sl.items[i].eligible &&
                sl.items[i].cov < TITLE_PAGE_SHARE * top) {
                sl.items[i].eligible = 0;
                dropped |= i == best;
            }
        if (dropped) {
            best = (size_t)-1;
            best_score = 0;
            for (size_t i = 0; i < sl.n; i++)
                if (sl.items[i].eligible && sl.items[i].score > best_score) {
                    best_score = sl.items[i].score;
                    best = i;
                }
        }
    }
    if (rag_log_enabled(RAG_LOG_DEBUG))
        for (size_t i = 0; i < sl.n; i++) {
            const sent *x = &sl.items[i];
            const char *t = hits->items[x->hit].row.text;
            rag_log(RAG_LOG_DEBUG, "answer: hit %zu %s%s cov %.3f score %.3f: %.*s",
                    x->hit + 1, rag_sentence_kind_name(x->kind),
                    x->eligible ? "" : " (not quoted)", x->cov, x->score,
                    (int)(x->end - x->start < 100 ? x->end - x->start : 100), t + x->start);
        }
    if (best == (size_t)-1) {
        /* no prose holds a question term: a short text (a one-line note,
         * a heading-like line) may still be all the document says; quote
         * it, never URLs, references, captions or editor lists, and say
         * so in the confidence */
        for (size_t i = 0; i < sl.n; i++) {
            sent *x = &sl.items[i];
            const rag_chunk_row *r = &hits->items[x->hit].row;
            if (x->kind != RAG_SENT_HEADING && x->kind != RAG_SENT_FRAGMENT &&
                x->kind != RAG_SENT_TABLE)
                continue;
            if (x->end - x->start > opts->max_sentence_bytes)
                continue;
            rc = rag_qterms_coverage(q, an, r->text + x->start, x->end - x->start, &x->cov,
                                     &x->matched);
            if (rc < 0)
                goto oom;
            x->score = x->cov * (1.0 - RANK_FALL * (double)x->hit / (double)(n_ctx ? n_ctx : 1));
            x->eligible = x->cov > 0;
            if (x->eligible && x->score > best_score) {
                best_score = x->score;
                best = i;
            }
        }
        fallback = 1;
    }
    if (best == (size_t)-1) {
        rag_free(sl.items);
        return rag_answer_refuse(out, 0.0, err);
    }
    /* the best sentences overall */
    for (int round = 0; round < opts->max_sentences; round++) {
        size_t pick = (size_t)-1, other = 0;
        for (size_t i = 0; i < sl.n; i++) {
            sent *x = &sl.items[i];
            if (!x->eligible || x->picked || x->score < PICK_SHARE * best_score)
                continue;
            if (pick == (size_t)-1 || x->score > sl.items[pick].score)
                pick = i;
        }
        if (pick == (size_t)-1)
            break;
        if (!sl.items[pick].front && repeats(&sl, hits, &sl.items[pick], &other)) {
            const char *d0 = hits->items[other].row.doc;
            const char *d1 = hits->items[sl.items[pick].hit].row.doc;
            if (strcmp(d0, d1) && !strstr(also, base_name(d1)) &&
                strlen(also) + strlen(base_name(d1)) + 3 < sizeof also)
                snprintf(also + strlen(also), sizeof also - strlen(also), "%s%s",
                         also[0] ? ", " : "", base_name(d1));
            sl.items[pick].eligible = 0;
            round--;
            continue;
        }
        sl.items[pick].picked = 1;
        matched |= sl.items[pick].matched;
        n_picked++;
    }
    /* each side of a comparison, each part of a multi-part question */
    for (size_t p = 0; q->n_parts > 1 && p < q->n_parts; p++) {
        uint64_t m = rag_qterms_part_mask(q, p);
        size_t pick = (size_t)-1, other = 0;
        double share, best_part = 0;
        int have = 0;
        for (size_t i = 0; i < sl.n; i++)
            if (sl.items[i].picked && rag_qterms_share(q, m, sl.items[i].matched) >= 0.5)
                have = 1;
        while (!have) {
            pick = (size_t)-1;
            best_part = 0;
            for (size_t i = 0; i < sl.n; i++) {
                sent *x = &sl.items[i];
                double sc;
                if (!x->eligible || x->picked)
                    continue;
                share = rag_qterms_share(q, m, x->matched);
                sc = share + 0.25 * x->score;
                if (share >= 0.5 && sc > best_part) {
                    best_part = sc;
                    pick = i;
                }
            }
            if (pick == (size_t)-1)
                break;
            if (repeats(&sl, hits, &sl.items[pick], &other)) {
                sl.items[pick].eligible = 0;
                continue;
            }
            sl.items[pick].picked = 1;
            matched |= sl.items[pick].matched;
            n_picked++;
            have = 1;
        }
        if (!have) {
            /* the cited passages (with their section titles) may hold it
             * where no single sentence does */
            for (size_t i = 0; i < sl.n && !have; i++) {
                const rag_chunk_row *r = &hits->items[sl.items[i].hit].row;
                rag_buf all = RAG_BUF_INIT;
                uint64_t cm = 0;
                double cov = 0;
                if (!sl.items[i].picked)
                    continue;
                rc = rag_buf_printf(&all, "%s\n%s", r->section, r->text);
                if (rc == RAG_OK)
                    rc = rag_qterms_coverage(q, an, all.data, all.len, &cov, &cm);
                rag_buf_fini(&all);
                if (rc < 0)
                    goto oom;
                have = rag_qterms_share(q, m, cm) >= 0.5;
            }
        }
        if (!have && m == 0) {
            /* a part made of topic-less words only ("..., and when was its
             * draft?"): a sentence that holds one of them and what the
             * part asks for */
            pick = soft_part_pick(&sl, hits, q, p);
            if (pick != (size_t)-1) {
                if (!sl.items[pick].picked) {
                    sl.items[pick].picked = 1;
                    matched |= sl.items[pick].matched;
                    n_picked++;
                }
                continue;   /* answered; no terms to count in part_min */
            }
        }
        if (!have) {
            missing_part = 1;
            rc = rag_buf_printf(&notes, "%s%s", notes.len ? "; " : "Not found in the documents: ",
                                q->part_text[p]);
            if (rc < 0)
                goto oom;
        }
        share = rag_qterms_share(q, m, matched);
        if (share < part_min)
            part_min = share;
    }
    if (q->n_parts <= 1)
        part_min = rag_qterms_share(q, all_mask, matched);
    /* chunks in the order of their best sentence; document order inside */
    order = rag_calloc(n_picked ? n_picked : 1, sizeof *order);
    if (!order)
        goto oom;
    for (size_t h = 0; h < 64; h++)
        group_score[h] = 0;
    {
        size_t k = 0;
        for (size_t i = 0; i < sl.n; i++)
            if (sl.items[i].picked) {
                order[k++] = &sl.items[i];
                if (sl.items[i].hit < 64 && sl.items[i].score > group_score[sl.items[i].hit])
                    group_score[sl.items[i].hit] = sl.items[i].score;
            }
        qsort(order, n_picked, sizeof *order, by_hit_start);
    }
    for (size_t done_n = 0; done_n < n_picked;) {
        size_t g = (size_t)-1;
        for (size_t i = 0; i < n_picked; i++)
            if (order[i] && (g == (size_t)-1 ||
                             group_score[order[i]->hit < 64 ? order[i]->hit : 63] >
                                 group_score[order[g]->hit < 64 ? order[g]->hit : 63]))
                g = i;
        const sent *lead = order[g];
        for (size_t i = 0; i < n_picked; i++) {
            const sent *x;
            const rag_chunk_row *r;
            int n = 0, page = 0;
            if (!order[i] || order[i]->hit != lead->hit)
                continue;
            x = order[i];
            r = &hits->items[x->hit].row;
            rc = cite(out, ix, r, x->start, x->list_end > x->end ? x->list_end : x->end, &n,
                      &page, err);
            if (rc < 0)
                goto done;
            flat.len = 0;
            if (flat.data)
                flat.data[0] = '\0';
            if (x->table)
                rc = append_table(&flat, r->text, x);
            else if (x->front)
                rc = append_title_block(&flat, r->title, r->text + x->start,
                                        x->end - x->start, q);
            else
                rc = append_flat(&flat, r->text + x->start, x->end - x->start);
            if (rc == RAG_OK && x->list_end > x->end) {
                /* a list: one item per line */
                size_t k = (size_t)(x - sl.items) + 1;
                for (; rc == RAG_OK && k < sl.n && sl.items[k].hit == x->hit &&
                       sl.items[k].end <= x->list_end;
                     k++) {
                    rc = rag_buf_putc(&flat, '\n');
                    if (rc == RAG_OK)
                        rc = append_flat(&flat, r->text + sl.items[k].start,
                                         sl.items[k].end - sl.items[k].start);
                }
            }
            if (rc == RAG_OK && !flat.data)
                rc = rag_buf_puts(&flat, "");
            if (rc == RAG_OK && answer.len)
                rc = rag_buf_putc(&answer, x->list_end > x->end ? '\n' : ' ');
            if (rc == RAG_OK)
                rc = rag_buf_append(&answer, flat.data, flat.len);
            if (rc == RAG_OK)
                rc = rag_buf_printf(&answer, " [%d]", n);
            if (rc == RAG_OK)
                rc = add_sentence(out, flat.data, n, page);
            if (rc < 0)
                goto oom;
            order[i] = NULL;
            done_n++;
        }
    }
    if (notes.len && (rc = rag_buf_putc(&notes, '.')) < 0)
        goto oom;
    /* "also in" names only documents the answer does not cite */
    for (size_t i = 0; i < out->n_citations; i++) {
        const char *b = base_name(out->citations[i].doc);
        char *at = strstr(also, b);
        size_t bl = strlen(b);
        if (at && (at[bl] == '\0' || at[bl] == ',') && (at == also || at[-1] == ' ')) {
            char *end = at + bl;
            if (*end == ',')
                end += 2;
            else if (at > also)
                at -= 2;
            memmove(at, end, strlen(end) + 1);
        }
    }
    if (also[0] && (rc = rag_buf_printf(&notes, "%sThe same text is also in %s.",
                                        notes.len ? " " : "", also)) < 0)
        goto oom;
    if (notes.len && (rc = rag_buf_printf(&answer, "\n\n%s", notes.data)) < 0)
        goto oom;
    /* confidence: a logistic model over what the answer found (features
     * below), fitted on the tuning half of the answer eval by
     * scripts/fit_confidence.py; mapped to [0.1, 1] so that an answer
     * never scores below a refusal (at most 0.1) */
    {
        double f[RAG_CONF_FEATURES], z = conf_weights[0];
        size_t agree = 0;
        for (size_t h = 0; h < n_ctx && h < 64; h++)
            agree += chunk_cov[h] >= 0.8 * best_chunk;
        f[0] = part_min;
        f[1] = sl.items[best].cov;
        f[2] = 1.0 / (1.0 + (double)sl.items[best].hit);
        f[3] = sl.items[best].score;
        f[4] = n_ctx ? (double)agree / (double)n_ctx : 0;
        f[5] = missing_part;
        f[6] = fallback;
        f[7] = q->atype != RAG_ATYPE_NONE && sl.items[best].bonus >= TYPE_BONUS;
        f[8] = q->atype != RAG_ATYPE_NONE;
        f[9] = best_chunk;
        for (int k = 0; k < RAG_CONF_FEATURES; k++)
            z += conf_weights[k + 1] * f[k];
        out->confidence = 0.1 + 0.9 / (1.0 + exp(-z));
        if (rag_log_enabled(RAG_LOG_DEBUG))
            rag_log(RAG_LOG_DEBUG,
                    "answer: features part_min=%.4f best_cov=%.4f best_rank=%.4f "
                    "best_score=%.4f agree=%.4f missing_part=%.0f fallback=%.0f "
                    "type_held=%.0f typed=%.0f chunk_cov=%.4f confidence=%.4f",
                    f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8], f[9],
                    out->confidence);
    }
    if (out->confidence > 1)
        out->confidence = 1;
    out->answer = rag_buf_take(&answer);
    if (!out->answer)
        goto oom;
    /* n_given: the chunk's place among the hits, as a stream's `sources`
     * event numbers them (n is the order of use in the answer) */
    for (size_t i = 0; i < out->n_citations; i++)
        for (size_t h = 0; h < hits->n; h++)
            if (hits->items[h].row.chunk_id == out->citations[i].chunk_id) {
                out->citations[i].n_given = (int)h + 1;
                break;
            }
    rc = RAG_OK;
    goto done;
oom:
    rc = rag_fail(err, RAG_ENOMEM, "out of memory building the answer");
done:
    rag_free(sl.items);
    rag_free(order);
    rag_buf_fini(&answer);
    rag_buf_fini(&flat);
    rag_buf_fini(&notes);
    if (rc < 0)
        rag_answer_fini(out);
    return rc;
}
