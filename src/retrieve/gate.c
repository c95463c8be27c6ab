/* gate.c - query terms with IDF, term coverage, and the off-topic gate.
 *
 * The gate asks: does some top chunk contain most of the question's
 * information? Coverage weights each distinct query term by its IDF, so
 * "what", "does" and other common words count little and the rare,
 * topical words ("football", "weather", "mcause") decide. A question
 * whose rare words are absent from the best chunks is refused before any
 * answer is built.
 *
 * The question is analysed for this (retrieve.h): compounds absent as a
 * whole match through their parts, words that only ask ("describe",
 * "difference", "later") weigh nothing, comparisons and multi-part
 * questions are cut into parts, and "the ATTR of ENTITY" marks ATTR.
 */
#include "retrieve.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

rag_gate_opts rag_gate_default_opts(void)
{
    return (rag_gate_opts){.min_coverage = 0.5, .n_check = 5};
}

/* ---- query analysis ------------------------------------------------------ */

/* Words that ask rather than name a topic: never weighed. Analysed (so
 * stemmed) like the question before comparing. */
static const char topicless_words[] =
    "what happened happen happens later earlier latter former difference "
    "differences differ differs different describe describes described "
    "explain explains explained draft drafts mean means meaning purpose role "
    "work works give tell kind kinds way ways compare compared comparison "
    "versus vs between main key specific exactly briefly example examples "
    "please show overview summary summarize define definition say says said "
    "mention mentioned according relate related relationship argue argues "
    "argued instead rather";

/* Attributes any description of a thing answers without naming them:
 * "the purpose of X" needs no "purpose" in the text. Other attributes
 * ("the price of X") must occur with the entity. */
static const char generic_attr_words[] =
    "purpose role meaning function functions goal aim definition difference "
    "significance idea advantage advantages disadvantage benefit benefits "
    "drawback format structure behavior behaviour effect effects result "
    "results reason value values content contents layout use usage scope "
    "name type kind size width length number count encoding field fields bit "
    "bits range default mode modes state status list set order rule rules "
    "requirement requirements part parts component components feature "
    "features principle principles responsibility responsibilities "
    "operation operations semantics job task main key first last "
    "relation relationship impact intent objective objectives";

/* Attributes technical documents rarely state; wherever the question
 * asks for one, it must occur in a passage about the subject. */
static const char concrete_attr_words[] =
    "price prices cost costs fee fees budget salary revenue age employees "
    "battery retail funding profit population weight colour color";

#define MAX_TOKENS 128
#define MAX_WORDS 128

typedef struct {
    char term[RAG_ANALYZER_MAX_TERM_BYTES + 1];
    size_t s, e;
    int colocated;
} qtoken;

typedef struct {
    qtoken *items;
    size_t n, cap;
} tok_list;

static int collect_token(void *ctx, const char *term, size_t n, size_t s, size_t e,
                         int colocated)
{
    tok_list *l = ctx;
    if (l->n == l->cap || n > RAG_ANALYZER_MAX_TERM_BYTES)
        return 0;
    memcpy(l->items[l->n].term, term, n);
    l->items[l->n].term[n] = '\0';
    l->items[l->n].s = s;
    l->items[l->n].e = e;
    l->items[l->n].colocated = colocated;
    l->n++;
    return 0;
}

typedef struct {
    char words[MAX_WORDS][RAG_ANALYZER_MAX_TERM_BYTES + 1];
    size_t n;
} word_set;

static int collect_word(void *ctx, const char *term, size_t n, size_t s, size_t e,
                        int colocated)
{
    word_set *w = ctx;
    (void)s;
    (void)e;
    if (colocated || w->n == MAX_WORDS || n > RAG_ANALYZER_MAX_TERM_BYTES)
        return 0;
    memcpy(w->words[w->n], term, n);
    w->words[w->n++][n] = '\0';
    return 0;
}

static int in_set(const word_set *w, const char *term)
{
    for (size_t i = 0; i < w->n; i++)
        if (!strcmp(w->words[i], term))
            return 1;
    return 0;
}

/* n_docs of a term: the index's, or a fixed answer for rag_qterms_analyze */
typedef struct {
    rag_index *ix;
    int absent_compounds;
} lookup_ctx;

static int lookup(const lookup_ctx *lc, const char *term, int64_t *n_docs, rag_err *err)
{
    if (!lc->ix) {
        *n_docs = lc->absent_compounds ? 0 : 1;
        return RAG_OK;
    }
    return rag_index_term_docs(lc->ix, term, n_docs, err);
}

