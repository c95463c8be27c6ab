/* builder.c - the normalising text builder every extractor writes through
 * (see ingest_internal.h for the rules it applies).
 *
 * Hot path: runs of printable ASCII are appended with one memcpy; only
 * non-ASCII bytes go through the code-point normaliser. Tag tracking (PDF
 * highlight geometry) costs one untaken branch per write otherwise.
 */
#include "ingest/ingest_internal.h"

#include <stdio.h>
#include <string.h>

void ib_init(ib *b, const char *name, size_t max_text_bytes)
{
    memset(b, 0, sizeof *b);
    b->name = name;
    b->text.max_len = max_text_bytes;
    b->cur_tag = IB_NO_TAG;
}

void ib_set_deadline(ib *b, double deadline_ms, double max_seconds)
{
    b->deadline_ms = deadline_ms;
    b->max_seconds = max_seconds;
}

int ib_check_time(ib *b)
{
    if (b->rc == RAG_OK && b->deadline_ms > 0 && rag_now_ms() > b->deadline_ms) {
        rag_err e;
        rag__fail_time(&e, b->name, b->max_seconds);
        b->rc = RAG_ELIMIT;
        b->err = e;
    }
    return b->rc;
}

double rag__deadline(const rag_extract_opts *opts)
{
    return opts && opts->max_seconds > 0 ? rag_now_ms() + opts->max_seconds * 1000.0 : 0;
}

int rag__fail_time(rag_err *err, const char *name, double max_seconds)
{
    return rag_fail(err, RAG_ELIMIT, "%s: not extracted within %g s, the per-file time "
                    "limit (ingest.max_file_seconds)", name, max_seconds);
}

void ib_fini(ib *b)
{
    rag_buf_fini(&b->text);
    rag_free(b->pages);
    for (size_t i = 0; i < b->n_marks; i++)
        rag_free(b->marks[i].path);
    rag_free(b->marks);
    rag_free(b->tags);
    for (int i = 0; i <= IB_MAX_LEVELS; i++)
        rag_free(b->heads[i]);
    memset(b, 0, sizeof *b);
}

int ib_fail(ib *b, int code, const char *fmt, ...)
{
    va_list ap;
    char msg[200];

    if (b->rc < 0)
        return b->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    b->rc = code;
    rag_fail(&b->err, code, "%s: %s", b->name, msg);
    return code;
}

static int buf_fail(ib *b, int rc)
{
    if (rc == RAG_ELIMIT)
        return ib_fail(b, rc, "extracted text is over the %zu-byte limit",
                       b->text.max_len);
    return ib_fail(b, rc, "out of memory while extracting text");
}

/* Tags for the n bytes just written at text offset pos: src[0..n), or
 * cur_tag for each when src is NULL. */
static int put_tags(ib *b, size_t pos, size_t n, const uint32_t *src)
{
    size_t at, need;

    if (pos < b->tag_base)
        return RAG_OK;
    at = pos - b->tag_base;
    need = at + n;
    if (need > b->cap_tags) {
        size_t cap = b->cap_tags ? b->cap_tags : 4096;
        uint32_t *t;
        while (cap < need)
            cap *= 2;
        t = rag_realloc(b->tags, cap * sizeof *t);
        if (!t)
            return ib_fail(b, RAG_ENOMEM, "out of memory");
        b->tags = t;
        b->cap_tags = cap;
    }
    for (size_t i = 0; i < n; i++)
        b->tags[at + i] = src ? src[i] : b->cur_tag;
    return RAG_OK;
}

/* Append n bytes; while tracking, tag them with src[0..n) (NULL: cur_tag). */
static inline int raw_tagged(ib *b, const char *s, size_t n, const uint32_t *src)
{
    int rc;
    if (b->text.len + n + 1 > b->text.cap || !b->text.data ||
        (b->text.max_len && b->text.len + n > b->text.max_len)) {
        rc = rag_buf_reserve(&b->text, n);
        if (rc < 0)
            return buf_fail(b, rc);
    }
    memcpy(b->text.data + b->text.len, s, n);
    b->text.len += n;
    b->text.data[b->text.len] = '\0';
    if (b->tracking)
        return put_tags(b, b->text.len - n, n, src);
    return RAG_OK;
}

