/* sentence_kind.c - which extracted "sentences" are prose worth quoting.
 *
 * Text extracted from PDFs mixes prose with headings, captions, table
 * rows, the running text of figures, footnote URLs, reference entries and
 * editor lists. Each has a shape that prose lacks; the tests name them
 * (tests/unit/generate/test_sentence_kind.c). The rules look at words,
 * their case, punctuation and line lengths only, so they work for any
 * language written with spaces, and they err towards prose: a real
 * sentence wrongly dropped costs an answer, a junk line wrongly kept costs
 * a line.
 */
#include "generate.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

const char *rag_sentence_kind_name(rag_sentence_kind k)
{
    static const char *const names[] = {
        "prose", "heading", "caption", "table", "url", "reference",
        "editors", "figure", "fragment",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static int starts_with_ci(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    return n >= wl && !strncasecmp(s, w, wl);
}

static int contains_ci(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= n; i++)
        if (!strncasecmp(s + i, w, wl))
            return 1;
    return 0;
}

static int contains(const char *s, size_t n, const char *w)
{
    size_t wl = strlen(w);
    for (size_t i = 0; i + wl <= n; i++)
        if (!memcmp(s + i, w, wl))
            return 1;
    return 0;
}

/* Bytes of a list marker at s ("• ", "- ", "* ", "– ", "1. ", "(a) ",
 * "a) ", "iv. "), or 0. */
static size_t list_marker(const char *s, size_t n)
{
    size_t i = 0;
    if (n >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == 'o') && s[1] == ' ')
        return 2;
    if (n >= 4 && (!memcmp(s, "\xE2\x80\xA2", 3) || !memcmp(s, "\xE2\x80\x93", 3) ||
                   !memcmp(s, "\xE2\x97\x8F", 3) || !memcmp(s, "\xEF\x82\xB7", 3)))
        return s[3] == ' ' ? 4 : 3;
    if (n >= 3 && s[0] == '(') {
        for (i = 1; i < n && i < 5 && isalnum((unsigned char)s[i]); i++)
            ;
        if (i > 1 && i < n && s[i] == ')' && i + 1 < n && s[i + 1] == ' ')
            return i + 2;
        return 0;
    }
    for (i = 0; i < n && i < 4 && (isdigit((unsigned char)s[i]) ||
                                   (i < 3 && strchr("ivx", s[i]) && s[i]) ||
                                   (i == 0 && islower((unsigned char)s[i])));
         i++)
        ;
    if (i > 0 && i + 1 < n && (s[i] == ')' || s[i] == '.') && s[i + 1] == ' ' &&
        !(s[i] == '.' && i + 2 < n && isdigit((unsigned char)s[i + 2])))
        return i + 2;
    return 0;
}

int rag_sentence_is_list_item(const char *s, size_t n)
{
    return list_marker(s, n) > 0;
}

int rag_sentence_introduces_list(const char *s, size_t n)
{
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return n > 0 && s[n - 1] == ':';
}

/* A year 1950-2039 as a word of its own. */
static int has_year(const char *s, size_t n)
{
    for (size_t i = 0; i + 4 <= n; i++) {
        if (i > 0 && isalnum((unsigned char)s[i - 1]))
            continue;
        if (i + 4 < n && isalnum((unsigned char)s[i + 4]))
            continue;
        if ((s[i] == '1' && s[i + 1] == '9' && s[i + 2] >= '5') ||
            (s[i] == '2' && s[i + 1] == '0' && s[i + 2] <= '3'))
            if (isdigit((unsigned char)s[i + 2]) && isdigit((unsigned char)s[i + 3]))
                return 1;
    }
    return 0;
}

typedef struct {
    int n_words;
    int n_lower;    /* words starting with a lower-case letter, all letters */
    int n_upper;    /* words starting with an upper-case letter */
    int n_numeric;  /* words made of digits, hex and symbols */
    int n_lines;
    size_t longest_line;
} word_stats;