static void list_add(char *list, size_t cap, const char *s, size_t n)
{
    size_t len = strlen(list);
    if (len + n + 3 >= cap)
        return;
    if (len) {
        memcpy(list + len, ", ", 2);
        len += 2;
    }
    memcpy(list + len, s, n);
    list[len + n] = '\0';
}

/* Add term (once); marks it with the parts and attribute of the source
 * position it came from. RAG_ENOMEM, or 0. */
static int add_qterm(rag_qterms *q, const char *term, unsigned parts, int attr,
                     int from_compound)
{
    size_t n = strlen(term);
    uint64_t h = rag_hash64(term, n);
    for (size_t i = 0; i < q->n; i++)
        if (q->items[i].hash == h && !strcmp(q->items[i].term, term)) {
            q->items[i].parts |= parts;
            q->items[i].attr &= attr;
            return 0;
        }
    if (q->n == 64)
        return 0;
    q->items[q->n].term = rag_strndup(term, n);
    if (!q->items[q->n].term)
        return RAG_ENOMEM;
    q->items[q->n].hash = h;
    q->items[q->n].parts = parts;
    q->items[q->n].attr = attr;
    q->items[q->n].from_compound = from_compound;
    q->n++;
    return 0;
}

/* ---- question parts ------------------------------------------------------ */

typedef struct {
    size_t s, e;
} span;

#define NPOS ((size_t)-1)

/* Word w (bounded by non-alphanumerics) in lower[from, to), or NPOS. */
static size_t find_word(const char *lower, size_t from, size_t to, const char *w)
{
    size_t n = strlen(w);
    for (size_t i = from; i + n <= to; i++) {
        if (memcmp(lower + i, w, n))
            continue;
        if (i > 0 && isalnum((unsigned char)lower[i - 1]))
            continue;
        if (i + n < to && isalnum((unsigned char)lower[i + n]))
            continue;
        return i;
    }
    return NPOS;
}

static size_t clause_end(const char *lower, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (lower[i] == '?' || lower[i] == ';' ||
            (lower[i] == ',' && (i + 1 == to || lower[i + 1] == ' ')))
            return i;
    return to;
}

static const char *const wh_words[] = {
    "how", "what", "which", "why", "when", "where", "who", "whom", "whose",
    "whether", "does", "do", "is", "are", "can", "should", "must", NULL,
};

/* Cut the question into at most RAG_QPARTS_MAX parts; returns how many
 * (0: one part, the whole question). */
static size_t split_parts(const char *lower, size_t n, span *parts, int *comparison)
{
    static const char *const cmp_seps[] = {"and", "with", "to", "against", NULL};
    static const char *const vs[] = {"vs", "versus", "differ", "differs",
                                     "compared", "contrasted", NULL};
    size_t a, b;

    *comparison = 0;
    if ((a = find_word(lower, 0, n, "between")) != NPOS &&
        (b = find_word(lower, a + 7, n, "and")) != NPOS) {
        parts[0] = (span){a + 7, b};
        parts[1] = (span){b + 3, clause_end(lower, b + 3, n)};
        *comparison = 1;
        return 2;
    }
    if ((a = find_word(lower, 0, n, "compare")) != NPOS)
        for (int k = 0; cmp_seps[k]; k++)
            if ((b = find_word(lower, a + 7, n, cmp_seps[k])) != NPOS) {
                size_t from = b + strlen(cmp_seps[k]);
                parts[0] = (span){a + 7, b};
                parts[1] = (span){from, clause_end(lower, from, n)};
                *comparison = 1;
                return 2;
            }
    for (int k = 0; vs[k]; k++) {
        size_t from;
        if ((a = find_word(lower, 0, n, vs[k])) == NPOS)
            continue;
        from = a + strlen(vs[k]);
        if (from < n && lower[from] == '.')
            from++;
        while (from < n && lower[from] == ' ')
            from++;
        if (!strncmp(lower + from, "from ", 5) || !strncmp(lower + from, "with ", 5))
            from += 5;
        else if (!strncmp(lower + from, "to ", 3))
            from += 3;
        if (clause_end(lower, from, n) <= from || a == 0)
            break;
        parts[0] = (span){0, a};
        parts[1] = (span){from, clause_end(lower, from, n)};
        *comparison = 1;
        return 2;
    }
    {
        size_t np = 0, start = 0;
        for (size_t i = 0; i < n && np < RAG_QPARTS_MAX - 1; i++) {
            size_t cut = 0, next = 0;
            if (lower[i] == '?') {
                size_t j = i + 1;
                while (j < n && isspace((unsigned char)lower[j]))
                    j++;
                if (j < n && isalnum((unsigned char)lower[j])) {
                    cut = i;
                    next = j;
                }
            } else if (i > 0 && lower[i - 1] == ' ' && !strncmp(lower + i, "and ", 4)) {
                size_t j = i + 4;
                for (int k = 0; wh_words[k]; k++) {
                    size_t wl = strlen(wh_words[k]);
                    if (j + wl < n && !strncmp(lower + j, wh_words[k], wl) &&
                        lower[j + wl] == ' ') {
                        cut = i;
                        next = j;
                        break;
                    }
                }
            }
            if (next) {
                parts[np++] = (span){start, cut};
                start = next;
                i = next - 1;
            }
        }
        if (np == 0)
            return 0;
        parts[np++] = (span){start, n};
        return np;
    }
}

