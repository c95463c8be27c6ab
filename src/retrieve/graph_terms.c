/* graph_terms.c - which words link chunks: technical terms by shape and
 * the entities a text defines (see graph.h and docs/graph.md).
 *
 * The shape test looks at source bytes (case matters: "CSR" is an acronym,
 * "csr" in running text is not known to be one). An identifier-shaped
 * lower-case word ("mcause", "mtvec", "satp", "csrrw") is one whose first
 * or last consonant cluster no English word has, or that has no vowel: a
 * fixed table of English onsets and codas, no dictionary. It misses
 * identifiers that look English ("misa", "addi"), and flags a few Greek
 * or Latin loans; the df and idf weighting bound both mistakes.
 */
#include "retrieve/graph.h"

#include <string.h>

static int is_up(int c) { return c >= 'A' && c <= 'Z'; }
static int is_lo(int c) { return c >= 'a' && c <= 'z'; }
static int is_dig(int c) { return c >= '0' && c <= '9'; }
static int is_alpha_c(int c) { return is_up(c) || is_lo(c) || (c & 0x80); }

static int is_vowel(int c, int first)
{
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' ||
           (!first && (c == 'y' || c == 'w'));
}

/* Initial consonant clusters of English words (and common Greek loans). */
static const char *const onsets[] = {
    "bl", "br", "ch", "chl", "chr", "cl", "cr", "dr", "dw", "fl", "fr", "gh", "gl",
    "gn", "gr", "kl", "kn", "kr", "mn", "ph", "phl", "phr", "phth", "pl", "pn", "pr",
    "ps", "pt", "qu", "rh", "sc", "sch", "scl", "scr", "sh", "shr", "sk", "sl", "sm",
    "sn", "sp", "sph", "spl", "spr", "sq", "squ", "st", "str", "sw", "th", "thr",
    "tr", "tw", "wh", "wr", "sv", "ts", "zw", NULL};

/* Final consonant clusters (after dropping one plural 's'); doubled
 * letters are always allowed. */
static const char *const codas[] = {
    "ch", "ck", "ct", "dth", "ft", "gh", "ght", "gm", "gn", "gth", "lb", "lch", "ld",
    "lf", "lfth", "lk", "lm", "lp", "lpt", "lt", "lth", "mb", "mn", "mp", "mph", "mpt",
    "nc", "nch", "nct", "nd", "ng", "ngst", "ngth", "nk", "nst", "nt", "nth", "nx",
    "ph", "pt", "pth", "rb", "rc", "rch", "rd", "rf", "rg", "rk", "rl", "rld", "rm",
    "rmth", "rn", "rp", "rsh", "rst", "rt", "rth", "sc", "sh", "sk", "sm", "sp", "st",
    "tch", "th", "thm", "tz", "xt", "xth", "rv", "lv", "nz", "rz", "ns", "ps", "ts",
    "ds", "ks", "rs", "ls", "ms", NULL};

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (size_t i = 0; list[i]; i++)
        if (strlen(list[i]) == n && !memcmp(list[i], s, n))
            return 1;
    return 0;
}

static int identifier_shaped(const char *s, size_t n)
{
    size_t on = 0, co = 0, end = n;
    int vowels = 0;

    if (n < 3 || n > 24)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_lo((unsigned char)s[i]))
            return 0;
        vowels += is_vowel(s[i], i == 0);
    }
    if (!vowels)
        return 1;
    while (on < n && !is_vowel(s[on], on == 0))
        on++;
    if (on >= 2 && !in_list(onsets, s, on))
        return 1;
    if (end > 3 && s[end - 1] == 's' && !is_vowel(s[end - 2], 0))
        end--;
    while (co < end && !is_vowel(s[end - 1 - co], end - 1 - co == 0))
        co++;
    if (co >= 2) {
        const char *c = s + end - co;
        if (co == 2 && c[0] == c[1])
            return 0;
        if (co == 3 && (c[0] == c[1] || c[1] == c[2]))
            return 0;
        if (!in_list(codas, c, co))
            return 1;
    }
    return 0;
}