static inline int raw(ib *b, const char *s, size_t n)
{
    return raw_tagged(b, s, n, NULL);
}

static inline int is_alnum_ascii(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

static size_t sep_bytes(const ib *b)
{
    if (b->text.len == 0)
        return 0;
    switch (b->sep) {
    case IB_SEP_SPACE: return 1;
    case IB_SEP_LINE: return 1;
    case IB_SEP_PARA: return 2;
    default: return 0;
    }
}

size_t ib_next_pos(const ib *b)
{
    return b->text.len + sep_bytes(b);
}

void ib_break(ib *b, int sep)
{
    if (sep > b->sep)
        b->sep = sep;
}

/* Write the pending separator before visible character `next`. */
static int flush_sep(ib *b, uint32_t next)
{
    int sep = b->sep;
    size_t len = b->text.len;

    b->sep = IB_SEP_NONE;
    if (len == 0 || sep == IB_SEP_NONE) {
        b->soft_hyphen = 0;
        return RAG_OK;
    }
    if (sep == IB_SEP_LINE) {
        const char *t = b->text.data;
        if (b->soft_hyphen && is_alnum_ascii(next)) {
            b->soft_hyphen = 0;
            return RAG_OK;
        }
        if (len >= 2 && t[len - 1] == '-' && is_alnum_ascii((unsigned char)t[len - 2]) &&
            is_alnum_ascii(next)) {
            unsigned char p = (unsigned char)t[len - 2];
            if (p >= 'a' && p <= 'z' && next >= 'a' && next <= 'z') {
                b->text.len--;
                b->text.data[b->text.len] = '\0';
            }
            return RAG_OK;
        }
    }
    b->soft_hyphen = 0;
    {
        uint32_t tag = b->cur_tag;
        int rc;
        b->cur_tag = IB_NO_TAG;   /* a separator comes from no one character */
        switch (sep) {
        case IB_SEP_SPACE: rc = raw(b, " ", 1); break;
        case IB_SEP_LINE: rc = raw(b, "\n", 1); break;
        default: rc = raw(b, "\n\n", 2); break;
        }
        b->cur_tag = tag;
        return rc;
    }
}

static int emit_cp(ib *b, uint32_t cp)
{
    char enc[4];
    int rc;

    if (b->sep != IB_SEP_NONE || b->soft_hyphen) {
        rc = flush_sep(b, cp);
        if (rc < 0)
            return rc;
    }
    if (cp < 0x80) {
        enc[0] = (char)cp;
        return raw(b, enc, 1);
    }
    return raw(b, enc, rag_utf8_encode(cp, enc));
}

int ib_put_cp(ib *b, uint32_t cp)
{
    static const char *const lig[] = {"ff", "fi", "fl", "ffi", "ffl", "st", "st"};
    int rc;

    if (b->rc < 0)
        return b->rc;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp == '\n' || cp == 0x2028) {
        ib_break(b, IB_SEP_LINE);
        return RAG_OK;
    }
    if (cp == 0x2029) {
        ib_break(b, IB_SEP_PARA);
        return RAG_OK;
    }
    if (cp == ' ' || cp == '\t' || cp == '\r' || cp == '\f' || cp == '\v' ||
        cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
        cp == 0x202F || cp == 0x205F || cp == 0x3000) {
        ib_break(b, IB_SEP_SPACE);
        return RAG_OK;
    }
    if (cp == 0xAD) {           /* soft hyphen: invisible unless at a break */
        b->soft_hyphen = 1;
        return RAG_OK;
    }
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || (cp >= 0x200B && cp <= 0x200D) ||
        cp == 0x2060 || cp == 0xFEFF)
        return RAG_OK;
    if (cp >= 0xFB00 && cp <= 0xFB06) {
        const char *s = lig[cp - 0xFB00];
        for (; *s; s++) {
            rc = emit_cp(b, (unsigned char)*s);
            if (rc < 0)
                return rc;
        }
        return RAG_OK;
    }
    return emit_cp(b, cp);
}

