/* answers.c - the answer-quality eval's pieces that need no engine: the
 * answers file (questions with nugget patterns and expected pages), nugget
 * matching, the split of an answer into quoted sentences, the junk
 * classifier, near-duplicates, the AUC and the nugget checker.
 *
 * Running the questions through the engine (docrag_ask, so extractive and
 * LLM answers alike) is src/api/api_eval.c's.
 */
#include "eval.h"
#include "eval_int.h"

#include "ingest/ingest.h"

#include <ctype.h>
#include <jansson.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- kinds ---------------------------------------------------------------- */

static const char *const answerable_kinds[] = {
    "definition", "value", "procedure", "list", "comparison", "multi-hop", "version",
};
static const char *const refusal_kinds[] = {"off-topic", "near-miss", "absent-attribute"};

int rag_ans_kind_answerable(const char *kind)
{
    for (size_t i = 0; i < sizeof answerable_kinds / sizeof *answerable_kinds; i++)
        if (!strcmp(kind, answerable_kinds[i]))
            return 1;
    for (size_t i = 0; i < sizeof refusal_kinds / sizeof *refusal_kinds; i++)
        if (!strcmp(kind, refusal_kinds[i]))
            return 0;
    return -1;
}

/* ---- text ------------------------------------------------------------------ */

/* Length of a citation group "[1]", "[1, 3]", "[2-4]" at s, or 0. */
static size_t cite_len(const char *s)
{
    size_t i = 1, n_digits = 0;
    if (s[0] != '[')
        return 0;
    for (; s[i] && s[i] != ']'; i++) {
        if (isdigit((unsigned char)s[i]))
            n_digits++;
        else if (s[i] != ',' && s[i] != ' ' && s[i] != '-' && s[i] != ';')
            return 0;
    }
    return s[i] == ']' && n_digits ? i + 1 : 0;
}

char *rag_ans_squash(const char *s, size_t n, int strip)
{
    char *o = rag_malloc(n + 1), *w = o;
    int space = 1;
    if (!o)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        size_t cl;
        if (strip && c == '[' && (cl = cite_len(s + i)) && i + cl <= n) {
            i += cl - 1;
            continue;
        }
        if (isspace(c)) {
            if (!space)
                *w++ = ' ';
            space = 1;
        } else {
            *w++ = (char)tolower(c);
            space = 0;
        }
    }
    if (w > o && w[-1] == ' ')
        w--;
    *w = '\0';
    return o;
}

int rag_ans_nugget_match(const rag_nugget *g, const char *squashed)
{
    if (g->is_regex)
        return g->re && regexec(g->re, squashed, 0, NULL, 0) == 0;
    return g->literal && strstr(squashed, g->literal) != NULL;
}

/* ---- loading --------------------------------------------------------------- */

static void nugget_fini(rag_nugget *g)
{
    rag_free(g->text);
    if (g->re) {
        regfree(g->re);
        rag_free(g->re);
    }
    rag_free(g->literal);
    memset(g, 0, sizeof *g);
}

static void ans_item_fini(rag_ans_item *q)
{
    rag_free(q->id);
    rag_free(q->question);
    rag_free(q->kind);
    for (size_t i = 0; i < q->n_sources; i++)
        rag_free(q->sources[i].doc);
    for (size_t i = 0; i < q->n_nuggets; i++)
        nugget_fini(&q->nuggets[i]);
    memset(q, 0, sizeof *q);
}

void rag_ans_set_fini(rag_ans_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++)
        ans_item_fini(&set->items[i]);
    rag_free(set->items);
    rag_free(set->path);
    memset(set, 0, sizeof *set);
}

static const char *jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) && json_string_value(v)[0] ? json_string_value(v) : NULL;
}

/* 0 for a pattern whose compile or match could blow up: a back-reference
 * ("\\1") or a repeat count "{n}" / "{n,m}" above RAG_ANS_MAX_REPEAT. */
