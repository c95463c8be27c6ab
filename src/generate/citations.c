/* citations.c - find, check and renumber the [n] citations of an LLM answer.
 *
 * Grammar of one group (case-insensitive, spaces allowed around tokens):
 *   group := '[' item (sep item)* ']'
 *   item  := [label] num [('-' | '–' | "to") num]
 *   label := "document" | "doc" | "doc." | "source" | "chunk" | "context"
 *   sep   := ',' | ';' | "and" | '&'
 * Anything else inside brackets ("[x86]", "[a]", "[1.2]") is not a
 * citation and is left alone. A range expands to its numbers (at most 32
 * per group; a reversed or larger range is not a citation).
 *
 * A number of any length is a citation: one too large for an int is read
 * as INT_MAX, so it can never match a chunk and is dropped like any other
 * number that was not given (an earlier cut-off at 100000 made such a
 * group "not a citation", and it stayed in the answer).
 */
#include "generate.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PER_GROUP 32

void rag_cite_groups_fini(rag_cite_groups *g)
{
    rag_free(g->items);
    g->items = NULL;
    g->n = 0;
}

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

static const char *skip_word(const char *p, const char *w)
{
    size_t n = strlen(w);
    if (!strncasecmp(p, w, n) && !isalnum((unsigned char)p[n]))
        return p + n;
    return NULL;
}

static const char *skip_label(const char *p)
{
    static const char *const labels[] = {"document", "doc.", "doc", "source",
                                         "chunk", "context"};
    for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
        size_t n = strlen(labels[i]);
        if (!strncasecmp(p, labels[i], n) &&
            (labels[i][n - 1] == '.' || !isalpha((unsigned char)p[n])))
            return skip_ws(p + n);
    }
    return p;
}

/* Digits to an int, saturating at INT_MAX (the digits are all consumed). */
static const char *read_num(const char *p, int *out)
{
    long v = 0;
    if (!isdigit((unsigned char)*p))
        return NULL;
    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p - '0');
        if (v > INT_MAX)
            v = INT_MAX;
        p++;
    }
    if (*p == '.' && isdigit((unsigned char)p[1]))
        return NULL; /* "[1.2]" is a section number, not a citation */
    *out = (int)v;
    return p;
}

/* Parse a group starting at '['; returns the byte after ']' or NULL. */
static const char *parse_group(const char *p, rag_cite_group *g)
{
    const char *s = p + 1;
    g->n = 0;
    for (;;) {
        int a, b;
        const char *q;
        s = skip_label(skip_ws(s));
        if (!(s = read_num(s, &a)))
            return NULL;
        b = a;
        q = skip_ws(s);
        if (*q == '-' || !strncmp(q, "\xe2\x80\x93", 3) || skip_word(q, "to")) {
            q += *q == '-' ? 1 : (*q == 't' || *q == 'T') ? 2 : 3;
            q = skip_label(skip_ws(q));
            if (!(q = read_num(q, &b)) || b < a || b - a >= MAX_PER_GROUP)
                return NULL;
            s = q;
        }
        for (long v = a; v <= b; v++) { /* long: b may be INT_MAX */
            if (g->n == MAX_PER_GROUP)
                return NULL;
            g->nums[g->n++] = (int)v;
        }
        s = skip_ws(s);
        if (*s == ']')
            return s + 1;
        if (*s == ',' || *s == ';' || *s == '&')
            s++;
        else if ((q = skip_word(s, "and")))
            s = q;
        else
            return NULL;
    }
}

int rag_citations_parse(rag_cite_groups *out, const char *text, rag_err *err)
{
    size_t cap = 0;
    memset(out, 0, sizeof *out);
    for (const char *p = text; (p = strchr(p, '[')) != NULL;) {
        rag_cite_group g;
        const char *end = parse_group(p, &g);
        if (!end) {
            p++;
            continue;
        }
        g.start = (size_t)(p - text);
        g.end = (size_t)(end - text);
        if (out->n == cap) {
            size_t nc = cap ? cap * 2 : 16;
            rag_cite_group *ni = rag_realloc(out->items, nc * sizeof *ni);
            if (!ni) {
                rag_cite_groups_fini(out);
                return rag_fail(err, RAG_ENOMEM, "out of memory parsing citations");
            }
            out->items = ni;
            cap = nc;
        }
        out->items[out->n++] = g;
        p = end;
    }
    return RAG_OK;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return 0;
}

int rag_answer_says_not_found(const char *text)
{
    static const char *const phrases[] = {
        "not in the documents", "not in the provided documents",
        "not in the provided context", "not in the context",
        "no relevant information", "documents do not contain",
        "context does not contain", "chunks do not contain",
        "not contained in the documents", "not mentioned in the documents",
        "cannot be found in the documents", "not found in the documents",
    };
    for (size_t i = 0; i < sizeof phrases / sizeof phrases[0]; i++)
        if (contains_ci(text, phrases[i]))
            return 1;
    return 0;
}