/* Four or more dots in a row: a table-of-contents leader. */
static inline int is_leader(const unsigned char *p, size_t i, size_t n)
{
    return p[i] == '.' && i + 3 < n && p[i + 1] == '.' && p[i + 2] == '.' &&
           p[i + 3] == '.';
}

int ib_put(ib *b, const char *s, size_t n_bytes, int newlines_break)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, run, k, next_check = (size_t)1 << 20;
    uint32_t cp;
    int rc, n_newlines = 0;

    if (b->rc < 0)
        return b->rc;
    /* the clock: every 256 calls, and every MiB of one long call */
    if (b->deadline_ms > 0 && (++b->n_calls & 255) == 0 && ib_check_time(b) < 0)
        return b->rc;
    while (i < n_bytes) {
        unsigned char c = p[i];
        if (i >= next_check && b->deadline_ms > 0) {
            next_check = i + ((size_t)1 << 20);
            if (ib_check_time(b) < 0)
                return b->rc;
        }
        if (b->in_tags)
            b->cur_tag = b->in_tags[i];
        if (c > 0x20 && c < 0x7F) {
            if (is_leader(p, i, n_bytes)) {
                /* Dot leaders become "..." (they carry no words). */
                while (i < n_bytes && p[i] == '.')
                    i++;
                rc = emit_cp(b, '.');
                if (rc == RAG_OK && b->in_tags)
                    b->cur_tag = b->in_tags[i - 1];   /* "..": the last dot */
                if (rc == RAG_OK)
                    rc = raw(b, "..", 2);
                if (rc < 0)
                    return rc;
                n_newlines = 0;
                continue;
            }
            /* First byte through the separator logic, then the run. */
            rc = emit_cp(b, c);
            if (rc < 0)
                return rc;
            run = i + 1;
            while (run < n_bytes && p[run] > 0x20 && p[run] < 0x7F &&
                   !is_leader(p, run, n_bytes))
                run++;
            if (run > i + 1) {
                rc = raw_tagged(b, s + i + 1, run - i - 1,
                                b->in_tags ? b->in_tags + i + 1 : NULL);
                if (rc < 0)
                    return rc;
            }
            i = run;
            n_newlines = 0;
            continue;
        }
        if (c == '\n') {
            if (newlines_break) {
                n_newlines++;
                ib_break(b, n_newlines >= 2 ? IB_SEP_PARA : IB_SEP_LINE);
            } else {
                ib_break(b, IB_SEP_SPACE);
            }
            i++;
            continue;
        }
        if (c < 0x80) {
            if (c != ' ' && c != '\t' && c != '\r' && c != '\f' && c != '\v')
                n_newlines = 0;
            rc = ib_put_cp(b, c);
            i++;
        } else {
            k = rag_utf8_decode(p + i, n_bytes - i, &cp);
            if (k == 0) {
                b->n_replaced++;
                cp = 0xFFFD;
                k = 1;
            }
            n_newlines = 0;
            rc = ib_put_cp(b, cp);
            i += k;
        }
        if (rc < 0)
            return rc;
    }
    return RAG_OK;
}

int ib_put_tagged(ib *b, const char *s, size_t n_bytes, int newlines_break,
                  const uint32_t *tags)
{
    int rc;

    b->in_tags = tags;
    rc = ib_put(b, s, n_bytes, newlines_break);
    b->in_tags = NULL;
    b->cur_tag = IB_NO_TAG;
    return rc;
}

void ib_track_begin(ib *b)
{
    b->tracking = 1;
    b->tag_base = b->text.len;
    b->n_tags = 0;
}

void ib_track_end(ib *b)
{
    if (!b->tracking)
        return;
    b->tracking = 0;
    b->n_tags = b->text.len > b->tag_base ? b->text.len - b->tag_base : 0;
}

uint32_t *ib_take_tags(ib *b, size_t *base, size_t *n)
{
    uint32_t *t = b->tags;

    ib_track_end(b);
    *base = b->tag_base;
    *n = t ? b->n_tags : 0;
    b->tags = NULL;
    b->cap_tags = 0;
    b->n_tags = 0;
    return t;
}