static void stats(const char *s, size_t n, word_stats *w)
{
    size_t i = 0, line_start = 0;
    memset(w, 0, sizeof *w);
    w->n_lines = 1;
    for (size_t k = 0; k <= n; k++)
        if (k == n || s[k] == '\n') {
            if (k - line_start > w->longest_line)
                w->longest_line = k - line_start;
            if (k < n)
                w->n_lines++;
            line_start = k + 1;
        }
    while (i < n) {
        size_t st, alpha = 0, digit = 0;
        while (i < n && isspace((unsigned char)s[i]))
            i++;
        if (i >= n)
            break;
        st = i;
        while (i < n && !isspace((unsigned char)s[i])) {
            if (isalpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80)
                alpha++;
            else if (isdigit((unsigned char)s[i]))
                digit++;
            i++;
        }
        w->n_words++;
        {
            unsigned char c = (unsigned char)s[st];
            if (c == '(' || c == '"' || c == '\'')
                c = st + 1 < i ? (unsigned char)s[st + 1] : c;
            if (islower(c) && alpha >= 2 && digit == 0)
                w->n_lower++;
            else if (isupper(c))
                w->n_upper++;
            else if (alpha == 0 || isdigit(c))
                w->n_numeric++;
        }
    }
}

static int is_caption(const char *s, size_t n)
{
    static const char *const heads[] = {"figure ", "fig. ", "fig ", "table ",
                                        "listing ", "algorithm ", "chart ", NULL};
    for (int k = 0; heads[k]; k++) {
        size_t hl = strlen(heads[k]);
        if (starts_with_ci(s, n, heads[k]) && hl < n &&
            (isdigit((unsigned char)s[hl]) || (isupper((unsigned char)s[hl]) &&
                                               hl + 1 < n && (s[hl + 1] == '.' ||
                                                              s[hl + 1] == ':' ||
                                                              isdigit((unsigned char)s[hl + 1])))))
            return 1;
    }
    return 0;
}

static int is_reference(const char *s, size_t n, const word_stats *w)
{
    static const char *const venues[] = {
        "proceedings", "proc.", "conference", "symposium", "journal", "trans.",
        "transactions", "arxiv", "ieee", "acm", "workshop", "pp.", "vol.",
        "isbn", "press,", "university press", "technical report", "tech. rep",
        "in proc", "usenix", "springer", NULL,
    };
    size_t i = 0;
    int venue = 0;
    /* "[12] A. Author, ..." */
    if (n > 3 && s[0] == '[') {
        for (i = 1; i < n && isdigit((unsigned char)s[i]); i++)
            ;
        if (i > 1 && i < n && s[i] == ']')
            return 1;
    }
    /* a quoted title: “Keystone: An open framework ...”. */
    if (starts_with_ci(s, n, "\xE2\x80\x9C") && contains(s, n, "\xE2\x80\x9D") &&
        w->n_words <= 30)
        return 1;
    for (int k = 0; venues[k]; k++)
        venue |= contains_ci(s, n, venues[k]);
    if (venue && has_year(s, n))
        return 1;
    if (contains(s, n, "et al") && has_year(s, n) && w->n_words <= 40)
        return 1;
    return 0;
}

/* "Andrew Waterman, Krste Asanović, SiFive Inc., CS Division": most
 * comma-separated pieces are one to four capitalised words. */
static int is_name_list(const char *s, size_t n)
{
    int pieces = 0, names = 0;
    size_t st = 0;
    if (contains_ci(s, n, "editor") && memchr(s, ',', n))
        return 1;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != ',' && s[i] != ';')
            continue;
        {
            int words = 0, caps = 0;
            for (size_t k = st; k < i; k++)
                if (!isspace((unsigned char)s[k]) &&
                    (k == st || isspace((unsigned char)s[k - 1]))) {
                    words++;
                    caps += isupper((unsigned char)s[k]) || (unsigned char)s[k] >= 0x80;
                }
            if (words) {
                pieces++;
                names += words <= 4 && caps == words;
            }
        }
        st = i + 1;
    }
    return pieces >= 4 && names * 4 >= pieces * 3;
}