static int regex_tame(const char *p)
{
    int n_counts = 0;
    for (; *p; p++) {
        if (p[0] == '\\' && p[1]) {
            if (isdigit((unsigned char)p[1]))
                return 0;
            p++;
            continue;
        }
        if (*p == '{') {
            long v = 0;
            if (++n_counts > 4)
                return 0;
            const char *q = p + 1;
            while (isdigit((unsigned char)*q) || *q == ',') {
                if (*q == ',')
                    v = 0;
                else if ((v = v * 10 + (*q - '0')) > RAG_ANS_MAX_REPEAT)
                    return 0;
                q++;
            }
        }
    }
    return 1;
}

static int nugget_init(rag_nugget *g, const char *text, const char *path, int line,
                       const char *id, size_t i, rag_err *err)
{
    if (!(g->text = rag_strdup(text)))
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
    if (strlen(text) > RAG_ANS_MAX_NUGGET_BYTES)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: nuggets[%zu] is longer than %d bytes",
                        path, line, id, i, RAG_ANS_MAX_NUGGET_BYTES);
    if (!strncmp(text, "re:", 3)) {
        char msg[128];
        char *pat;
        int rc;
        if (!regex_tame(text + 3))
            return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: nuggets[%zu] \"%s\": back-"
                            "references, more than 4 repeat counts and counts above %d "
                            "are not allowed", path, line, id, i, text, RAG_ANS_MAX_REPEAT);
        pat = rag_ans_squash(text + 3, strlen(text + 3), 0);
        g->is_regex = 1;
        if (!pat || !(g->re = rag_malloc(sizeof(regex_t)))) {
            rag_free(pat);
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
        }
        /* the pattern is squashed like the text it meets, so a literal
         * space in it means "one whitespace run" */
        rc = regcomp(g->re, pat, REG_EXTENDED | REG_ICASE | REG_NOSUB);
        rag_free(pat);
        if (rc != 0) {
            regerror(rc, g->re, msg, sizeof msg);
            rag_free(g->re);
            g->re = NULL;
            return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: nuggets[%zu] \"%s\": %s", path,
                            line, id, i, text, msg);
        }
        if (!text[3])
            return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: nuggets[%zu] is an empty regex",
                            path, line, id, i);
        return RAG_OK;
    }
    if (!(g->literal = rag_ans_squash(text, strlen(text), 0)))
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
    if (!g->literal[0])
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: nuggets[%zu] is blank", path, line,
                        id, i);
    return RAG_OK;
}

static int source_from_json(rag_ans_source *s, json_t *o, const char *path, int line,
                            const char *id, size_t i, rag_err *err)
{
    const char *doc = json_is_object(o) ? jstr(o, "doc") : NULL;
    json_t *pages = json_is_object(o) ? json_object_get(o, "pages") : NULL;
    size_t n;
    if (!doc || !json_is_array(pages))
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: sources[%zu] needs a \"doc\" string "
                        "and a \"pages\" array", path, line, id, i);
    n = json_array_size(pages);
    if (n == 0 || n > RAG_QA_MAX_PAGES)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: sources[%zu].pages needs 1 to %d "
                        "pages", path, line, id, i, RAG_QA_MAX_PAGES);
    if (!(s->doc = rag_strdup(doc)))
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
    for (size_t p = 0; p < n; p++) {
        json_t *v = json_array_get(pages, p);
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > 1000000)
            return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: sources[%zu].pages[%zu] must be "
                            "an integer >= 1 (1-based page)", path, line, id, i, p);
        s->pages[p] = (int)json_integer_value(v);
        s->n_pages = p + 1;
    }
    return RAG_OK;
}

