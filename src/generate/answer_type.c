/* answer_type.c - does a sentence hold what the question asks for, and
 * where does a title page end.
 *
 * The question words give an answer type (rag_atype, gate.c): "when"
 * wants a date, "how many" a number, "which version" a version, "how
 * large" a size (bits or bytes). A
 * sentence holding one is a better answer than one that only repeats the
 * question's words, so the extractive answer weighs it up. Numbers the
 * question itself holds ("the 2011 ISA") do not count: the answer must
 * add one.
 *
 * Who wrote a document, when it was issued, which version it is and at
 * which event it was presented are stated on its title page, in lines
 * that are no prose (the title, names, an affiliation, a date). The title
 * block is those lines from the start of the document up to its first
 * prose line, a copyright line or 600 bytes; the answer may quote it
 * whole for such questions.
 */
#include "generate.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const months[] = {
    "january", "february", "march",     "april",   "may",      "june",
    "july",    "august",   "september", "october", "november", "december",
};

static const char *const number_words[] = {
    "two",     "three",   "four",     "five",       "six",       "seven",
    "eight",   "nine",    "ten",      "eleven",     "twelve",    "sixteen",
    "twenty",  "thirty",  "sixty",    "hundred",    "thousand",  "dozen",
    "single",  "double",  "both",     "none",
};

/* The number at s[0..n) is one the question holds (q_numbers is ", "-
 * separated). */
static int question_has(const char *q_numbers, const char *s, size_t n)
{
    const char *p = q_numbers;
    while (p && *p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !memcmp(p, s, n))
            return 1;
        p = e ? e + 2 : NULL;
    }
    return 0;
}

/* Word at s[i..) as lower-case letters (at most cap-1), its length. */
static size_t word_at(const char *s, size_t n, size_t i, char *w, size_t cap)
{
    size_t k = 0;
    while (i + k < n && isalpha((unsigned char)s[i + k])) {
        if (k + 1 < cap)
            w[k] = (char)tolower((unsigned char)s[i + k]);
        k++;
    }
    w[k < cap ? k : cap - 1] = '\0';
    return k;
}

/* A number of its own (not part of a name such as "x1", "RV32I" or
 * "Sv39") that the question does not hold: *e gets its end. */
static int own_number(const char *s, size_t n, size_t i, const char *q_numbers, size_t *e)
{
    size_t k = i;
    if (!isdigit((unsigned char)s[i]) || (i > 0 && (isalnum((unsigned char)s[i - 1]) ||
                                                    s[i - 1] == '_' || s[i - 1] == '/')))
        return 0;
    /* "EECS-2014-54": a number inside a report number or path */
    if (i > 1 && s[i - 1] == '-' && isalnum((unsigned char)s[i - 2]))
        return 0;
    while (k < n && (isdigit((unsigned char)s[k]) ||
                     ((s[k] == '.' || s[k] == ',') && k + 1 < n &&
                      isdigit((unsigned char)s[k + 1]))))
        k++;
    *e = k;
    if (k + 1 < n && (s[k] == '-' || s[k] == '/' || s[k] == '_') &&
        isalnum((unsigned char)s[k + 1]))
        return 0;
    if (k < n && isalpha((unsigned char)s[k]) &&
        !(k + 1 < n && !isalpha((unsigned char)s[k + 1]) && strchr("KMGkx", s[k])))
        return 0;
    return !question_has(q_numbers, s + i, k - i);
}

/* A size at s[i..): a number of its own (not part of a name, not one the
 * question holds) and a unit of bits or bytes, with a space or a hyphen
 * between or none ("16-bit", "32 bits", "4 KiB", "64KB"). */