int rag_graph_is_technical(const char *s, size_t n)
{
    int n_up = 0, n_lo = 0, n_digit = 0, inner_up = 0, hyphen = 0, conn = 0, high = 0;
    size_t i;

    for (i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (is_up(c)) {
            n_up++;
            if (i > 0 && is_alpha_c((unsigned char)s[i - 1]) && !is_up((unsigned char)s[i - 1]))
                inner_up = 1;
        } else if (is_lo(c)) {
            n_lo++;
        } else if (is_dig(c)) {
            n_digit++;
        } else if (c == '-') {
            hyphen = 1;
        } else if (c == '_' || c == ':' || c == '.' || c == ',') {
            conn = 1;
        } else if (c & 0x80) {
            high = 1;
        }
    }
    if (n_up + n_lo == 0 && !high)
        return 0;                       /* numbers: 1990, 3.14, 1,000 */
    if (n_digit) {
        /* ordinals "2nd", "21st" are not names of anything */
        if (!conn && !hyphen && n >= 3 && is_dig((unsigned char)s[0])) {
            const char *t = s + n - 2;
            if ((size_t)n_digit == n - 2 && (!memcmp(t, "st", 2) || !memcmp(t, "nd", 2) ||
                                     !memcmp(t, "rd", 2) || !memcmp(t, "th", 2)))
                return 0;
        }
        return 1;
    }
    if (conn) {
        /* dotted abbreviations "e.g", "U.S.A", "Ph.D": pieces of <= 2 letters */
        size_t piece = 0, longest = 0;
        for (i = 0; i < n; i++) {
            if (s[i] == '.') {
                piece = 0;
                continue;
            }
            if (s[i] == '_' || s[i] == ':' || s[i] == ',')
                return 1;
            if (++piece > longest)
                longest = piece;
        }
        return longest > 2;
    }
    if (n_lo == 0 && n_up > 0)          /* all capitals */
        return hyphen || (n_up >= 2 && n_up <= 5 && !high);
    if (inner_up)
        return 1;                       /* RISC-V handled above; McCarthy, iPhone */
    if (n_up == 0 && !hyphen && !high)
        return identifier_shaped(s, n);
    return 0;
}

/* ---- definitions ---------------------------------------------------------- */

static int word_char(int c) { return is_alpha_c(c) || is_dig(c) || c == '_' || c == '-'; }

/* Acronym "(CSR)" / "(CSRs)" ending at close paren index `cp` with its
 * letters in [a, b). Matches the words before `open` by initials. */
static int acronym_def(const char *t, size_t open, size_t a, size_t b, rag_graph_entity_fn fn,
                       void *ctx)
{
    char letters[12];
    size_t n_letters = 0, ws[24], we[24];
    int n_words = 0, rc;
    size_t p = open;

    for (size_t i = a; i < b; i++) {
        int c = (unsigned char)t[i];
        if (is_up(c)) {
            if (n_letters == sizeof letters)
                return 0;
            letters[n_letters++] = (char)c;
        } else if (!(is_lo(c) && i == b - 1 && c == 's') && !is_dig(c) && c != '-') {
            return 0;
        }
    }
    if (n_letters < 2)
        return 0;
    /* words before the parenthesis, nearest first; split at '-' too */
    while (n_words < (int)(2 * n_letters + 3) && n_words < 24) {
        while (p > 0 && !is_alpha_c((unsigned char)t[p - 1])) {
            int c = (unsigned char)t[p - 1];
            if (c != ' ' && c != '-' && c != '\n' && c != '\t')
                goto match;             /* punctuation ends the phrase */
            p--;
        }
        if (p == 0)
            break;
        we[n_words] = p;
        while (p > 0 && is_alpha_c((unsigned char)t[p - 1]))
            p--;
        ws[n_words] = p;
        n_words++;
    }
match:;
    /* initials from the last letter backwards; stop words may be skipped */
    int li = (int)n_letters - 1, wi = 0;
    while (li >= 0 && wi < n_words) {
        int c0 = (unsigned char)t[ws[wi]];
        if ((c0 & ~0x20) == letters[li]) {
            li--;
            wi++;
        } else if (rag_analyzer_is_stopword(t + ws[wi], we[wi] - ws[wi])) {
            wi++;
        } else {
            return 0;
        }
    }
    if (li >= 0)
        return 0;
    rc = fn(ctx, t + a, b - a, 1);
    if (rc < 0)
        return rc;
    return fn(ctx, t + ws[wi - 1], we[0] - ws[wi - 1], 2);
}