/* "what is the ATTR of ENTITY" (ATTR one to three words right after it):
 * ATTR's byte span, or 0. */
static int attr_span(const char *lower, size_t n, span *attr)
{
    static const char *const leads[] = {
        "what is the ", "what are the ", "what was the ", "what were the ",
        "which is the ", "which are the ", "who is the ", "who are the ",
        "when is the ", "when was the ", NULL,
    };
    size_t the = NPOS, of;
    int words = 0;
    for (int k = 0; leads[k] && the == NPOS; k++)
        if (!strncmp(lower, leads[k], strlen(leads[k])))
            the = strlen(leads[k]) - 4;
    if (the == NPOS || (of = find_word(lower, the + 3, n, "of")) == NPOS)
        return 0;
    for (size_t i = the + 4; i < of; i++)
        if (lower[i] != ' ' && lower[i - 1] == ' ')
            words++;
    if (words < 1 || words > 3)
        return 0;
    *attr = (span){the + 3, of};
    return 1;
}

static void copy_part(char *dst, size_t cap, const char *q, span sp)
{
    while (sp.s < sp.e && isspace((unsigned char)q[sp.s]))
        sp.s++;
    while (sp.e > sp.s && (isspace((unsigned char)q[sp.e - 1]) || q[sp.e - 1] == '?' ||
                           q[sp.e - 1] == ','))
        sp.e--;
    if (sp.e - sp.s >= cap)
        sp.e = sp.s + rag_utf8_floor(q + sp.s, cap - 1);
    memcpy(dst, q + sp.s, sp.e - sp.s);
    dst[sp.e - sp.s] = '\0';
}

/* 1 if source bytes s..e change from a lower-case to an upper-case letter */
static int camel(const char *q, size_t s, size_t e)
{
    for (size_t i = s + 1; i < e; i++)
        if (islower((unsigned char)q[i - 1]) && isupper((unsigned char)q[i]))
            return 1;
    return 0;
}

static int has_connector(const char *q, size_t s, size_t e)
{
    for (size_t i = s; i < e; i++)
        if (q[i] == '.' || q[i] == '_' || q[i] == ':' || q[i] == '-')
            return 1;
    return 0;
}