rag_sentence_kind rag_sentence_classify(const char *s, size_t n)
{
    word_stats w;
    size_t mk;
    int item, no_end;
    unsigned char last;

    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    mk = list_marker(s, n);
    item = mk > 0;
    s += mk;
    n -= mk;
    if (n == 0)
        return RAG_SENT_FRAGMENT;
    stats(s, n, &w);
    last = (unsigned char)s[n - 1];
    no_end = !strchr(".!?:;)\"'", last) && last < 0x80;
    if (contains_ci(s, n, "http://") || contains_ci(s, n, "https://") ||
        contains_ci(s, n, "www.") || contains_ci(s, n, "doi.org"))
        return RAG_SENT_URL;
    if (is_caption(s, n))
        return RAG_SENT_CAPTION;
    if (is_reference(s, n, &w))
        return RAG_SENT_REFERENCE;
    /* figure text: several short lines, few of them prose */
    if (w.n_lines >= 3 && w.longest_line < 40 && w.n_words < w.n_lines * 4)
        return RAG_SENT_FIGURE;
    if (is_name_list(s, n))
        return RAG_SENT_EDITORS;
    if (w.n_words < 4 && !(item && w.n_words >= 2))
        return no_end && !item ? RAG_SENT_HEADING : RAG_SENT_FRAGMENT;
    if (no_end && w.n_numeric * 5 >= w.n_words)
        return RAG_SENT_TABLE;
    /* table rows: numbers and names with hardly a lower-case word */
    if (w.n_words >= 4 && w.n_lower * 10 < w.n_words * 3 && !(item && w.n_lower >= 2))
        return w.n_upper * 10 >= w.n_words * 6 && w.n_words <= 14 ? RAG_SENT_HEADING
                                                                   : RAG_SENT_TABLE;
    if (w.n_numeric * 2 > w.n_words)
        return RAG_SENT_TABLE;
    if (contains(s, n, "   ") || contains(s, n, "\t"))
        if (w.n_numeric * 4 > w.n_words || w.n_lower * 2 < w.n_words)
            return RAG_SENT_TABLE;
    /* headings: short, and no sentence end */
    if (!item && no_end && w.n_words <= 14)
        return RAG_SENT_HEADING;
    if (!item && no_end && w.n_lines >= 2 && w.longest_line < 60)
        return RAG_SENT_FIGURE;
    return RAG_SENT_PROSE;
}

/* ---- near-duplicates ------------------------------------------------------ */

#define DUP_WORDS 128

static size_t word_hashes(const char *s, size_t n, uint64_t *out)
{
    size_t k = 0, i = 0;
    while (i < n && k < DUP_WORDS) {
        char w[64];
        size_t wl = 0;
        while (i < n && !isalnum((unsigned char)s[i]))
            i++;
        while (i < n && isalnum((unsigned char)s[i])) {
            if (wl < sizeof w)
                w[wl++] = (char)tolower((unsigned char)s[i]);
            i++;
        }
        if (wl) {
            uint64_t h = rag_hash64(w, wl);
            size_t j;
            for (j = 0; j < k && out[j] != h; j++)
                ;
            if (j == k)
                out[k++] = h;
        }
    }
    return k;
}

int rag_sentence_near_duplicate(const char *a, size_t na, const char *b, size_t nb)
{
    uint64_t ha[DUP_WORDS], hb[DUP_WORDS];
    size_t ka = word_hashes(a, na, ha), kb = word_hashes(b, nb, hb), common = 0;
    if (!ka || !kb)
        return ka == kb;
    for (size_t i = 0; i < ka; i++)
        for (size_t j = 0; j < kb; j++)
            if (ha[i] == hb[j]) {
                common++;
                break;
            }
    /* Jaccard >= 0.7, or one holds (nearly) all of the other */
    return common * 10 >= (ka + kb - common) * 7 ||
           (common * 10 >= (ka < kb ? ka : kb) * 9 && (ka < kb ? ka : kb) >= 6);
}