/* The 1-4 words in [s, e) if that is all they are; else 0. */
static int short_subject(const char *t, size_t s, size_t e, size_t *os, size_t *oe)
{
    int n_words = 0, in_word = 0;

    while (s < e && (t[s] == ' ' || t[s] == '\t' || t[s] == '*' || t[s] == '#'))
        s++;
    while (e > s && (t[e - 1] == ' ' || t[e - 1] == '\t' || t[e - 1] == '`'))
        e--;
    if (s < e && t[s] == '`')
        s++;
    if (s >= e)
        return 0;
    for (size_t i = s; i < e; i++) {
        int c = (unsigned char)t[i];
        if (word_char(c) || c == '.') {
            if (!in_word)
                n_words++;
            in_word = 1;
        } else if (c == ' ') {
            in_word = 0;
        } else {
            return 0;
        }
    }
    if (n_words < 1 || n_words > 4)
        return 0;
    *os = s;
    *oe = e;
    return 1;
}

/* Line labels that define nothing ("Note: ...", "Example: ..."). */
static int is_label(const char *s, size_t n)
{
    static const char *const labels[] = {"note", "notes", "example", "examples", "figure",
                                         "table", "warning", "caution", "remark", "proof",
                                         "step", "see", "where", "answer", "question", NULL};
    for (size_t i = 0; labels[i]; i++) {
        size_t k = strlen(labels[i]), j;
        if (k != n)
            continue;
        for (j = 0; j < n && (s[j] | 0x20) == labels[i][j]; j++)
            ;
        if (j == n)
            return 1;
    }
    return 0;
}

static int starts_with_word(const char *t, size_t n, size_t i, const char *w)
{
    size_t k = strlen(w);
    return i + k < n && !memcmp(t + i, w, k) && !word_char((unsigned char)t[i + k]);
}

int rag_graph_find_definitions(const char *t, size_t n, rag_graph_entity_fn fn, void *ctx)
{
    size_t sent = 0;       /* start of the current sentence */
    size_t line = 0;       /* start of the current line */
    int rc;

    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)t[i];
        if (c == '\n') {
            line = sent = i + 1;
            continue;
        }
        if ((c == '.' || c == '?' || c == '!' || c == ';') && i + 1 < n && t[i + 1] == ' ') {
            sent = i + 2;
            continue;
        }
        if (c == '(') {
            size_t j = i + 1;
            while (j < n && j - i < 14 && t[j] != ')' && t[j] != ' ')
                j++;
            if (j < n && t[j] == ')' && j > i + 2 &&
                (rc = acronym_def(t, i, i + 1, j, fn, ctx)) < 0)
                return rc;
            continue;
        }
        if (c == ':' && i + 1 < n && (t[i + 1] == ' ' || t[i + 1] == '\n') && i > line) {
            size_t s, e;
            if (short_subject(t, line, i, &s, &e) && !is_label(t + s, e - s) &&
                (rc = fn(ctx, t + s, e - s, 0)) < 0)
                return rc;
            continue;
        }
        if (c == ' ' && i > sent && starts_with_word(t, n, i + 1, "is")) {
            size_t k = i + 4;
            if (starts_with_word(t, n, k, "a") || starts_with_word(t, n, k, "an") ||
                starts_with_word(t, n, k, "the")) {
                size_t s, e;
                if (short_subject(t, sent, i, &s, &e)) {
                    /* "The mcause register is a ...": drop a leading article */
                    if (starts_with_word(t, e, s, "The") || starts_with_word(t, e, s, "the"))
                        s += 4;
                    else if (starts_with_word(t, e, s, "A"))
                        s += 2;
                    else if (starts_with_word(t, e, s, "An"))
                        s += 3;
                    if (s < e && (rc = fn(ctx, t + s, e - s, 0)) < 0)
                        return rc;
                }
            }
        }
    }
    return 0;
}