const char *rag_atype_name(rag_atype t)
{
    static const char *const names[] = {"", "person", "date", "number", "version", "event",
                                        "size"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "";
}

/* The question words decide; the first that fits wins. lower is the
 * question in lower case. */
static rag_atype answer_type(const char *lower, size_t n)
{
    static const struct {
        const char *w;
        rag_atype t;
    } leads[] = {
        {"who", RAG_ATYPE_PERSON},          {"whom", RAG_ATYPE_PERSON},
        {"which author", RAG_ATYPE_PERSON}, {"which authors", RAG_ATYPE_PERSON},
        {"what year", RAG_ATYPE_DATE},      {"which year", RAG_ATYPE_DATE},
        {"what date", RAG_ATYPE_DATE},      {"which date", RAG_ATYPE_DATE},
        {"when", RAG_ATYPE_DATE},           {"how many", RAG_ATYPE_NUMBER},
        {"how much", RAG_ATYPE_NUMBER},     {"which version", RAG_ATYPE_VERSION},
        {"which versions", RAG_ATYPE_VERSION}, {"what version", RAG_ATYPE_VERSION},
        {"what versions", RAG_ATYPE_VERSION},  {"which event", RAG_ATYPE_EVENT},
        {"what event", RAG_ATYPE_EVENT},    {"how large", RAG_ATYPE_SIZE},
        {"how big", RAG_ATYPE_SIZE},        {"how wide", RAG_ATYPE_SIZE},
    };
    /* "which privileged architecture version(s)", "what year": the head
     * noun within four words of which / what */
    static const struct {
        const char *w;
        rag_atype t;
    } heads[] = {
        {"version", RAG_ATYPE_VERSION}, {"versions", RAG_ATYPE_VERSION},
        {"year", RAG_ATYPE_DATE},       {"date", RAG_ATYPE_DATE},
        {"author", RAG_ATYPE_PERSON},   {"authors", RAG_ATYPE_PERSON},
        {"event", RAG_ATYPE_EVENT},     {"conference", RAG_ATYPE_EVENT},
        {"workshop", RAG_ATYPE_EVENT},
        {"size", RAG_ATYPE_SIZE},       {"width", RAG_ATYPE_SIZE},
    };
    size_t best = NPOS;
    rag_atype t = RAG_ATYPE_NONE;
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        if (i > 0 && lower[i - 1] != ' ')
            continue;
        if (strncmp(lower + i, "which ", 6) && strncmp(lower + i, "what ", 5))
            continue;
        j = i + (lower[i + 2] == 'i' ? 6 : 5);
        for (int w = 0; w < 4 && j < n; w++) {
            size_t e = j;
            while (e < n && lower[e] != ' ' && lower[e] != '?' && lower[e] != ',')
                e++;
            for (size_t k = 0; k < sizeof heads / sizeof heads[0]; k++)
                if (e - j == strlen(heads[k].w) && !strncmp(lower + j, heads[k].w, e - j))
                    return heads[k].t;
            if (e >= n || lower[e] != ' ')
                break;
            j = e + 1;
        }
    }
    /* else the question's first question word decides: "Which ABI name
     * ... and who saves it?" asks for a name, not a person */
    for (int k = 0; wh_words[k]; k++) {
        size_t at = find_word(lower, 0, n, wh_words[k]);
        if (at != NPOS && (best == NPOS || at < best))
            best = at;
    }
    for (size_t k = 0; k < sizeof leads / sizeof leads[0]; k++) {
        size_t at = find_word(lower, 0, n, leads[k].w);
        if (at != best)
            continue;
        t = leads[k].t;
        break;
    }
    return t;
}

/* Numbers the question holds ("2011", "1.7"), so that an answer's number
 * is not the question's own. */
static void question_numbers(const char *q, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t e = i;
        int vee = i == 1 || (i > 1 && !isalnum((unsigned char)q[i - 2]));
        /* "v1.7" is version 1.7; "RV32", "x1" and the ".7" of "1.7" are no
         * numbers of their own */
        if (!isdigit((unsigned char)q[i]) ||
            (i > 0 && (q[i - 1] == '.' ||
                       (isalnum((unsigned char)q[i - 1]) &&
                        !(vee && (q[i - 1] == 'v' || q[i - 1] == 'V'))))))
            continue;
        while (e < n && (isdigit((unsigned char)q[e]) ||
                         (q[e] == '.' && e + 1 < n && isdigit((unsigned char)q[e + 1]))))
            e++;
        if (e < n && isalpha((unsigned char)q[e]))
            continue;   /* "Sv39", "2nd": a name, not a number */
        list_add(out, cap, q + i, e - i);
        i = e;
    }
}

/* "version 3.0", "v1.12": the version the question names, into out. */
static void named_version(const char *lower, size_t n, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t j;
        if (i > 0 && isalnum((unsigned char)lower[i - 1]))
            continue;
        if (!strncmp(lower + i, "version ", 8))
            j = i + 8;
        else if (lower[i] == 'v' && i + 1 < n && isdigit((unsigned char)lower[i + 1]))
            j = i + 1;
        else
            continue;
        if (j < n && isdigit((unsigned char)lower[j])) {
            size_t e = j;
            while (e < n && (isdigit((unsigned char)lower[e]) ||
                             (lower[e] == '.' && e + 1 < n && isdigit((unsigned char)lower[e + 1]))))
                e++;
            if (e - j < cap && (e >= n || !isalpha((unsigned char)lower[e]))) {
                memcpy(out, lower + j, e - j);
                out[e - j] = '\0';
                return;
            }
        }
    }
}

typedef struct {
    qtoken toks[MAX_TOKENS];
    qtoken pieces[16];
    word_set stop, generic, concrete;
} build_scratch;