static int size_at(const char *s, size_t n, size_t i, const char *q_numbers)
{
    static const char *const units[] = {"bits", "bit", "bytes", "byte", "kib", "mib", "gib",
                                        "kb", "mb", "gb", "kbytes", "mbytes"};
    size_t k = i;
    char w[16];
    size_t wl;
    if (!isdigit((unsigned char)s[i]) || (i > 0 && (isalnum((unsigned char)s[i - 1]) ||
                                                    s[i - 1] == '_' || s[i - 1] == '.')))
        return 0;
    while (k < n && isdigit((unsigned char)s[k]))
        k++;
    if (question_has(q_numbers, s + i, k - i))
        return 0;
    if (k < n && (s[k] == ' ' || s[k] == '-'))
        k++;
    wl = word_at(s, n, k, w, sizeof w);
    if (!wl || (k + wl < n && isalnum((unsigned char)s[k + wl])))
        return 0;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++)
        if (!strcmp(w, units[u]))
            return 1;
    return 0;
}

int rag_sentence_holds_type(const char *s, size_t n, rag_atype t, const char *q_numbers)
{
    char w[16];
    for (size_t i = 0; i < n; i++) {
        size_t e = i, wl;
        int word_start = i == 0 || !isalnum((unsigned char)s[i - 1]);
        if (!word_start)
            continue;
        switch (t) {
        case RAG_ATYPE_DATE:
            if (isalpha((unsigned char)s[i])) {
                wl = word_at(s, n, i, w, sizeof w);
                for (size_t m = 0; m < 12 && wl >= 3; m++)
                    if (!strcmp(w, months[m]) || (wl == 3 && !strncmp(w, months[m], 3))) {
                        size_t j = i + wl;
                        while (j < n && (s[j] == ' ' || s[j] == '.' || s[j] == ','))
                            j++;
                        if (j < n && isdigit((unsigned char)s[j]))
                            return 1;
                    }
                i += wl ? wl - 1 : 0;
            } else if (own_number(s, n, i, q_numbers, &e) && e - i == 4 &&
                       ((s[i] == '1' && s[i + 1] == '9') || (s[i] == '2' && s[i + 1] == '0')) &&
                       (e >= n || s[e] != '.' || e + 1 >= n || !isdigit((unsigned char)s[e + 1]))) {
                return 1;   /* a year */
            }
            break;
        case RAG_ATYPE_NUMBER:
            if (own_number(s, n, i, q_numbers, &e))
                return 1;
            if (isalpha((unsigned char)s[i])) {
                wl = word_at(s, n, i, w, sizeof w);
                for (size_t k = 0; k < sizeof number_words / sizeof number_words[0]; k++)
                    if (!strcmp(w, number_words[k]))
                        return 1;
                i += wl ? wl - 1 : 0;
            }
            break;
        case RAG_ATYPE_SIZE:
            if (size_at(s, n, i, q_numbers))
                return 1;
            break;
        case RAG_ATYPE_VERSION:
            if ((s[i] == 'v' || s[i] == 'V') && n - i > 8 && !strncasecmp(s + i, "version", 7)) {
                size_t j = i + 7;
                while (j < n && s[j] == ' ')
                    j++;
                if (j < n && isdigit((unsigned char)s[j]) && own_number(s, n, j, q_numbers, &e))
                    return 1;
            }
            break;
        default:
            return 0;
        }
    }
    return 0;
}

int rag_atype_on_title_page(rag_atype t)
{
    return t == RAG_ATYPE_PERSON || t == RAG_ATYPE_DATE || t == RAG_ATYPE_VERSION ||
           t == RAG_ATYPE_EVENT;
}

/* A line of prose: seven or more words, most of them lower case. */
static int prose_line(const char *s, size_t n)
{
    int words = 0, lower = 0;
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]) && (i == 0 || isspace((unsigned char)s[i - 1]))) {
            words++;
            lower += islower((unsigned char)s[i]) != 0;
        }
    return words >= 7 && lower * 2 > words;
}

size_t rag_title_block_end(const char *text, size_t n)
{
    size_t i = 0, end = 0;
    int lines = 0;
    while (i < n && lines < 24) {
        const char *nl = memchr(text + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - text) : n, s = i;
        while (s < e && isspace((unsigned char)text[s]))
            s++;
        if (s < e) {
            if (prose_line(text + s, e - s) || !strncasecmp(text + s, "copyright", 9) ||
                !strncmp(text + s, "\xC2\xA9", 2) || e > 600)
                break;
            end = e;
            lines++;
        }
        i = e + 1;
    }
    return end;
}
