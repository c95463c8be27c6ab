/* acronym.c - a question's acronyms spelled out for the answer's search.
 *
 * Specifications define an acronym once ("The Wait for Interrupt
 * instruction (WFI) provides ...") and use it everywhere else, so the
 * passage that says what WFI is may share no word with "What does WFI do?"
 * but the acronym, which every use of it has too. For each word of the
 * question written in capitals (2 to 8 letters, at most MAX_ACRONYMS), a
 * BM25 search for that word alone gives chunks; in their text every
 * "(WORD)" is looked at, and the words before it whose initials spell the
 * acronym, in order (small words such as "for", "of", "and" may be passed
 * over: "Control and Status Register (CSR)", or give a letter of their
 * own: "Wait for Interrupt (WFI)"), are a long form. The long form found
 * most often is added to the query. Nothing names a term of any corpus:
 * the index is its own glossary.
 */

#include "generate.h"

#include <ctype.h>
#include <string.h>

#define MAX_ACRONYMS 3
#define ACR_MIN 2
#define ACR_MAX RAG_ACRONYM_MAX
/* chunks searched per acronym */
#define ACR_K 10
/* distinct long forms counted per acronym */
#define MAX_FORMS 8
/* a long form is at most this many bytes */
#define FORM_MAX 96

typedef struct {
    char text[FORM_MAX];
    int n;
} form;

static int small_word(const char *w, size_t n)
{
    static const char *const words[] = {"a", "an", "and", "for", "of", "on", "or", "the", "to",
                                        "in", "with", "by", "at"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strlen(words[i]) == n && !strncasecmp(w, words[i], n))
            return 1;
    return 0;
}

/* The word ending at text[end] (spaces before end passed over): its
 * start in *ws and end in *we; 0 at punctuation or the text's start. */
static int word_before(const char *text, size_t end, size_t *ws, size_t *we)
{
    size_t i = end;
    while (i > 0 && text[i - 1] == ' ')
        i--;
    *we = i;
    while (i > 0 && (isalnum((unsigned char)text[i - 1]) || text[i - 1] == '-'))
        i--;
    *ws = i;
    return *we > *ws && (i == 0 || text[i - 1] == ' ');
}

/* The long form that ends right before text[end] (the "(" of "(ACR)"), or
 * 0: its bytes [*s, *e). Words are walked backwards; each gives the
 * acronym's last unmatched letter by its initial, or is passed over when
 * small; any other word or punctuation stops it. The form may end up to
 * SKIP_WORDS words before the bracket ("Wait for Interrupt instruction
 * (WFI)"). */
#define SKIP_WORDS 2
static int long_form(const char *text, size_t end, const char *acr, size_t n_acr, size_t *s,
                     size_t *e)
{
    for (int skip = 0; skip <= SKIP_WORDS; skip++) {
        size_t i = end, ws, we, need = n_acr, words = 0;
        int ok = 1;
        for (int k = 0; k < skip && ok; k++) {
            ok = word_before(text, i, &ws, &we);
            i = ws;
        }
        if (!ok)
            return 0;
        *e = i;
        while (need > 0 && words < 2 * n_acr + 2 && word_before(text, i, &ws, &we)) {
            words++;
            if (toupper((unsigned char)text[ws]) == (unsigned char)acr[need - 1])
                need--;
            else if (!small_word(text + ws, we - ws))
                break;
            if (need == 0 && !small_word(text + ws, we - ws)) {
                *s = ws;
                while (*e > *s && text[*e - 1] == ' ')
                    (*e)--;
                return 1;
            }
            i = ws;
        }
    }
    return 0;
}

static void count_form(form *f, int *n_f, const char *s, size_t n)
{
    char t[FORM_MAX];
    size_t k = 0;
    if (n >= FORM_MAX)
        return;
    for (size_t i = 0; i < n; i++)
        t[k++] = (char)tolower((unsigned char)s[i]);
    t[k] = 0;
    for (int i = 0; i < *n_f; i++)
        if (!strcmp(f[i].text, t)) {
            f[i].n++;
            return;
        }
    if (*n_f < MAX_FORMS) {
        memcpy(f[*n_f].text, t, k + 1);
        f[(*n_f)++].n = 1;
    }
}