static int ans_item_from_json(rag_ans_item *q, json_t *o, const char *path, int line,
                              rag_err *err)
{
    const char *id = jstr(o, "id"), *question = jstr(o, "question"), *kind = jstr(o, "kind");
    json_t *sources = json_object_get(o, "sources"), *nuggets = json_object_get(o, "nuggets");
    json_t *answerable = json_object_get(o, "answerable");
    int want;
    int rc;

    q->line = line;
    if (!id || !question || !kind)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: needs non-empty \"id\", \"question\" "
                        "and \"kind\" strings", path, line);
    if ((want = rag_ans_kind_answerable(kind)) < 0)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: unknown kind \"%s\" (definition, "
                        "value, procedure, list, comparison, multi-hop, version; off-topic, "
                        "near-miss, absent-attribute)", path, line, id, kind);
    if (answerable && !json_is_boolean(answerable))
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: \"answerable\" must be true or false",
                        path, line, id);
    q->answerable = answerable ? json_is_true(answerable) : 1;
    if (q->answerable != want)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: kind \"%s\" is for %s",
                        path, line, id, kind, want ? "answerable questions (drop "
                        "\"answerable\": false)" : "questions that must be refused "
                        "(add \"answerable\": false)");
    if (!(q->id = rag_strdup(id)) || !(q->question = rag_strdup(question)) ||
        !(q->kind = rag_strdup(kind)))
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
    if (sources && !json_is_array(sources))
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: \"sources\" must be an array", path,
                        line, id);
    if (nuggets && !json_is_array(nuggets))
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: \"nuggets\" must be an array", path,
                        line, id);
    if (!q->answerable) {
        if (json_array_size(nuggets) || json_array_size(sources))
            return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: a question that must be refused "
                            "has no \"nuggets\" or \"sources\"", path, line, id);
        return RAG_OK;
    }
    if (json_array_size(sources) < 1 || json_array_size(sources) > RAG_ANS_MAX_SOURCES)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: \"sources\" needs 1 to %d entries",
                        path, line, id, RAG_ANS_MAX_SOURCES);
    if (json_array_size(nuggets) < 1 || json_array_size(nuggets) > RAG_ANS_MAX_NUGGETS)
        return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: \"nuggets\" needs 1 to %d patterns",
                        path, line, id, RAG_ANS_MAX_NUGGETS);
    for (size_t i = 0; i < json_array_size(sources); i++) {
        q->n_sources = i + 1;
        rc = source_from_json(&q->sources[i], json_array_get(sources, i), path, line, id, i,
                              err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; i < json_array_size(nuggets); i++) {
        json_t *g = json_array_get(nuggets, i);
        if (!json_is_string(g) || !json_string_value(g)[0])
            return rag_fail(err, RAG_EFORMAT, "%s:%d: %s: nuggets[%zu] must be a non-empty "
                            "string", path, line, id, i);
        q->n_nuggets = i + 1;
        rc = nugget_init(&q->nuggets[i], json_string_value(g), path, line, id, i, err);
        if (rc < 0)
            return rc;
    }
    return RAG_OK;
}

static int ans_fill(void *item, json_t *o, const char *path, int lineno, rag_err *err)
{
    return ans_item_from_json(item, o, path, lineno, err);
}

static const char *ans_id(const void *item)
{
    return ((const rag_ans_item *)item)->id;
}

static int ans_line(const void *item)
{
    return ((const rag_ans_item *)item)->line;
}

int rag_ans_load(rag_ans_set *out, const char *path, rag_err *err)
{
    static const eval_items_kind kind = {"the answers file", sizeof(rag_ans_item), ans_fill, ans_id,
                                         ans_line};
    void *items = NULL;
    int rc;

    memset(out, 0, sizeof *out);
    if (!(out->path = rag_strdup(path)))
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    rc = eval_items_load(&kind, path, &items, &out->n, err);
    out->items = items;
    return rc;
}

/* ---- sentences -------------------------------------------------------------- */

void rag_ans_sentences_fini(rag_ans_sentences *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        rag_free(s->items[i]);
    rag_free(s->items);
    s->items = NULL;
    s->n = 0;
}