typedef struct {
    const char *text;
    size_t n_sent, n_cited;
} cov_ctx;

static int count_sentence(void *ctx, size_t s, size_t e)
{
    cov_ctx *c = ctx;
    int alpha = 0, cited = 0;
    for (size_t i = s; i < e; i++) {
        if (isalpha((unsigned char)c->text[i]))
            alpha = 1;
        if (c->text[i] == '[' && i + 1 < e && isdigit((unsigned char)c->text[i + 1]))
            cited = 1;
    }
    if (!alpha) {
        /* a sentence made only of citations ("... ends. [2]") credits the
         * sentence before it */
        if (cited && c->n_sent && c->n_cited < c->n_sent)
            c->n_cited++;
        return 0;
    }
    c->n_sent++;
    c->n_cited += cited;
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int rag_citations_resolve(rag_answer *out, const char *text, const rag_hits *hits,
                          size_t n_given, double *cite_coverage, rag_err *err)
{
    rag_cite_groups g;
    rag_buf b = RAG_BUF_INIT;
    int *map = NULL;          /* prompt number -> new number (0 = unused) */
    int next = 1, rc;
    size_t pos = 0;
    cov_ctx cc = {0};

    if (n_given > hits->n)
        n_given = hits->n;
    rc = rag_citations_parse(&g, text, err);
    if (rc < 0)
        return rc;
    map = rag_calloc(n_given + 1, sizeof *map);
    if (!map) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < g.n && rc == RAG_OK; i++) {
        rag_cite_group *cg = &g.items[i];
        size_t head = cg->start;
        int wrote = 0;
        /* drop the space before a group that vanishes entirely */
        rc = rag_buf_append(&b, text + pos, head - pos);
        for (size_t k = 0; k < cg->n && rc == RAG_OK; k++) {
            int v = cg->nums[k], dup = 0;
            if (v < 1 || (size_t)v > n_given) {
                for (size_t d = 0; d < out->n_dropped; d++)
                    dup |= out->dropped_citations[d] == v;
                if (!dup) {
                    int *nd = rag_realloc(out->dropped_citations,
                                          (out->n_dropped + 1) * sizeof *nd);
                    if (!nd) {
                        rc = RAG_ENOMEM;
                        break;
                    }
                    out->dropped_citations = nd;
                    nd[out->n_dropped++] = v;
                }
                continue;
            }
            for (size_t j = 0; j < k; j++)
                dup |= cg->nums[j] == v;
            if (dup)
                continue;
            if (!map[v]) {
                const rag_chunk_row *r = &hits->items[v - 1].row;
                rag_citation *c = rag_realloc(out->citations,
                                              (out->n_citations + 1) * sizeof *c);
                if (!c) {
                    rc = RAG_ENOMEM;
                    break;
                }
                out->citations = c;
                c = &c[out->n_citations++];
                memset(c, 0, sizeof *c);
                map[v] = next++;
                c->n = map[v];
                c->n_given = v;
                c->chunk_id = r->chunk_id;
                c->page_start = r->page_start;
                c->page_end = r->page_end;
                c->doc = rag_strdup(r->doc);
                c->title = rag_strdup(r->title ? r->title : "");
                c->version = rag_strdup(r->version ? r->version : "");
                c->section = rag_strdup(r->section ? r->section : "");
                if (!c->doc || !c->title || !c->section || !c->version) {
                    rc = RAG_ENOMEM;
                    break;
                }
            }
            rc = rag_buf_printf(&b, "[%d]", map[v]);
            wrote = 1;
        }
        if (rc == RAG_OK && !wrote && b.len && b.data[b.len - 1] == ' ')
            b.data[--b.len] = '\0';
        pos = cg->end;
    }
    if (rc == RAG_OK)
        rc = rag_buf_puts(&b, text + pos);
    if (rc == RAG_OK && !b.data)
        rc = rag_buf_puts(&b, "");
    if (rc < 0) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory resolving citations");
        goto done;
    }
    if (out->n_dropped > 1)
        qsort(out->dropped_citations, out->n_dropped, sizeof(int), cmp_int);
    cc.text = b.data;
    rag_sentences(b.data, b.len, 100000, count_sentence, &cc);
    if (cite_coverage)
        *cite_coverage = cc.n_sent ? (double)cc.n_cited / (double)cc.n_sent : 0.0;
    rag_free(out->answer);
    out->answer = rag_buf_take(&b);
done:
    rag_buf_fini(&b);
    rag_free(map);
    rag_cite_groups_fini(&g);
    return rc;
}