static int build(rag_qterms *out, rag_analyzer *an, const char *query,
                 const lookup_ctx *lc, rag_err *err)
{
    size_t qn = strlen(query), n_sp;
    build_scratch *sc = rag_calloc(1, sizeof *sc);
    char *lower = rag_malloc(qn + 1);
    tok_list tl;
    span parts[RAG_QPARTS_MAX], attr = {0, 0};
    int rc = RAG_OK, has_attr, entity = 0;

    memset(out, 0, sizeof *out);
    out->n_parts = 1;
    if (!sc || !lower)
        goto oom;
    tl = (tok_list){sc->toks, 0, MAX_TOKENS};
    for (size_t i = 0; i <= qn; i++)
        lower[i] = (char)tolower((unsigned char)query[i]);
    if (rag_analyzer_run(an, topicless_words, sizeof topicless_words - 1, collect_word,
                         &sc->stop) < 0 ||
        rag_analyzer_run(an, generic_attr_words, sizeof generic_attr_words - 1,
                         collect_word, &sc->generic) < 0 ||
        rag_analyzer_run(an, concrete_attr_words, sizeof concrete_attr_words - 1,
                         collect_word, &sc->concrete) < 0 ||
        rag_analyzer_run(an, query, qn, collect_token, &tl) < 0)
        goto oom;
    n_sp = split_parts(lower, qn, parts, &out->comparison);
    if (n_sp) {
        out->n_parts = n_sp;
        for (size_t p = 0; p < n_sp; p++)
            copy_part(out->part_text[p], sizeof out->part_text[p], query, parts[p]);
    } else {
        copy_part(out->part_text[0], sizeof out->part_text[0], query, (span){0, qn});
    }
    has_attr = attr_span(lower, qn, &attr);
    out->atype = answer_type(lower, qn);
    for (size_t p = 0; n_sp > 1 && p < n_sp; p++)
        out->part_atype[p] = answer_type(lower + parts[p].s, parts[p].e - parts[p].s);
    named_version(lower, qn, out->version, sizeof out->version);
    question_numbers(query, qn, out->numbers, sizeof out->numbers);
    for (size_t i = 0; i < tl.n; i++) {
        const qtoken *t = &sc->toks[i];
        size_t j = i + 1;
        unsigned bits = 0;
        int split = 0, is_attr;
        if (t->colocated)
            continue;
        while (j < tl.n && sc->toks[j].colocated)
            j++;
        for (size_t p = 0; p < n_sp; p++)
            if (t->s >= parts[p].s && t->s < parts[p].e)
                bits |= 1u << p;
        if (!bits)
            bits = (1u << out->n_parts) - 1;
        if (in_set(&sc->stop, t->term)) {
            char word[RAG_ANALYZER_MAX_TERM_BYTES + 1];
            snprintf(word, sizeof word, "%.*s", (int)(t->e - t->s), query + t->s);
            for (char *c = word; *c; c++)
                *c = (char)tolower((unsigned char)*c);
            if (!strstr(out->ignored, word))
                list_add(out->ignored, sizeof out->ignored, word, strlen(word));
            continue;
        }
        is_attr = (has_attr && t->s >= attr.s && t->s < attr.e) ||
                  in_set(&sc->concrete, t->term) ||
                  (!strcmp(t->term, "old") && t->s >= 4 &&
                   !strncmp(lower + t->s - 4, "how ", 4));
        if ((j > i + 1 && has_connector(query, t->s, t->e)) ||
            (j == i + 1 && camel(query, t->s, t->e))) {
            int64_t nd = 0;
            rc = lookup(lc, t->term, &nd, err);
            if (rc < 0)
                goto done;
            split = nd == 0;
        }
        if (split && j > i + 1) {
            for (size_t k = i + 1; k < j; k++)
                if (!in_set(&sc->stop, sc->toks[k].term) &&
                    add_qterm(out, sc->toks[k].term, bits,
                              is_attr && !in_set(&sc->generic, sc->toks[k].term), 1) < 0)
                    goto oom;
        } else if (split) {
            /* CamelCase: each capitalised piece analysed on its own */
            size_t ps = t->s;
            for (size_t k = t->s + 1; k <= t->e; k++) {
                tok_list pl = {sc->pieces, 0, 16};
                if (k < t->e && !(islower((unsigned char)query[k - 1]) &&
                                  isupper((unsigned char)query[k])))
                    continue;
                if (rag_analyzer_run(an, query + ps, k - ps, collect_token, &pl) < 0)
                    goto oom;
                for (size_t m = 0; m < pl.n; m++)
                    if (!pl.items[m].colocated && !in_set(&sc->stop, pl.items[m].term) &&
                        add_qterm(out, pl.items[m].term, bits,
                                  is_attr && !in_set(&sc->generic, pl.items[m].term), 1) < 0)
                        goto oom;
                ps = k;
            }
        } else if (add_qterm(out, t->term, bits,
                             is_attr && (!in_set(&sc->generic, t->term) ||
                                         in_set(&sc->concrete, t->term)),
                             0) < 0) {
            goto oom;
        }
        if (split)
            list_add(out->split, sizeof out->split, query + t->s, t->e - t->s);
    }
    /* an attribute with no entity after it is no attribute question */
    for (size_t k = 0; k < out->n; k++)
        entity |= !out->items[k].attr;
    if (!entity)
        for (size_t k = 0; k < out->n; k++)
            out->items[k].attr = 0;
    rc = RAG_OK;
    goto done;
oom:
    rc = rag_fail(err, RAG_ENOMEM, "out of memory analysing the question");
done:
    rag_free(sc);
    rag_free(lower);
    if (rc < 0)
        rag_qterms_fini(out);
    return rc;
}