/* Append text[0..n) squashed (case kept, citations out) unless blank. */
static int push_sentence(rag_ans_sentences *out, size_t *cap, const char *text, size_t n)
{
    char *s = rag_malloc(n + 1), *w = s;
    int space = 1;
    if (!s)
        return RAG_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        size_t cl;
        if (c == '[' && (cl = cite_len(text + i)) && i + cl <= n) {
            i += cl - 1;
            continue;
        }
        if (isspace(c)) {
            if (!space)
                *w++ = ' ';
            space = 1;
        } else {
            *w++ = (char)c;
            space = 0;
        }
    }
    if (w > s && w[-1] == ' ')
        w--;
    *w = '\0';
    if (!s[0]) {
        rag_free(s);
        return RAG_OK;
    }
    if (out->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        char **ni = rag_realloc(out->items, nc * sizeof *ni);
        if (!ni) {
            rag_free(s);
            return RAG_ENOMEM;
        }
        out->items = ni;
        *cap = nc;
    }
    out->items[out->n++] = s;
    return RAG_OK;
}

int rag_ans_split(rag_ans_sentences *out, const char *answer, rag_err *err)
{
    size_t n = strlen(answer), cap = 0, start = 0;
    int has_cites = 0;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n && !has_cites; i++)
        has_cites = answer[i] == '[' && cite_len(answer + i) != 0;
    for (size_t i = 0; i < n; i++) {
        size_t end = 0, cl;
        if (has_cites && answer[i] == '[' && (cl = cite_len(answer + i))) {
            /* a run of groups "[1][2]" closes one sentence */
            end = i + cl;
            while (answer[end] == '[' && (cl = cite_len(answer + end)))
                end += cl;
            /* trailing punctuation after the citation belongs to it */
            while (answer[end] == '.' || answer[end] == ',' || answer[end] == ';')
                end++;
        } else if (!has_cites && (answer[i] == '.' || answer[i] == '?' || answer[i] == '!') &&
                   (answer[i + 1] == '\0' || isspace((unsigned char)answer[i + 1])) &&
                   !(i > 0 && isdigit((unsigned char)answer[i - 1]) &&
                     i + 2 < n && isdigit((unsigned char)answer[i + 2]))) {
            end = i + 1;
        } else if (answer[i] == '\n' && i + 1 < n && answer[i + 1] == '\n') {
            end = i + 1;   /* paragraph break */
        }
        if (!end)
            continue;
        if (push_sentence(out, &cap, answer + start, end - start) < 0) {
            rag_ans_sentences_fini(out);
            return rag_fail(err, RAG_ENOMEM, "out of memory");
        }
        start = end;
        i = end - 1;
    }
    if (start < n && push_sentence(out, &cap, answer + start, n - start) < 0) {
        rag_ans_sentences_fini(out);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    return RAG_OK;
}

/* ---- junk -------------------------------------------------------------------- */

const char *rag_ans_junk_name(rag_junk_kind k)
{
    switch (k) {
    case RAG_JUNK_NONE: return "prose";
    case RAG_JUNK_HEADING: return "heading";
    case RAG_JUNK_CAPTION: return "caption";
    case RAG_JUNK_TABLE: return "table row";
    case RAG_JUNK_URL: return "url";
    case RAG_JUNK_REFERENCE: return "reference";
    case RAG_JUNK_FRAGMENT: return "fragment";
    }
    return "?";
}

static int has_ci(const char *s, const char *needle)
{
    size_t n = strlen(needle);
    for (; *s; s++)
        if (!strncasecmp(s, needle, n))
            return 1;
    return 0;
}

/* Length of the run of URL characters at s if it starts a URL, else 0. */
static size_t url_len(const char *s)
{
    size_t i = 0;
    if (strncasecmp(s, "http://", 7) && strncasecmp(s, "https://", 8) &&
        strncasecmp(s, "www.", 4) && strncasecmp(s, "doi.org/", 8))
        return 0;
    while (s[i] && !isspace((unsigned char)s[i]))
        i++;
    return i;
}

typedef struct {
    size_t n_words;        /* whitespace-separated tokens */
    size_t n_prose;        /* lower-case alphabetic words of 3+ letters */
    size_t n_capital;      /* words starting with an upper-case letter */
    size_t n_numeric;      /* tokens that are numbers, hex or symbols */
    size_t n_url_bytes;
} word_stats;