int rag_acronym_form(const char *const *texts, size_t n_texts, const char *acr, char *out,
                     size_t n_out)
{
    form f[MAX_FORMS];
    int n_f = 0, top = -1;
    size_t n_acr = strlen(acr);

    if (n_out)
        out[0] = 0;
    if (n_acr < ACR_MIN || n_acr > ACR_MAX)
        return 0;
    for (size_t i = 0; i < n_texts; i++) {
        const char *text = texts[i], *p;
        if (!text)
            continue;
        for (p = strchr(text, '('); p; p = strchr(p + 1, '(')) {
            size_t s, e;
            if (strncmp(p + 1, acr, n_acr) || p[1 + n_acr] != ')')
                continue;
            if (long_form(text, (size_t)(p - text), acr, n_acr, &s, &e))
                count_form(f, &n_f, text + s, e - s);
        }
    }
    for (int i = 0; i < n_f; i++)
        if (top < 0 || f[i].n > f[top].n)
            top = i;
    if (top < 0 || !n_out)
        return 0;
    snprintf(out, n_out, "%s", f[top].text);
    return 1;
}

size_t rag_acronyms_in(const char *question, char (*acrs)[RAG_ACRONYM_MAX + 1], size_t max)
{
    const char *p = question;
    size_t n_found = 0;
    while (*p && n_found < max) {
        const char *s;
        size_t n;
        int caps = 1;
        while (*p && !isalnum((unsigned char)*p))
            p++;
        s = p;
        while (isalnum((unsigned char)*p))
            p++;
        n = (size_t)(p - s);
        if (n < ACR_MIN || n > ACR_MAX)
            continue;
        for (size_t i = 0; i < n && caps; i++)
            caps = isupper((unsigned char)s[i]);
        /* a run of a dotted or hyphened name ("misa.MXL") is a field */
        if (!caps || *p == '.' || *p == '-' || (s > question && (s[-1] == '.' || s[-1] == '-')))
            continue;
        memcpy(acrs[n_found], s, n);
        acrs[n_found++][n] = 0;
    }
    return n_found;
}

int rag_acronyms_expand(rag_index *ix, const char *question, const rag_search_opts *base,
                        char **out, rag_err *err)
{
    rag_search_opts so = *base;
    rag_buf b = RAG_BUF_INIT;
    char acrs[MAX_ACRONYMS][RAG_ACRONYM_MAX + 1];
    size_t n_acr = rag_acronyms_in(question, acrs, MAX_ACRONYMS);
    int found = 0, rc = RAG_OK;

    *out = NULL;
    so.k = ACR_K;
    so.mode = RAG_MODE_BM25;   /* the word itself; an embedding buys nothing */
    so.retriever = NULL;
    so.no_rerank = 1;
    for (size_t a = 0; a < n_acr && rc == RAG_OK; a++) {
        const char *texts[ACR_K];
        char best[FORM_MAX];
        size_t n_t = 0;
        rag_hits h;
        rc = rag_search(&h, ix, acrs[a], &so, err);
        if (rc < 0)
            break;
        for (size_t i = 0; i < h.n && n_t < ACR_K; i++)
            texts[n_t++] = h.items[i].row.text;
        if (rag_acronym_form(texts, n_t, acrs[a], best, sizeof best) &&
            !strcasestr(question, best)) {
            if (!found)
                rc = rag_buf_puts(&b, question);
            if (rc == RAG_OK)
                rc = rag_buf_printf(&b, " %s", best);
            found = 1;
            rag_log(RAG_LOG_DEBUG, "ask: %s spelled out as \"%s\" for the search", acrs[a],
                    best);
        }
        rag_hits_fini(&h);
    }
    if (rc < 0 || !found) {
        rag_buf_fini(&b);
        return rc < 0 ? rc : RAG_OK;
    }
    *out = rag_buf_take(&b);
    return *out ? RAG_OK : rag_fail(err, RAG_ENOMEM, "out of memory");
}