int ib_put_verbatim(ib *b, const char *s, size_t n_bytes)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0, k, line_start;
    uint32_t cp;
    char enc[4];
    int rc, blank_run = 0;

    if (b->rc < 0)
        return b->rc;
    /* Drop trailing whitespace of the whole block. */
    while (n_bytes > 0 && (p[n_bytes - 1] == '\n' || p[n_bytes - 1] == '\r' ||
                           p[n_bytes - 1] == ' ' || p[n_bytes - 1] == '\t'))
        n_bytes--;
    while (i < n_bytes && (p[i] == '\n' || p[i] == '\r'))
        i++;
    if (i >= n_bytes)
        return RAG_OK;
    ib_break(b, IB_SEP_PARA);
    if (b->text.len > 0) {
        rc = raw(b, "\n\n", 2);
        if (rc < 0)
            return rc;
    }
    b->sep = IB_SEP_NONE;
    b->soft_hyphen = 0;
    line_start = b->text.len;
    while (i < n_bytes) {
        unsigned char c = p[i];
        if (c == '\r') {
            i++;
            continue;
        }
        if (c == '\n') {
            /* Strip trailing blanks of the line; keep at most one blank line. */
            while (b->text.len > line_start &&
                   (b->text.data[b->text.len - 1] == ' ' ||
                    b->text.data[b->text.len - 1] == '\t'))
                b->text.len--;
            if (b->text.len == line_start)
                blank_run++;
            else
                blank_run = 0;
            if (blank_run < 2) {
                rc = raw(b, "\n", 1);
                if (rc < 0)
                    return rc;
            }
            line_start = b->text.len;
            i++;
            continue;
        }
        if (c < 0x80) {
            i++;
            if (c < 0x20 && c != '\t')
                continue;
            if (c == 0x7F)
                continue;
            rc = raw(b, (const char *)&p[i - 1], 1);
        } else {
            k = rag_utf8_decode(p + i, n_bytes - i, &cp);
            if (k == 0) {
                b->n_replaced++;
                cp = 0xFFFD;
                k = 1;
            }
            i += k;
            rc = raw(b, enc, rag_utf8_encode(cp, enc));
        }
        if (rc < 0)
            return rc;
    }
    ib_break(b, IB_SEP_PARA);
    return RAG_OK;
}

int ib_page_begin(ib *b)
{
    rag_page_span *pages;
    size_t cap;

    if (b->rc < 0)
        return b->rc;
    ib_break(b, IB_SEP_PARA);
    if (b->n_pages == b->cap_pages) {
        cap = b->cap_pages ? b->cap_pages * 2 : 16;
        pages = rag_realloc(b->pages, cap * sizeof *pages);
        if (!pages)
            return ib_fail(b, RAG_ENOMEM, "out of memory");
        b->pages = pages;
        b->cap_pages = cap;
    }
    b->pages[b->n_pages].page = (int)b->n_pages + 1;
    b->pages[b->n_pages].byte_start = ib_next_pos(b);
    b->pages[b->n_pages].byte_end = 0;
    b->n_pages++;
    return RAG_OK;
}

static int add_mark(ib *b, size_t pos, char *path)
{
    rag_section_mark *marks;
    size_t cap;

    if (b->n_marks > 0 && b->marks[b->n_marks - 1].byte_start >= pos) {
        /* Same position (or an empty section in between): replace. */
        while (b->n_marks > 0 && b->marks[b->n_marks - 1].byte_start >= pos) {
            b->n_marks--;
            rag_free(b->marks[b->n_marks].path);
        }
    }
    if (b->n_marks == b->cap_marks) {
        cap = b->cap_marks ? b->cap_marks * 2 : 16;
        marks = rag_realloc(b->marks, cap * sizeof *marks);
        if (!marks) {
            rag_free(path);
            return ib_fail(b, RAG_ENOMEM, "out of memory");
        }
        b->marks = marks;
        b->cap_marks = cap;
    }
    b->marks[b->n_marks].byte_start = pos;
    b->marks[b->n_marks].path = path;
    b->n_marks++;
    return RAG_OK;
}