static word_stats stats_of(const char *s)
{
    word_stats w = {0, 0, 0, 0, 0};
    const char *p = s;
    while (*p) {
        const char *b;
        size_t n, n_alpha = 0, n_lower = 0, n_digit = 0, ul;
        while (isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        if ((ul = url_len(p)))
            w.n_url_bytes += ul;
        b = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        n = (size_t)(p - b);
        w.n_words++;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)b[i];
            n_alpha += isalpha(c) != 0;
            n_lower += islower(c) != 0;
            n_digit += isdigit(c) != 0;
        }
        if (isupper((unsigned char)b[0]))
            w.n_capital++;
        if (n_alpha >= 3 && n_lower == n_alpha)
            w.n_prose++;
        else if (n_alpha == 0 || (n_digit && n_digit * 2 >= n_alpha) ||
                 (n <= 2 && !islower((unsigned char)b[0])))
            w.n_numeric++;
    }
    return w;
}

/* "Figure 3", "Fig. 2.1", "Table 7", "Listing 1" at the start. */
static int is_caption(const char *s)
{
    static const char *const lead[] = {"figure ", "fig. ", "table ", "listing ",
                                       "algorithm "};
    for (size_t i = 0; i < sizeof lead / sizeof *lead; i++) {
        size_t n = strlen(lead[i]);
        const char *p = s + n;
        if (strncasecmp(s, lead[i], n) || !isdigit((unsigned char)*p))
            continue;
        while (isdigit((unsigned char)*p) || *p == '.' || *p == '-')
            p++;
        /* "Figure 3.1: ...", "Table 2 Register ..." but not "Figure 6
         * presents ...": a caption's number is followed by ':' or a
         * title-cased word, or the caption ended after "Figure 3." */
        if (*p == ':' || *p == '\0' || p[-1] == '.' ||
            (*p == ' ' && isupper((unsigned char)p[1])))
            return 1;
    }
    return 0;
}

/* "3.2 Machine-Level CSRs ..." or "Chapter 4": a numbered heading. */
static int numbered_heading(const char *s)
{
    const char *p = s;
    int dots = 0;
    if (!strncasecmp(s, "chapter ", 8) && isdigit((unsigned char)s[8]))
        return 1;
    if (!isdigit((unsigned char)*p))
        return 0;
    while (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1]))) {
        dots += *p == '.';
        p++;
    }
    return dots >= 1 && *p == ' ' && isupper((unsigned char)p[1]);
}

static int reference_signals(const char *s)
{
    int n = 0;
    const char *p;
    n += has_ci(s, "et al") != 0;
    n += has_ci(s, "proceedings") || has_ci(s, "symposium") || has_ci(s, "conference") ||
         has_ci(s, "workshop") || has_ci(s, "journal") || has_ci(s, "transactions on");
    n += has_ci(s, " pp. ") || has_ci(s, " vol. ") || has_ci(s, "arxiv") ||
         has_ci(s, "doi:") || has_ci(s, "isbn") || has_ci(s, "tech. rep");
    /* a year in parentheses or ", 2016." */
    for (p = s; *p; p++)
        if ((p[0] == '(' || p[0] == ',' || p[0] == ' ') && (p[1] == '1' || p[1] == '2') &&
            isdigit((unsigned char)p[2]) && isdigit((unsigned char)p[3]) &&
            isdigit((unsigned char)p[4]) && (p[5] == ')' || p[5] == '.' || p[5] == ',') &&
            (p[1] == '2' ? p[2] == '0' : p[2] == '9')) {
            n++;
            break;
        }
    /* initials "A. Waterman," "K. Asanović" */
    for (p = s; *p; p++)
        if (isupper((unsigned char)p[0]) && p[1] == '.' && p[2] == ' ' &&
            isupper((unsigned char)p[3]) && (p == s || p[-1] == ' ' || p[-1] == ',')) {
            n++;
            break;
        }
    return n;
}