int rag_qterms_analyze(rag_qterms *out, rag_analyzer *an, const char *query,
                       int absent_compounds, rag_err *err)
{
    lookup_ctx lc = {NULL, absent_compounds};
    int rc = build(out, an, query, &lc, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < out->n; i++) {
        out->items[i].n_docs = 1;
        out->items[i].idf = 1.0;
    }
    out->idf_total = (double)out->n;
    return RAG_OK;
}

int rag_qterms_build(rag_qterms *out, rag_index *ix, const char *query, rag_err *err)
{
    rag_analyzer *an = rag_index_analyzer(ix);
    lookup_ctx lc = {ix, 0};
    int64_t n_total;
    int rc;

    rc = build(out, an, query, &lc, err);
    if (rc < 0)
        return rc;
    n_total = rag_index_n_chunks(ix);
    if (n_total < 0)
        n_total = 0;
    for (size_t i = 0; i < out->n; i++) {
        rag_qterm *t = &out->items[i];
        rc = rag_index_term_docs(ix, t->term, &t->n_docs, err);
        if (rc < 0) {
            rag_qterms_fini(out);
            return rc;
        }
        t->idf = log(1.0 + ((double)n_total - (double)t->n_docs + 0.5) /
                               ((double)t->n_docs + 0.5));
        out->idf_total += t->idf;
    }
    return RAG_OK;
}

void rag_qterms_fini(rag_qterms *q)
{
    for (size_t i = 0; i < q->n; i++)
        rag_free(q->items[i].term);
    memset(q, 0, sizeof *q);
}

double rag_qterms_share(const rag_qterms *q, uint64_t mask, uint64_t matched)
{
    double all = 0, got = 0;
    for (size_t i = 0; i < q->n; i++) {
        uint64_t bit = (uint64_t)1 << i;
        if (!(mask & bit))
            continue;
        all += q->items[i].idf;
        if (matched & bit)
            got += q->items[i].idf;
    }
    return all > 0 ? got / all : 0.0;
}

uint64_t rag_qterms_part_mask(const rag_qterms *q, size_t p)
{
    uint64_t m = 0;
    for (size_t i = 0; i < q->n; i++)
        if (q->items[i].parts & (1u << p))
            m |= (uint64_t)1 << i;
    return m;
}

/* ---- coverage and the gate ----------------------------------------------- */

/* "rare": in at most this many chunks */
#ifndef RARE_DOCS
#define RARE_DOCS 8
#endif

typedef struct {
    const rag_qterms *q;
    uint64_t matched;
} cover_ctx;

static int match_term(void *ctx, const char *term, size_t n, size_t s, size_t e,
                      int colocated)
{
    cover_ctx *c = ctx;
    uint64_t h = rag_hash64(term, n);
    (void)s;
    (void)e;
    (void)colocated;
    for (size_t i = 0; i < c->q->n; i++)
        if (c->q->items[i].hash == h && !strncmp(c->q->items[i].term, term, n) &&
            c->q->items[i].term[n] == '\0')
            c->matched |= (uint64_t)1 << i;
    return 0;
}

