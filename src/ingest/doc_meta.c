/* doc_meta.c - a document's title, version and date from what it states:
 * the heuristics behind rag_doc.title / version / date, and the version
 * order and "same text family" test that retrieval uses to prefer the
 * newest of several versions of one manual.
 *
 * Everything here works on the lines of a document's first page (PDF: the
 * MuPDF lines with their mean font size; other formats: the first lines
 * of the text at size 0), so the rules are one set for every format:
 * - title: the largest-font run of consecutive lines at the top of the
 *   first page (stamps, URLs, e-mail, dates and version lines excluded),
 *   joined; a following "Volume ..." line of nearly that size joins it
 *   ("The RISC-V Instruction Set Manual, Volume I: Unprivileged ISA").
 *   A run of ordinary lines right before a bare version line ("V1.0")
 *   is a title too, as a reference card prints its name above it.
 * - version: "Version 1.12", "Document Version 20211203", a bare "V1.0",
 *   and a status word (Ratified, Frozen, Draft) on a short line of its own
 *   or beside the version. Blocks that speak of another document
 *   ("supersedes the draft ... Version 1.1") are skipped.
 * - date: the "issued" date when the page has one, else the first date
 *   ("May 13, 2011", "9 Jul 2021", "October 2021", "2019-12-13"), as ISO
 *   "YYYY-MM-DD" or "YYYY-MM".
 * Nothing here allocates except the returned strings.
 */
#include "ingest/ingest_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_TITLE_LINES 4
#define TITLE_BYTES 300
#define SAME_SIZE 0.93f        /* one heading's lines: mean sizes within 7% */

static int ieq_prefix(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    if (n < w)
        return 0;
    for (size_t i = 0; i < w; i++)
        if (tolower((unsigned char)s[i]) != word[i])
            return 0;
    return 1;
}