rag_junk_kind rag_ans_junk_classify(const char *s)
{
    word_stats w;
    size_t n = strlen(s);
    char last;

    while (*s == ' ')
        s++;
    n = strlen(s);
    if (n == 0)
        return RAG_JUNK_FRAGMENT;
    last = s[n - 1];
    w = stats_of(s);
    if (w.n_url_bytes && (w.n_url_bytes * 10 >= n * 3 || w.n_words <= 6))
        return RAG_JUNK_URL;
    if (is_caption(s))
        return RAG_JUNK_CAPTION;
    if (strstr(s, ". . . .") || strstr(s, "....."))
        return RAG_JUNK_HEADING;   /* a table-of-contents line */
    if (reference_signals(s) >= 2)
        return RAG_JUNK_REFERENCE;
    if (numbered_heading(s))
        return RAG_JUNK_HEADING;
    if (w.n_words < 4)
        return RAG_JUNK_FRAGMENT;
    if (w.n_words >= 4 && w.n_numeric * 2 >= w.n_words)
        return RAG_JUNK_TABLE;
    if (last != '.' && last != '?' && last != '!' && last != ':' && last != ';' &&
        last != ')' && last != '"') {
        /* no sentence end: a title ("Deployed Models Are Monitored ...")
         * or a row of short cells */
        if (w.n_words <= 14 && w.n_capital * 2 > w.n_words)
            return RAG_JUNK_HEADING;
        if (w.n_prose * 3 < w.n_words)
            return RAG_JUNK_TABLE;
    }
    return RAG_JUNK_NONE;
}

/* ---- near-duplicates ----------------------------------------------------------- */

#define DUP_MAX_WORDS 256

/* Lower-case alphanumeric words of s, deduplicated, into words (each at
 * most 31 bytes); returns how many. */
static size_t word_set(const char *s, char words[][32], size_t max)
{
    size_t n = 0;
    while (*s && n < max) {
        char wbuf[32];
        size_t len = 0;
        int seen = 0;
        while (*s && !isalnum((unsigned char)*s))
            s++;
        while (*s && isalnum((unsigned char)*s)) {
            if (len < sizeof wbuf - 1)
                wbuf[len++] = (char)tolower((unsigned char)*s);
            s++;
        }
        if (!len)
            break;
        wbuf[len] = '\0';
        for (size_t i = 0; i < n && !seen; i++)
            seen = !strcmp(words[i], wbuf);
        if (!seen)
            memcpy(words[n++], wbuf, len + 1);
    }
    return n;
}

int rag_ans_near_duplicate(const char *a, const char *b)
{
    static _Thread_local char wa[DUP_MAX_WORDS][32], wb[DUP_MAX_WORDS][32];
    size_t na = word_set(a, wa, DUP_MAX_WORDS), nb = word_set(b, wb, DUP_MAX_WORDS);
    size_t inter = 0, uni, small;

    if (!na || !nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (!strcmp(wa[i], wb[j])) {
                inter++;
                break;
            }
    uni = na + nb - inter;
    small = na < nb ? na : nb;
    if (inter * 10 >= uni * 8)
        return 1;
    return small >= 5 && inter * 10 >= small * 9;
}

/* ---- AUC ---------------------------------------------------------------------- */

double rag_ans_auc(const double *score, const int *label, size_t n)
{
    double wins = 0;
    size_t n_pos = 0, n_neg = 0;
    for (size_t i = 0; i < n; i++) {
        if (label[i])
            n_pos++;
        else
            n_neg++;
    }
    if (!n_pos || !n_neg)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (!label[i])
            continue;
        for (size_t j = 0; j < n; j++) {
            if (label[j])
                continue;
            if (score[i] > score[j])
                wins += 1;
            else if (score[i] == score[j])
                wins += 0.5;
        }
    }
    return wins / ((double)n_pos * (double)n_neg);
}

/* ---- the nugget check ------------------------------------------------------------- */