int rag_qterms_coverage(const rag_qterms *q, rag_analyzer *an, const char *text,
                        size_t n_bytes, double *coverage, uint64_t *matched)
{
    cover_ctx c = {q, 0};
    double sum = 0;
    int rc = rag_analyzer_run(an, text, n_bytes, match_term, &c);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < q->n; i++)
        if (c.matched & ((uint64_t)1 << i))
            sum += q->items[i].idf;
    *coverage = q->idf_total > 0 ? sum / q->idf_total : 0.0;
    if (matched)
        *matched = c.matched;
    return RAG_OK;
}

/* Case-insensitive: "version N" (any spaces) or "vN" not followed by a
 * digit or '.', as a word. */
static int mentions_version(const char *s, const char *v)
{
    size_t vl = strlen(v);
    for (size_t i = 0; s[i]; i++) {
        size_t j;
        if (i > 0 && isalnum((unsigned char)s[i - 1]))
            continue;
        if (!strncasecmp(s + i, "version", 7)) {
            j = i + 7;
            while (isspace((unsigned char)s[j]))
                j++;
        } else if ((s[i] == 'v' || s[i] == 'V') && isdigit((unsigned char)s[i + 1])) {
            j = i + 1;
        } else {
            continue;
        }
        if (!strncmp(s + j, v, vl) && !isdigit((unsigned char)s[j + vl]) &&
            !(s[j + vl] == '.' && isdigit((unsigned char)s[j + vl + 1])))
            return 1;
    }
    return 0;
}

/* The version the question names is a checked hit's document version,
 * or its title or text mentions it. */
static int version_found(const rag_qterms *q, const rag_hits *hits, size_t n_check)
{
    for (size_t i = 0; i < hits->n && i < n_check; i++) {
        const rag_chunk_row *r = &hits->items[i].row;
        if ((r->version && !strcmp(r->version, q->version)) ||
            mentions_version(r->title, q->version) || mentions_version(r->text, q->version))
            return 1;
    }
    return 0;
}

typedef struct {
    const char *want;
    size_t n;
    int found;
} term_find;

static int find_term(void *ctx, const char *term, size_t n, size_t s, size_t e, int colocated)
{
    term_find *f = ctx;
    (void)s;
    (void)e;
    (void)colocated;
    if (n == f->n && !memcmp(term, f->want, n))
        f->found = 1;
    return 0;
}

/* An ordinal of the question ("the 20th principle") that no checked
 * passage about the rest of the question holds, neither as the ordinal
 * nor as its bare number: the question's term, or NULL. */
static const char *missing_ordinal(const rag_qterms *q, rag_analyzer *an, const rag_hits *hits,
                                   size_t n_check)
{
    for (size_t k = 0; k < q->n; k++) {
        const char *t = q->items[k].term;
        size_t d = 0, tl = strlen(t);
        int found = 0;
        while (isdigit((unsigned char)t[d]))
            d++;
        if (d == 0 || tl != d + 2 ||
            (strcmp(t + d, "st") && strcmp(t + d, "nd") && strcmp(t + d, "rd") &&
             strcmp(t + d, "th")))
            continue;
        for (size_t i = 0; i < hits->n && i < n_check && !found; i++) {
            const char *text = hits->items[i].row.text;
            term_find f1 = {t, tl, 0}, f2 = {t, d, 0};
            uint64_t m = 0;
            double cov = 0;
            if (rag_analyzer_run(an, text, strlen(text), find_term, &f1) < 0 ||
                rag_analyzer_run(an, text, strlen(text), find_term, &f2) < 0 ||
                rag_qterms_coverage(q, an, text, strlen(text), &cov, &m) < 0)
                return NULL;   /* out of memory: no verdict */
            /* in a passage about the rest of the question (a reference
             * list's "20th Annual Symposium" is not) */
            found = (f1.found || f2.found) &&
                    rag_qterms_share(q, ~((uint64_t)1 << k), m) >= 0.5;
        }
        if (!found)
            return t;
    }
    return NULL;
}