/* Case-insensitive search of lower-case `word` in s[0..n) at a word start. */
static const char *find_word(const char *s, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = 0; i + w <= n; i++) {
        if (i > 0 && isalnum((unsigned char)s[i - 1]))
            continue;
        if (ieq_prefix(s + i, n - i, word) &&
            (i + w == n || !isalpha((unsigned char)s[i + w])))
            return s + i;
    }
    return NULL;
}

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_blank((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && is_blank((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* ---- dates ------------------------------------------------------------- */

static const char *const months[12] = {"january", "february", "march", "april",
                                       "may", "june", "july", "august",
                                       "september", "october", "november", "december"};

/* Month at s (full name, or its first three letters, optionally with a
 * dot; "sept" too): 1..12 and *len, or 0. */
static int month_at(const char *s, size_t n, size_t *len)
{
    size_t w = 0;
    while (w < n && isalpha((unsigned char)s[w]))
        w++;
    if (w < 3)
        return 0;
    for (int m = 0; m < 12; m++) {
        size_t full = strlen(months[m]);
        if (w == full && ieq_prefix(s, n, months[m])) {
            *len = w;
            return m + 1;
        }
        if ((w == 3 && strncasecmp(s, months[m], 3) == 0) ||
            (w == 4 && m == 8 && strncasecmp(s, "sept", 4) == 0)) {
            *len = w + (w < n && s[w] == '.');
            return m + 1;
        }
    }
    return 0;
}

static int number_at(const char *s, size_t n, size_t *len)
{
    int v = 0;
    size_t i = 0;
    while (i < n && i < 5 && isdigit((unsigned char)s[i]))
        v = v * 10 + (s[i++] - '0');
    if (i == 0 || (i < n && isdigit((unsigned char)s[i])))
        return -1;
    *len = i;
    return v;
}

static size_t skip_sep(const char *s, size_t n, size_t i, const char *seps)
{
    while (i < n && (s[i] == ' ' || strchr(seps, s[i])))
        i++;
    return i;
}

static int year_ok(int y)
{
    return y >= 1970 && y <= 2099;
}

int rag_meta_parse_date(const char *s, size_t n, char out[11])
{
    for (size_t i = 0; i < n; i++) {
        size_t a, b, c;
        int m, d, y;
        if (i > 0 && isalnum((unsigned char)s[i - 1]))
            continue;
        /* YYYY-MM-DD */
        if ((y = number_at(s + i, n - i, &a)) >= 0 && a == 4 && year_ok(y) &&
            i + a < n && s[i + a] == '-' &&
            (m = number_at(s + i + a + 1, n - i - a - 1, &b)) >= 1 && m <= 12 &&
            b == 2 && i + a + 1 + b < n && s[i + a + 1 + b] == '-' &&
            (d = number_at(s + i + a + b + 2, n - i - a - b - 2, &c)) >= 1 && d <= 31 &&
            c == 2) {
            snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
            return 1;
        }
        /* D Month YYYY */
        if ((d = number_at(s + i, n - i, &a)) >= 1 && d <= 31 && a <= 2) {
            size_t j = skip_sep(s, n, i + a, "");
            if (j > i + a && (m = month_at(s + j, n - j, &b)) > 0) {
                size_t k = skip_sep(s, n, j + b, ",");
                if ((y = number_at(s + k, n - k, &c)) > 0 && c == 4 && year_ok(y)) {
                    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
                    return 1;
                }
            }
        }
        /* Month D, YYYY | Month YYYY | Month/Month YYYY */
        if ((m = month_at(s + i, n - i, &a)) > 0) {
            size_t j = i + a;
            if (j < n && s[j] == '/') {      /* "August/September 2022": the first */
                size_t m2len;
                if (month_at(s + j + 1, n - j - 1, &m2len) > 0)
                    j += 1 + m2len;
            }
            j = skip_sep(s, n, j, ",");
            if (j == i + a)
                continue;
            if ((d = number_at(s + j, n - j, &b)) >= 1 && d <= 31 && b <= 2) {
                size_t k = skip_sep(s, n, j + b, ",");
                if ((y = number_at(s + k, n - k, &c)) > 0 && c == 4 && year_ok(y)) {
                    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
                    return 1;
                }
            } else if (d > 0 && b == 4 && year_ok(d)) {
                snprintf(out, 11, "%04d-%02d", d, m);
                return 1;
            }
        }
    }
    return 0;
}

/* ---- versions ---------------------------------------------------------- */

/* A version token at s: a digit, then digits, letters, dots and dashes,
 * without a trailing dot or dash. Length, or 0. */
static size_t version_token(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !isdigit((unsigned char)s[0]))
        return 0;
    while (i < n && (isalnum((unsigned char)s[i]) || s[i] == '.' || s[i] == '-'))
        i++;
    while (i > 0 && (s[i - 1] == '.' || s[i - 1] == '-'))
        i--;
    return i;
}

/* "Version X" anywhere in the line, or the line is a bare "V1.0" /
 * "v2.3". Writes the token (bounded) and returns 1. */
static int line_version(const char *s, size_t n, char *out, size_t cap)
{
    const char *p = s;
    size_t left = n, t;

    while ((p = find_word(p, left, "version")) != NULL) {
        size_t off = (size_t)(p - s) + 7;
        size_t j = skip_sep(s, n, off, ":");
        if (j < n && (s[j] == 'v' || s[j] == 'V') && j + 1 < n &&
            isdigit((unsigned char)s[j + 1]))
            j++;
        if ((t = version_token(s + j, n - j)) > 0) {
            snprintf(out, cap, "%.*s", (int)(t < cap ? t : cap - 1), s + j);
            return 1;
        }
        p = s + off;
        left = n - off;
    }
    trim(&s, &n);
    if (n >= 2 && (s[0] == 'v' || s[0] == 'V') && (t = version_token(s + 1, n - 1)) > 0 &&
        t == n - 1 && memchr(s + 1, '.', t)) {
        snprintf(out, cap, "%.*s", (int)(t < cap ? t : cap - 1), s + 1);
        return 1;
    }
    return 0;
}

static size_t count_words(const char *s, size_t n)
{
    size_t w = 0;
    int in = 0;
    for (size_t i = 0; i < n; i++) {
        int word = !is_blank((unsigned char)s[i]);
        w += word && !in;
        in = word;
    }
    return w;
}

static const char *line_status(const char *s, size_t n, int with_version)
{
    static const char *const words[] = {"ratified", "frozen", "draft"};
    static const char *const shown[] = {"Ratified", "Frozen", "Draft"};
    if (!with_version && count_words(s, n) > 4)
        return NULL;
    for (size_t i = 0; i < 3; i++)
        if (find_word(s, n, words[i]))
            return shown[i];
    return NULL;
}

/* A block that is about some other document (what this one replaces). */
static int block_is_other_doc(const rag_meta_line *lines, size_t n, int block)
{
    for (size_t i = 0; i < n; i++)
        if (lines[i].block == block &&
            (find_word(lines[i].text, lines[i].n_bytes, "supersedes") ||
             find_word(lines[i].text, lines[i].n_bytes, "supersede") ||
             find_word(lines[i].text, lines[i].n_bytes, "replaces") ||
             (find_word(lines[i].text, lines[i].n_bytes, "draft") &&
              find_word(lines[i].text, lines[i].n_bytes, "issued"))))
            return 1;
    return 0;
}

int rag_meta_find_version(const rag_meta_line *lines, size_t n_lines, char **version,
                          char **date, rag_err *err)
{
    char v[48] = "", d[11] = "", issued[11] = "";
    const char *status = NULL;
    int other_block = -1, other = 0;

    *version = NULL;
    *date = NULL;
    for (size_t i = 0; i < n_lines; i++) {
        const rag_meta_line *l = &lines[i];
        char tok[48], dt[11];
        if (l->block != other_block) {
            other_block = l->block;
            other = block_is_other_doc(lines, n_lines, l->block);
        }
        if (other)
            continue;
        if (!v[0] && line_version(l->text, l->n_bytes, tok, sizeof tok)) {
            snprintf(v, sizeof v, "%s", tok);
            if (!status)
                status = line_status(l->text, l->n_bytes, 1);
        } else if (!status) {
            status = line_status(l->text, l->n_bytes, 0);
        }
        if (rag_meta_parse_date(l->text, l->n_bytes, dt)) {
            if (!d[0])
                memcpy(d, dt, sizeof d);
            if (!issued[0] && find_word(l->text, l->n_bytes, "issued"))
                memcpy(issued, dt, sizeof issued);
        }
    }
    if (v[0] || status) {
        char buf[64];
        if (v[0] && status)
            snprintf(buf, sizeof buf, "%s (%s)", v, status);
        else
            snprintf(buf, sizeof buf, "%s", v[0] ? v : status);
        *version = rag_strdup(buf);
        if (!*version)
            return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    if (issued[0] || d[0]) {
        *date = rag_strdup(issued[0] ? issued : d);
        if (!*date) {
            rag_free(*version);
            *version = NULL;
            return rag_fail(err, RAG_ENOMEM, "out of memory");
        }
    }
    return RAG_OK;
}

/* ---- titles ------------------------------------------------------------ */

static size_t n_letters(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += isalpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80;
    return k;
}

/* Lines that are never part of a title: stamps, links, addresses, page
 * numbers. */
static int never_title(const rag_meta_line *l)
{
    const char *s = l->text;
    size_t n = l->n_bytes;
    trim(&s, &n);
    return n_letters(s, n) < 3 || ieq_prefix(s, n, "arxiv:") || find_word(s, n, "http") ||
           find_word(s, n, "www") || memchr(s, '@', n) != NULL;
}

/* ... nor start one: dates and version lines ("Architecture Version 1.7"
 * may continue one). */
static int not_title_line(const rag_meta_line *l)
{
    const char *s = l->text;
    size_t n = l->n_bytes;
    char tok[48], dt[11];
    trim(&s, &n);
    if (never_title(l))
        return 1;
    if (line_version(s, n, tok, sizeof tok) && count_words(s, n) <= 3)
        return 1;
    if (rag_meta_parse_date(s, n, dt) && count_words(s, n) <= 4)
        return 1;
    return 0;
}

static int append_line(rag_buf *b, const rag_meta_line *l, const char *sep)
{
    const char *s = l->text;
    size_t n = l->n_bytes;
    int rc = RAG_OK;
    trim(&s, &n);
    /* a text layer's garbage after the words ("-Based.:Jf/<X"): no title
     * has markup brackets or ".:" */
    for (size_t i = 0; i < n; i++)
        if (strchr("<>{}", s[i]) || (i + 1 < n && s[i] == '.' && s[i + 1] == ':')) {
            n = i;
            while (n && (strchr(".:;,/", s[n - 1]) || is_blank((unsigned char)s[n - 1])))
                n--;
            break;
        }
    if (b->len > 0) {
        /* "User-" + "Level ISA": a hyphenated break keeps its hyphen */
        if (b->data[b->len - 1] == '-' && n && isupper((unsigned char)s[0]))
            sep = "";
        rc = rag_buf_puts(b, sep);
    }
    if (rc == RAG_OK)
        rc = rag_buf_append(b, s, n);
    return rc;
}

static char *take_title(rag_buf *b)
{
    char *t;
    if (b->len == 0) {
        rag_buf_fini(b);
        return NULL;
    }
    t = ib_clean_title(b->data, b->len, TITLE_BYTES);
    rag_buf_fini(b);
    return t;
}

char *rag_meta_heading_title(const rag_meta_line *lines, size_t n_lines, float body_size,
                             int *oom)
{
    rag_buf b = RAG_BUF_INIT;
    float max = 0;
    size_t first = n_lines;
    int rc = RAG_OK;

    *oom = 0;
    for (size_t i = 0; i < n_lines; i++)
        if (!not_title_line(&lines[i]) && lines[i].size > max)
            max = lines[i].size;
    /* a reference card: its name right above a bare "V1.0" line */
    for (size_t i = 1; i < n_lines; i++) {
        char tok[48];
        const char *s = lines[i].text;
        size_t n = lines[i].n_bytes;
        trim(&s, &n);
        if (line_version(s, n, tok, sizeof tok) && count_words(s, n) == 1 &&
            !not_title_line(&lines[i - 1]) && lines[i - 1].size < max * SAME_SIZE) {
            rc = append_line(&b, &lines[i - 1], " ");
            *oom = rc < 0;
            return rc < 0 ? (rag_buf_fini(&b), NULL) : take_title(&b);
        }
    }
    if (max <= 0 || (body_size > 0 && max < body_size * 1.1f))
        return NULL;
    for (size_t i = 0; i < n_lines; i++)
        if (!not_title_line(&lines[i]) && lines[i].size >= max * SAME_SIZE) {
            first = i;
            break;
        }
    for (size_t i = first, k = 0; i < n_lines && k < MAX_TITLE_LINES && rc == RAG_OK;
         i++, k++) {
        if (lines[i].size < max * SAME_SIZE || never_title(&lines[i])) {
            /* "... Manual" + "Volume I: Unprivileged ISA" one size smaller */
            const char *s = lines[i].text;
            size_t n = lines[i].n_bytes;
            trim(&s, &n);
            if (lines[i].size >= max * 0.8f && !not_title_line(&lines[i]) &&
                (ieq_prefix(s, n, "volume ") || ieq_prefix(s, n, "vol. ") ||
                 ieq_prefix(s, n, "part ")))
                rc = append_line(&b, &lines[i], ", ");
            break;
        }
        rc = append_line(&b, &lines[i], " ");
    }
    if (rc < 0) {
        rag_buf_fini(&b);
        *oom = 1;
        return NULL;
    }
    return take_title(&b);
}

/* Lower-case letters and digits of s only. */
static size_t squash(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++)
        if (isalnum((unsigned char)s[i]))
            out[o++] = (char)tolower((unsigned char)s[i]);
    out[o] = '\0';
    return o;
}

int rag_meta_title_on_page(const char *title, const rag_meta_line *lines, size_t n_lines)
{
    char t[512], page[8192];
    size_t o = 0;
    if (squash(title, strlen(title), t, sizeof t) < 4)
        return 0;
    for (size_t i = 0; i < n_lines && o + 1 < sizeof page; i++)
        o += squash(lines[i].text, lines[i].n_bytes, page + o, sizeof page - o);
    return strstr(page, t) != NULL;
}

int rag_meta_title_widens(const char *meta_title, const char *heading)
{
    char h[1024];
    const char *p = meta_title;
    size_t n_words = 0, n_found = 0;
    squash(heading, strlen(heading), h, sizeof h);
    while (*p) {
        char w[64];
        size_t n = 0;
        while (*p && !isalnum((unsigned char)*p))
            p++;
        while (p[n] && isalnum((unsigned char)p[n]))
            n++;
        if (n == 0)
            break;
        if (squash(p, n, w, sizeof w) >= 3) {
            n_words++;
            n_found += strstr(h, w) != NULL;
        }
        p += n;
    }
    return n_words > 0 && 2 * n_found >= n_words;
}

int rag_title_is_file_name(const char *title)
{
    static const char *const exts[] = {".doc", ".docx", ".pdf", ".tex", ".dvi", ".ps",
                                       ".indd", ".ppt", ".pptx", ".odt", ".rtf"};
    const char *s = title ? title : "";
    size_t n = strlen(s);
    trim(&s, &n);
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++) {
        size_t e = strlen(exts[i]);
        if (n > e && strncasecmp(s + n - e, exts[i], e) == 0)
            return 1;
    }
    return 0;
}

int rag_title_is_junk(const char *title, const char *file_name)
{
    const char *s = title ? title : "";
    size_t n = strlen(s);
    const char *base;
    char a[256], b[256];
    trim(&s, &n);
    if (n_letters(s, n) < 3)
        return 1;
    if (ieq_prefix(s, n, "microsoft ") || ieq_prefix(s, n, "untitled") ||
        find_word(s, n, "powerpoint") || ieq_prefix(s, n, "slide ") ||
        (n == 8 && ieq_prefix(s, n, "document")))
        return 1;
    /* a file name: "report.doc", "x.tex", "AIML_SaMD_Action_Plan" */
    if (rag_title_is_file_name(s))
        return 1;
    if (!memchr(s, ' ', n) && (memchr(s, '_', n) || n > 24))
        return 1;
    if (file_name) {
        base = strrchr(file_name, '/');
        base = base ? base + 1 : file_name;
        if (squash(s, n, a, sizeof a) > 0 && squash(base, strlen(base), b, sizeof b) > 0 &&
            (strcmp(a, b) == 0 || (strlen(b) > 3 && strcmp(b + strlen(b) - 3, "pdf") == 0 &&
                                   strlen(a) == strlen(b) - 3 &&
                                   strncmp(a, b, strlen(a)) == 0)))
            return 1;
    }
    return 0;
}

/* ---- version order and text families ----------------------------------- */

/* Compare dotted numeric versions "2.1" < "2.10" < "20191213"; a component
 * that is not a number compares as text. */
static int cmp_version(const char *a, const char *b)
{
    while (*a || *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            char *ea, *eb;
            unsigned long long x = strtoull(a, &ea, 10), y = strtoull(b, &eb, 10);
            if (x != y)
                return x < y ? -1 : 1;
            a = ea;
            b = eb;
        } else if (!*a || !*b) {
            return *a ? 1 : -1;
        } else if (*a != *b) {
            return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
        } else {
            a++;
            b++;
        }
        if (*a == '.' && *b == '.') {
            a++;
            b++;
        }
    }
    return 0;
}

int rag_doc_version_cmp(const char *version_a, const char *date_a, const char *version_b,
                        const char *date_b)
{
    const char *va = version_a ? version_a : "", *vb = version_b ? version_b : "";
    const char *da = date_a ? date_a : "", *db = date_b ? date_b : "";
    if (*da && *db) {
        /* ISO dates compare as text; "2021-12" vs "2021-12-04": the month */
        size_t n = strlen(da) < strlen(db) ? strlen(da) : strlen(db);
        int c = strncmp(da, db, n);
        if (c != 0)
            return c < 0 ? -1 : 1;
    }
    if (isdigit((unsigned char)*va) && isdigit((unsigned char)*vb)) {
        int c = cmp_version(va, vb);
        if (c != 0)
            return c;
    }
    if (*da != *db)
        return *da ? 1 : -1;   /* a dated document over an undated one */
    return 0;
}

/* Title words for family comparison: lower case, alphanumeric runs, with
 * version statements and years dropped. Returns the count (<= cap). */
static size_t title_words(const char *t, char words[][24], size_t cap, char *volume,
                          size_t n_volume)
{
    size_t n = 0, i = 0, len = strlen(t);
    int skip_next = 0;
    volume[0] = '\0';
    while (i < len && n < cap) {
        size_t j = i, w;
        while (j < len && !isalnum((unsigned char)t[j]))
            j++;
        w = j;
        while (w < len && isalnum((unsigned char)t[w]))
            w++;
        if (w == j)
            break;
        {
            char word[24];
            size_t k = w - j < sizeof word - 1 ? w - j : sizeof word - 1;
            for (size_t c = 0; c < k; c++)
                word[c] = (char)tolower((unsigned char)t[j + c]);
            word[k] = '\0';
            if (skip_next) {
                skip_next = 0;
                if (strcmp(volume, "?") == 0)
                    snprintf(volume, n_volume, "%s", word);
            } else if (strcmp(word, "version") == 0 || strcmp(word, "document") == 0) {
                skip_next = strcmp(word, "version") == 0;
            } else if (strspn(word, "0123456789") == k) {
                /* a year, a version's parts: not part of the name */
            } else {
                if (strcmp(word, "volume") == 0 || strcmp(word, "vol") == 0) {
                    snprintf(volume, n_volume, "?");
                    skip_next = 1;
                }
                memcpy(words[n++], word, k + 1);
            }
        }
        i = w;
    }
    if (strcmp(volume, "?") == 0)
        volume[0] = '\0';
    return n;
}

double rag_title_similarity(const char *a, const char *b)
{
    char wa[48][24], wb[48][24], va[24], vb[24];
    size_t na = title_words(a ? a : "", wa, 48, va, sizeof va);
    size_t nb = title_words(b ? b : "", wb, 48, vb, sizeof vb);
    size_t inter = 0, uni;
    if (na == 0 || nb == 0)
        return 0.0;
    if (va[0] && vb[0] && strcmp(va, vb) != 0)
        return 0.0;            /* Volume I and Volume II are two texts */
    for (size_t i = 0; i < na; i++) {
        int dup = 0;
        for (size_t k = 0; k < i && !dup; k++)
            dup = strcmp(wa[i], wa[k]) == 0;
        if (dup)
            continue;
        for (size_t j = 0; j < nb; j++)
            if (strcmp(wa[i], wb[j]) == 0) {
                inter++;
                break;
            }
    }
    /* distinct words of each */
    {
        size_t da = 0, db = 0;
        for (size_t i = 0; i < na; i++) {
            int dup = 0;
            for (size_t k = 0; k < i && !dup; k++)
                dup = strcmp(wa[i], wa[k]) == 0;
            da += !dup;
        }
        for (size_t i = 0; i < nb; i++) {
            int dup = 0;
            for (size_t k = 0; k < i && !dup; k++)
                dup = strcmp(wb[i], wb[k]) == 0;
            db += !dup;
        }
        uni = da + db - inter;
    }
    return uni ? (double)inter / (double)uni : 0.0;
}

int rag_title_same_family(const char *a, const char *b)
{
    return rag_title_similarity(a, b) >= RAG_TITLE_FAMILY_MIN;
}