static void problem(rag_ans_problem_fn fn, void *ctx, const rag_ans_item *q, size_t *n_bad,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void problem(rag_ans_problem_fn fn, void *ctx, const rag_ans_item *q, size_t *n_bad,
                    const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ++*n_bad;
    if (fn)
        fn(ctx, q, msg);
}

/* The extracted documents, one per distinct file name (loaded lazily). */
typedef struct {
    char *name;
    rag_doc *doc;      /* NULL: failed (msg says why) */
    char msg[256];
} doc_slot;

static doc_slot *doc_get(doc_slot *slots, size_t *n_slots, const char *docs_dir,
                         const char *name, const rag_extract_opts *extract, int *oom)
{
    rag_err ferr = {0};
    char *path;
    doc_slot *s;
    for (size_t i = 0; i < *n_slots; i++)
        if (!strcmp(slots[i].name, name))
            return &slots[i];
    s = &slots[(*n_slots)++];
    memset(s, 0, sizeof *s);
    if (!(s->name = rag_strdup(name)) || !(path = rag_asprintf("%s/%s", docs_dir, name))) {
        *oom = 1;
        return s;
    }
    if (rag_extract_file(&s->doc, path, extract, &ferr) < 0) {
        s->doc = NULL;
        *oom = ferr.code == RAG_ENOMEM;
        snprintf(s->msg, sizeof s->msg, "%s", ferr.msg);
    }
    rag_free(path);
    return s;
}

int rag_ans_check(const rag_ans_set *set, const char *docs_dir,
                  const rag_extract_opts *extract, rag_ans_problem_fn fn, void *ctx,
                  size_t *n_bad, size_t *n_checked, rag_err *err)
{
    size_t cap = 0, n_slots = 0;
    doc_slot *slots;
    int oom = 0;

    *n_bad = 0;
    *n_checked = 0;
    for (size_t i = 0; i < set->n; i++)
        cap += set->items[i].n_sources;
    if (!(slots = rag_calloc(cap ? cap : 1, sizeof *slots)))
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    for (size_t i = 0; i < set->n && !oom; i++) {
        const rag_ans_item *q = &set->items[i];
        char *pages[RAG_ANS_MAX_SOURCES * RAG_QA_MAX_PAGES];
        size_t n_pages = 0;
        int usable = 1;
        for (size_t s = 0; s < q->n_sources && !oom; s++) {
            doc_slot *d = doc_get(slots, &n_slots, docs_dir, q->sources[s].doc, extract, &oom);
            if (oom)
                break;
            if (!d->doc) {
                problem(fn, ctx, q, n_bad, "%s: %s", q->sources[s].doc, d->msg);
                usable = 0;
                continue;
            }
            for (size_t p = 0; p < q->sources[s].n_pages && !oom; p++) {
                const rag_page_span *span = NULL;
                for (size_t k = 0; k < d->doc->n_pages && !span; k++)
                    if (d->doc->pages[k].page == q->sources[s].pages[p])
                        span = &d->doc->pages[k];
                if (!span) {
                    problem(fn, ctx, q, n_bad, "%s has %zu pages, no page %d",
                            q->sources[s].doc, d->doc->n_pages, q->sources[s].pages[p]);
                    usable = 0;
                    continue;
                }
                pages[n_pages] = rag_ans_squash(d->doc->text + span->byte_start,
                                                span->byte_end - span->byte_start, 0);
                if (!pages[n_pages])
                    oom = 1;
                else
                    n_pages++;
            }
        }
        for (size_t g = 0; g < q->n_nuggets && usable && !oom; g++) {
            int found = 0;
            for (size_t p = 0; p < n_pages && !found; p++)
                found = rag_ans_nugget_match(&q->nuggets[g], pages[p]);
            ++*n_checked;
            if (!found)
                problem(fn, ctx, q, n_bad, "nugget \"%s\" is on none of its expected pages "
                        "(%s p.%d%s)", q->nuggets[g].text, q->sources[0].doc,
                        q->sources[0].pages[0],
                        q->n_sources > 1 || q->sources[0].n_pages > 1 ? " ..." : "");
        }
        for (size_t p = 0; p < n_pages; p++)
            rag_free(pages[p]);
    }
    for (size_t i = 0; i < n_slots; i++) {
        rag_free(slots[i].name);
        rag_doc_destroy(slots[i].doc);
    }
    rag_free(slots);
    return oom ? rag_fail(err, RAG_ENOMEM, "out of memory") : RAG_OK;
}
