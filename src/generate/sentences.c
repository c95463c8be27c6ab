/* sentences.c - a sentence splitter for technical prose.
 *
 * Technical text breaks the usual rules: "v1.0", "0x7FF", "Fig. 3",
 * "e.g. the", "Sec. 2.3" and numbered lists. A '.' ends a sentence only
 * when followed by whitespace and then something that can start one, and
 * the word before it is not a known abbreviation. Blank lines and line
 * starts that look like list bullets always break.
 */
#include "generate.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const abbrevs[] = {
    "e.g", "i.e", "etc", "fig", "figs", "sec", "eq", "eqs", "vs", "cf", "al",
    "no", "vol", "pp", "ch", "ref", "refs", "approx", "dr", "mr", "ms", "st",
    "resp", "incl", "max", "min", "tab", "app", "ed", "eds", NULL,
};

static int is_abbrev(const char *text, size_t dot)
{
    size_t s = dot;
    while (s > 0 && (isalpha((unsigned char)text[s - 1]) || text[s - 1] == '.'))
        s--;
    if (dot - s == 1 && !(s > 0 && isalnum((unsigned char)text[s - 1])))
        return 1; /* single letter: an initial, "A. Waterman" (not "RV64I.") */
    for (int i = 0; abbrevs[i]; i++)
        if (strlen(abbrevs[i]) == dot - s && !strncasecmp(text + s, abbrevs[i], dot - s))
            return 1;
    return 0;
}

static int can_start(unsigned char c)
{
    return isupper(c) || isdigit(c) || c == '(' || c == '[' || c == '"' ||
           c == '\'' || c >= 0x80;
}

static int emit(const char *text, size_t s, size_t e, size_t max_bytes,
                rag_sentence_fn fn, void *ctx)
{
    while (s < e && isspace((unsigned char)text[s]))
        s++;
    while (e > s && isspace((unsigned char)text[e - 1]))
        e--;
    while (e > s) {
        size_t cut = e;
        int rc;
        if (max_bytes && e - s > max_bytes) {
            cut = s + max_bytes;
            while (cut > s + max_bytes / 2 && !isspace((unsigned char)text[cut]))
                cut--;
            cut = s + rag_utf8_floor(text + s, cut - s);
        }
        rc = fn(ctx, s, cut);
        if (rc < 0)
            return rc;
        s = cut;
        while (s < e && isspace((unsigned char)text[s]))
            s++;
    }
    return 0;
}

int rag_sentences(const char *text, size_t n, size_t max_bytes, rag_sentence_fn fn,
                  void *ctx)
{
    size_t start = 0;
    int rc;

    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        size_t end = 0, next = 0;
        if (c == '\n' && i + 1 < n && text[i + 1] == '\n') {
            end = i;
            next = i + 2;
        } else if (c == '\n' && i + 2 < n &&
                   ((text[i + 1] == '-' || text[i + 1] == '*') && text[i + 2] == ' ')) {
            end = i;
            next = i + 1;
        } else if (c == '\n' && i + 3 < n && !strncmp(text + i + 1, "\xE2\x80\xA2", 3)) {
            end = i;
            next = i + 1;
        } else if ((c == '.' || c == '!' || c == '?') && i + 2 < n &&
                   isspace((unsigned char)text[i + 1])) {
            size_t j = i + 1;
            while (j < n && isspace((unsigned char)text[j]))
                j++;
            if (j < n && can_start((unsigned char)text[j]) &&
                !(c == '.' && is_abbrev(text, i))) {
                end = i + 1;
                next = j;
            }
        }
        if (next) {
            rc = emit(text, start, end, max_bytes, fn, ctx);
            if (rc < 0)
                return rc;
            start = next;
            i = next - 1;
        }
    }
    return emit(text, start, n, max_bytes, fn, ctx);
}