int ib_mark(ib *b, const char *path)
{
    char *copy;

    if (b->rc < 0)
        return b->rc;
    ib_break(b, IB_SEP_PARA);
    copy = rag_strdup(path);
    if (!copy)
        return ib_fail(b, RAG_ENOMEM, "out of memory");
    return add_mark(b, ib_next_pos(b), copy);
}

char *ib_clean_title(const char *s, size_t n_bytes, size_t max_bytes)
{
    char *out = rag_malloc(n_bytes + 1);
    size_t i, o = 0;
    int space = 0;

    if (!out)
        return NULL;
    for (i = 0; i < n_bytes; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            space = o > 0;
            continue;
        }
        if (space)
            out[o++] = ' ';
        space = 0;
        out[o++] = (char)c;
    }
    if (max_bytes && o > max_bytes)
        o = rag_utf8_floor(out, max_bytes);
    out[o] = '\0';
    return out;
}

int ib_heading(ib *b, int level, size_t pos, const char *title)
{
    rag_buf path = RAG_BUF_INIT;
    char *t;
    int rc = RAG_OK;

    if (b->rc < 0)
        return b->rc;
    if (level < 1)
        level = 1;
    if (level > IB_MAX_LEVELS)
        level = IB_MAX_LEVELS;
    if (title)
        t = ib_clean_title(title, strlen(title), IB_MAX_TITLE_BYTES);
    else if (pos < b->text.len)
        t = ib_clean_title(b->text.data + pos, b->text.len - pos,
                           IB_MAX_TITLE_BYTES);
    else
        t = rag_strdup("");
    if (!t)
        return ib_fail(b, RAG_ENOMEM, "out of memory");
    if (!*t) {                 /* an empty heading changes nothing */
        rag_free(t);
        return RAG_OK;
    }
    for (int i = level; i <= IB_MAX_LEVELS; i++) {
        rag_free(b->heads[i]);
        b->heads[i] = NULL;
    }
    b->heads[level] = t;
    for (int i = 1; i <= level && rc == RAG_OK; i++) {
        if (!b->heads[i])
            continue;
        if (path.len)
            rc = rag_buf_puts(&path, " > ");
        if (rc == RAG_OK)
            rc = rag_buf_puts(&path, b->heads[i]);
    }
    if (rc < 0) {
        rag_buf_fini(&path);
        return ib_fail(b, RAG_ENOMEM, "out of memory");
    }
    t = rag_buf_take(&path);
    if (!t)
        return ib_fail(b, RAG_ENOMEM, "out of memory");
    return add_mark(b, pos, t);
}

int ib_finish(ib *b, rag_doc *doc)
{
    size_t len, i;

    if (b->rc < 0)
        return b->rc;
    if (!b->text.data) {
        int rc = rag_buf_reserve(&b->text, 0);
        if (rc < 0)
            return buf_fail(b, rc);
        b->text.data[0] = '\0';
    }
    len = b->text.len;
    b->text.data[len] = '\0'; /* trailing blanks may have been cut in place */
    if (b->n_pages == 0) {
        b->sep = IB_SEP_NONE;
        if (ib_page_begin(b) < 0)
            return b->rc;
    }
    b->pages[0].byte_start = 0;
    for (i = 0; i < b->n_pages; i++) {
        if (b->pages[i].byte_start > len)
            b->pages[i].byte_start = len;
        if (i > 0 && b->pages[i].byte_start < b->pages[i - 1].byte_start)
            b->pages[i].byte_start = b->pages[i - 1].byte_start;
    }
    for (i = 0; i < b->n_pages; i++)
        b->pages[i].byte_end = i + 1 < b->n_pages ? b->pages[i + 1].byte_start : len;
    while (b->n_marks > 0 && b->marks[b->n_marks - 1].byte_start >= len) {
        b->n_marks--;
        rag_free(b->marks[b->n_marks].path);
    }
    doc->text_bytes = len;
    doc->text = rag_buf_take(&b->text);
    doc->pages = b->pages;
    doc->n_pages = b->n_pages;
    doc->sections = b->marks;
    doc->n_sections = b->n_marks;
    doc->n_replaced = b->n_replaced;
    b->pages = NULL;
    b->marks = NULL;
    b->n_pages = b->n_marks = b->cap_pages = b->cap_marks = 0;
    return RAG_OK;
}