int rag_gate_check(const rag_qterms *q, rag_analyzer *an, const rag_hits *hits,
                   const rag_gate_opts *opts, double *best_coverage,
                   rag_gate_report *rep, rag_err *err)
{
    rag_gate_report local;
    uint64_t attr_mask = 0, best_matched = 0, digit_mask = 0, seen = 0, rare_mask = 0;
    int attr_found = 0, any_part = 0;
    const char *ord;

    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    rep->threshold = opts->min_coverage;
    rep->n_parts = q->n_parts;
    memcpy(rep->ignored, q->ignored, sizeof rep->ignored);
    memcpy(rep->split, q->split, sizeof rep->split);
    memcpy(rep->part_text, q->part_text, sizeof rep->part_text);
    *best_coverage = 0;
    for (size_t i = 0; i < q->n; i++) {
        if (q->items[i].attr)
            attr_mask |= (uint64_t)1 << i;
        /* a number or numbered name ("Sv72", "3.0", "2030") that no
         * retrieved passage holds, and that is rare in the index: the
         * question asks about something the documents do not have */
        if (strpbrk(q->items[i].term, "0123456789"))
            digit_mask |= (uint64_t)1 << i;
        if (q->items[i].n_docs <= RARE_DOCS)
            rare_mask |= (uint64_t)1 << i;
    }
    if (q->n == 0 || hits->n == 0) {
        snprintf(rep->reason, sizeof rep->reason, "%s",
                 q->n == 0 ? "the question has no searchable term"
                           : "nothing in the index matches");
        for (size_t i = 0; i < q->n; i++)
            list_add(rep->missing, sizeof rep->missing, q->items[i].term,
                     strlen(q->items[i].term));
        return 0;
    }
    for (size_t i = 0; i < hits->n && i < opts->n_check; i++) {
        const rag_chunk_row *r = &hits->items[i].row;
        rag_buf all = RAG_BUF_INIT;
        double cov = 0;
        uint64_t matched = 0;
        int rc;
        /* The section path and title are searchable too, so they count. */
        rc = rag_buf_printf(&all, "%s\n%s\n%s", r->title, r->section, r->text);
        if (rc == RAG_OK)
            rc = rag_qterms_coverage(q, an, all.data, all.len, &cov, &matched);
        rag_buf_fini(&all);
        if (rc < 0)
            return rag_fail(err, rc, "out of memory in the relevance gate");
        seen |= matched;
        if (cov > rep->coverage || i == 0) {
            rep->coverage = cov;
            rep->best_hit = i;
            best_matched = matched;
        }
        for (size_t p = 0; q->n_parts > 1 && p < q->n_parts; p++) {
            double pc = rag_qterms_share(q, rag_qterms_part_mask(q, p), matched);
            if (pc > rep->part_coverage[p])
                rep->part_coverage[p] = pc;
        }
        if (attr_mask && (matched & attr_mask) &&
            rag_qterms_share(q, ~attr_mask, matched) >= 0.5)
            attr_found = 1;
    }
    if (q->n_parts <= 1)
        rep->part_coverage[0] = rep->coverage;
    for (size_t i = 0; i < q->n; i++)
        if (!(best_matched & ((uint64_t)1 << i)))
            list_add(rep->missing, sizeof rep->missing, q->items[i].term,
                     strlen(q->items[i].term));
    for (size_t p = 0; q->n_parts > 1 && p < q->n_parts; p++)
        any_part |= rep->part_coverage[p] >= opts->min_coverage;
    *best_coverage = rep->coverage;
    rep->relevant = rep->coverage >= opts->min_coverage || any_part;
    if (!rep->relevant) {
        snprintf(rep->reason, sizeof rep->reason,
                 "the best passage covers %.2f of the question's weight (threshold %.2f)",
                 rep->coverage, opts->min_coverage);
    } else if (digit_mask & ~seen & rare_mask) {
        char names[128] = "";
        for (size_t i = 0; i < q->n; i++)
            if ((digit_mask & ~seen & rare_mask) & ((uint64_t)1 << i))
                list_add(names, sizeof names, q->items[i].term, strlen(q->items[i].term));
        snprintf(rep->reason, sizeof rep->reason,
                 "the question names %s, which no indexed passage contains", names);
        rep->relevant = 0;
    } else if (q->version[0] && !version_found(q, hits, opts->n_check)) {
        snprintf(rep->reason, sizeof rep->reason,
                 "the question names version %s, which no retrieved document is or mentions",
                 q->version);
        rep->relevant = 0;
    } else if ((ord = missing_ordinal(q, an, hits, opts->n_check)) != NULL) {
        snprintf(rep->reason, sizeof rep->reason,
                 "the question asks for the %s, and no retrieved passage numbers that far",
                 ord);
        rep->relevant = 0;
    } else if (attr_mask && !attr_found) {
        char attr[128] = "";
        for (size_t i = 0; i < q->n; i++)
            if (q->items[i].attr)
                list_add(attr, sizeof attr, q->items[i].term, strlen(q->items[i].term));
        snprintf(rep->reason, sizeof rep->reason,
                 "the asked-for attribute (%s) occurs in no passage about the subject",
                 attr);
        rep->relevant = 0;
    }
    return rep->relevant;
}
