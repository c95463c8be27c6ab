/* multipart.c - multipart/form-data bodies (RFC 7578 over RFC 2046 §5.1).
 *
 *   body       = [preamble CRLF] dash-bnd part-start
 *                *( CRLF dash-bnd part-start ) CRLF dash-bnd "--" [epilogue]
 *   dash-bnd   = "--" boundary
 *   part-start = *( SP / HTAB ) CRLF part
 *   part       = *( header CRLF ) [ CRLF data ]
 *
 * A line starting with "--boundary" is a delimiter whatever follows it (RFC
 * 2046: the boundary need only appear in its entirety after the CRLF), so
 * what follows must be "--" or padding and CRLF; anything else is refused
 * rather than guessed at, so no two readers of the body can disagree about
 * where a part ends. Part data are never copied: each part points into the
 * caller's body. Only the decoded names live in the result's arena.
 */
#include "http_parse_int.h"

#include <string.h>

enum {
    DEFAULT_MAX_PARTS = 128,
    DEFAULT_MAX_HEADER_BYTES = 4096,
};

/* RFC 2046 bcharsnospace, plus space inside (never last). */
static int is_bchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("'()+_,-./:=? ", c) != NULL;
}

int rag_multipart_boundary(char out[RAG_MULTIPART_BOUNDARY_MAX + 1],
                           const char *content_type, rag_err *err)
{
    rag_hp_params it;
    rag_hp_param prm;
    rag_span type, sub;
    char q[64];
    char val[2 * RAG_MULTIPART_BOUNDARY_MAX + 2];
    size_t n_val = 0, n;
    int seen = 0, rc;

    out[0] = '\0';
    if (!content_type)
        return rag_fail(err, RAG_EFORMAT, "multipart: no Content-Type header");
    rc = rag_hp_params_start(&it, &type, content_type, strlen(content_type), err);
    if (rc < 0) {
        rag_err_prefix(err, "multipart: Content-Type");
        return rc;
    }
    n = 0;
    if (it.p < it.end && *it.p == '/') {
        while (it.p + 1 + n < it.end && rag_hp_is_tchar((unsigned char)it.p[1 + n]))
            n++;
    }
    sub.s = it.p + 1;
    sub.n = n;
    if (n == 0 || !rag_hp_ieq(type.s, type.n, "multipart") ||
        !rag_hp_ieq(sub.s, sub.n, "form-data")) {
        rag_hp_quote(q, sizeof q, content_type, strlen(content_type));
        return rag_fail(err, RAG_EFORMAT,
                        "multipart: Content-Type '%s' is not multipart/form-data", q);
    }
    it.p += 1 + n;
    while ((rc = rag_hp_params_next(&it, &prm, err)) == 1) {
        if (!rag_hp_ieq(prm.name.s, prm.name.n, "boundary"))
            continue;
        if (seen)
            return rag_fail(err, RAG_EFORMAT,
                            "multipart: Content-Type has the boundary parameter twice");
        seen = 1;
        if (prm.value.n > sizeof val)
            return rag_fail(err, RAG_EFORMAT,
                            "multipart: boundary is longer than %d characters",
                            RAG_MULTIPART_BOUNDARY_MAX);
        if (prm.quoted) {
            n_val = rag_hp_unquote(val, prm.value);
        } else {
            memcpy(val, prm.value.s, prm.value.n);
            n_val = prm.value.n;
        }
    }
    if (rc < 0) {
        rag_err_prefix(err, "multipart: Content-Type");
        return rc;
    }
    if (!seen)
        return rag_fail(err, RAG_EFORMAT, "multipart: Content-Type has no boundary parameter");
    if (n_val == 0 || n_val > RAG_MULTIPART_BOUNDARY_MAX)
        return rag_fail(err, RAG_EFORMAT, "multipart: boundary has %zu characters, not 1..%d",
                        n_val, RAG_MULTIPART_BOUNDARY_MAX);
    for (size_t i = 0; i < n_val; i++) {
        if (!is_bchar((unsigned char)val[i])) {
            rag_hp_quote(q, sizeof q, val + i, 1);
            return rag_fail(err, RAG_EFORMAT,
                            "multipart: boundary has '%s' at character %zu (RFC 2046 "
                            "allows letters, digits and '()+_,-./:=? )",
                            q, i + 1);
        }
    }
    if (val[n_val - 1] == ' ')
        return rag_fail(err, RAG_EFORMAT, "multipart: boundary ends in a space");
    memcpy(out, val, n_val);
    out[n_val] = '\0';
    return RAG_OK;
}

/* ---- the body ----------------------------------------------------------- */

typedef struct {
    rag_multipart *m;
    size_t max_header_bytes;
    size_t part_no; /* 1-based, for messages */
    rag_err *err;
} mp;

typedef struct {
    int have_disposition, have_type;
    const char *name;
    const char *raw_filename;
    const char *content_type;
} part_headers;

static char *arena_copy(mp *c, const char *s, size_t n)
{
    char *d = rag_arena_alloc(c->m->arena, n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* A token or quoted-string parameter value, unquoted, NUL-terminated. */
static char *param_value(mp *c, const rag_hp_param *prm, size_t *n_out)
{
    char *d;
    if (!prm->quoted) {
        *n_out = prm->value.n;
        return arena_copy(c, prm->value.s, prm->value.n);
    }
    d = rag_arena_alloc(c->m->arena, prm->value.n + 1);
    if (!d)
        return NULL;
    *n_out = rag_hp_unquote(d, prm->value);
    d[*n_out] = '\0';
    return d;
}

static int nomem(mp *c)
{
    return rag_fail(c->err, RAG_ENOMEM, "multipart: out of memory");
}

static int parse_disposition(mp *c, part_headers *h, const char *v, size_t n_v)
{
    rag_hp_params it;
    rag_hp_param prm, name = {{0}, {0}, 0}, fname = {{0}, {0}, 0}, fstar = {{0}, {0}, 0};
    rag_span type;
    char q[64];
    size_t n;
    int rc;

    rc = rag_hp_params_start(&it, &type, v, n_v, c->err);
    if (rc < 0)
        goto bad;
    if (!rag_hp_ieq(type.s, type.n, "form-data")) {
        rag_hp_quote(q, sizeof q, type.s, type.n);
        return rag_fail(c->err, RAG_EFORMAT,
                        "multipart: part %zu: Content-Disposition is '%s', not form-data",
                        c->part_no, q);
    }
    while ((rc = rag_hp_params_next(&it, &prm, c->err)) == 1) {
        rag_hp_param *slot = NULL;
        if (rag_hp_ieq(prm.name.s, prm.name.n, "name"))
            slot = &name;
        else if (rag_hp_ieq(prm.name.s, prm.name.n, "filename"))
            slot = &fname;
        else if (rag_hp_ieq(prm.name.s, prm.name.n, "filename*"))
            slot = &fstar;
        if (!slot)
            continue; /* RFC 7578: other parameters are ignored */
        if (slot->name.s) {
            rag_hp_quote(q, sizeof q, prm.name.s, prm.name.n);
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: part %zu: Content-Disposition parameter '%s' repeated",
                            c->part_no, q);
        }
        *slot = prm;
    }
    if (rc < 0)
        goto bad;

    if (!name.name.s)
        return rag_fail(c->err, RAG_EFORMAT, "multipart: part %zu has no name", c->part_no);
    h->name = param_value(c, &name, &n);
    if (!h->name)
        return nomem(c);
    if (n == 0)
        return rag_fail(c->err, RAG_EFORMAT, "multipart: part %zu has an empty name",
                        c->part_no);
    if (!rag_utf8_valid(h->name, n))
        return rag_fail(c->err, RAG_EFORMAT, "multipart: part %zu: name is not valid UTF-8",
                        c->part_no);

    if (fstar.name.s) {
        char *d;
        if (fstar.quoted)
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: part %zu: filename* must not be quoted (RFC 8187)",
                            c->part_no);
        d = rag_arena_alloc(c->m->arena, fstar.value.n + 1);
        if (!d)
            return nomem(c);
        rc = rag_hp_ext_value(d, &n, fstar.value, c->err);
        if (rc < 0) {
            rag_err_prefix(c->err, "multipart: part %zu: filename*", c->part_no);
            return rc;
        }
        d[n] = '\0';
        h->raw_filename = d;
    } else if (fname.name.s) {
        h->raw_filename = param_value(c, &fname, &n);
        if (!h->raw_filename)
            return nomem(c);
        if (!rag_utf8_valid(h->raw_filename, n))
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: part %zu: filename is not valid UTF-8", c->part_no);
    }
    return RAG_OK;
bad:
    rag_err_prefix(c->err, "multipart: part %zu: Content-Disposition", c->part_no);
    return rc;
}

/* One header line (no CRLF). */
static int parse_header(mp *c, part_headers *h, const char *line, size_t n, size_t line_no)
{
    size_t n_name = 0, a, b;
    char q[64];

    if (n && (line[0] == ' ' || line[0] == '\t'))
        return rag_fail(c->err, RAG_EFORMAT,
                        "multipart: part %zu: header line %zu is folded (obs-fold is not "
                        "allowed)",
                        c->part_no, line_no);
    while (n_name < n && rag_hp_is_tchar((unsigned char)line[n_name]))
        n_name++;
    if (n_name == 0 || n_name == n || line[n_name] != ':') {
        rag_hp_quote(q, sizeof q, line, n);
        return rag_fail(c->err, RAG_EFORMAT,
                        "multipart: part %zu: header line %zu '%s' is not 'Name: value'",
                        c->part_no, line_no, q);
    }
    a = n_name + 1;
    b = n;
    while (a < b && (line[a] == ' ' || line[a] == '\t'))
        a++;
    while (b > a && (line[b - 1] == ' ' || line[b - 1] == '\t'))
        b--;
    for (size_t i = a; i < b; i++) {
        unsigned char ch = (unsigned char)line[i];
        if ((ch < 0x20 && ch != '\t') || ch == 0x7f) {
            rag_hp_quote(q, sizeof q, line, n_name);
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: part %zu: header '%s' has control character 0x%02x",
                            c->part_no, q, ch);
        }
    }
    if (rag_hp_ieq(line, n_name, "Content-Disposition")) {
        if (h->have_disposition)
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: part %zu has two Content-Disposition headers",
                            c->part_no);
        h->have_disposition = 1;
        return parse_disposition(c, h, line + a, b - a);
    }
    if (rag_hp_ieq(line, n_name, "Content-Type")) {
        if (h->have_type)
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: part %zu has two Content-Type headers", c->part_no);
        h->have_type = 1;
        if (a == b)
            return rag_fail(c->err, RAG_EFORMAT, "multipart: part %zu: empty Content-Type",
                            c->part_no);
        for (size_t i = a; i < b; i++) {
            if ((unsigned char)line[i] >= 0x80)
                return rag_fail(c->err, RAG_EFORMAT,
                                "multipart: part %zu: Content-Type has a non-ASCII byte",
                                c->part_no);
        }
        h->content_type = arena_copy(c, line + a, b - a);
        return h->content_type ? RAG_OK : nomem(c);
    }
    if (rag_hp_ieq(line, n_name, "Content-Transfer-Encoding")) {
        if (rag_hp_ieq(line + a, b - a, "7bit") || rag_hp_ieq(line + a, b - a, "8bit") ||
            rag_hp_ieq(line + a, b - a, "binary"))
            return RAG_OK;
        rag_hp_quote(q, sizeof q, line + a, b - a);
        return rag_fail(c->err, RAG_EFORMAT,
                        "multipart: part %zu: Content-Transfer-Encoding '%s' is not supported",
                        c->part_no, q);
    }
    return RAG_OK; /* other headers are ignored */
}

/* The part p[0..n): everything between the CRLF after its boundary line and
 * the CRLF of the next delimiter. */
static int parse_part(mp *c, const char *p, size_t n, rag_multipart_part *out)
{
    part_headers h = {0};
    size_t n_hdr, data_off, max = c->max_header_bytes;
    size_t i, line_no = 0;
    int rc;

    if (n == 0) {
        n_hdr = 0; /* neither headers nor data */
        data_off = 0;
    } else if (n >= 2 && p[0] == '\r' && p[1] == '\n') {
        n_hdr = 0; /* no headers at all */
        data_off = 2;
    } else {
        size_t win = n < max + 2 ? n : max + 2;
        const char *e = memmem(p, win, "\r\n\r\n", 4);
        if (e) {
            n_hdr = (size_t)(e - p) + 2;
            data_off = n_hdr + 2;
        } else if (n > max + 2) {
            return rag_fail(c->err, RAG_ELIMIT,
                            "multipart: part %zu: headers exceed %zu bytes", c->part_no, max);
        } else if (n >= 2 && p[n - 2] == '\r' && p[n - 1] == '\n') {
            n_hdr = n; /* headers and no body */
            data_off = n;
        } else {
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: part %zu: headers are not ended by a blank line",
                            c->part_no);
        }
        if (n_hdr > max)
            return rag_fail(c->err, RAG_ELIMIT,
                            "multipart: part %zu: headers exceed %zu bytes", c->part_no, max);
    }

    for (i = 0; i < n_hdr;) {
        size_t j = i;
        while (j < n_hdr && p[j] != '\r' && p[j] != '\n')
            j++;
        line_no++;
        /* n_hdr ends in CRLF, so j < n_hdr here */
        if (p[j] != '\r' || j + 1 >= n_hdr || p[j + 1] != '\n')
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: part %zu: header line %zu ends in a bare %s, not CRLF",
                            c->part_no, line_no, p[j] == '\r' ? "CR" : "LF");
        rc = parse_header(c, &h, p + i, j - i, line_no);
        if (rc < 0)
            return rc;
        i = j + 2;
    }
    if (!h.have_disposition)
        return rag_fail(c->err, RAG_EFORMAT,
                        "multipart: part %zu has no Content-Disposition header", c->part_no);

    out->name = h.name;
    out->raw_filename = h.raw_filename;
    out->filename = NULL;
    if (h.raw_filename && h.raw_filename[0]) {
        char safe[RAG_FILENAME_MAX + 1];
        rc = rag_safe_filename(safe, sizeof safe, h.raw_filename, c->err);
        if (rc < 0) {
            rag_err_prefix(c->err, "multipart: part %zu", c->part_no);
            return rc;
        }
        out->filename = arena_copy(c, safe, strlen(safe));
        if (!out->filename)
            return nomem(c);
    }
    out->content_type = h.content_type;
    out->data = p + data_off;
    out->n_data = n - data_off;
    return RAG_OK;
}

static int add_part(mp *c, size_t max_parts, size_t *cap, rag_multipart_part **slot)
{
    rag_multipart *m = c->m;
    if (m->n_parts == max_parts)
        return rag_fail(c->err, RAG_ELIMIT, "multipart: more than %zu parts", max_parts);
    if (m->n_parts == *cap) {
        size_t n_new = *cap ? *cap * 2 : 8;
        rag_multipart_part *grown;
        if (n_new > max_parts)
            n_new = max_parts;
        grown = rag_realloc(m->parts, n_new * sizeof *grown);
        if (!grown)
            return nomem(c);
        m->parts = grown;
        *cap = n_new;
    }
    *slot = &m->parts[m->n_parts];
    return RAG_OK;
}

static int parse_body(mp *c, const char *body, size_t n_body, const char *bnd, size_t n_bnd,
                      size_t max_parts)
{
    char delim[4 + RAG_MULTIPART_BOUNDARY_MAX];
    size_t n_delim = 4 + n_bnd, pos, cap = 0;
    const char *d;
    char q[64];

    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, bnd, n_bnd);

    /* the first delimiter may open the body without a CRLF before it */
    if (n_body >= n_delim - 2 && memcmp(body, delim + 2, n_delim - 2) == 0) {
        pos = n_delim - 2;
    } else {
        d = n_body ? memmem(body, n_body, delim, n_delim) : NULL;
        if (!d) {
            rag_hp_quote(q, sizeof q, bnd, n_bnd);
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: the body has no opening boundary '--%s'", q);
        }
        pos = (size_t)(d - body) + n_delim;
    }

    for (;;) {
        size_t at = pos, start;
        rag_multipart_part *part = NULL;
        int rc;

        if (n_body - pos >= 2 && body[pos] == '-' && body[pos + 1] == '-')
            return RAG_OK; /* close delimiter; the rest is epilogue */
        while (pos < n_body && (body[pos] == ' ' || body[pos] == '\t'))
            pos++;
        if (n_body - pos < 2 || body[pos] != '\r' || body[pos + 1] != '\n') {
            if (pos == n_body)
                return rag_fail(c->err, RAG_EFORMAT,
                                "multipart: the body ends after the boundary at byte %zu "
                                "(no closing boundary)",
                                at - (n_delim - 2));
            rag_hp_quote(q, sizeof q, body + pos, n_body - pos > 8 ? 8 : n_body - pos);
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: the boundary ending at byte %zu is followed by '%s', "
                            "not CRLF or '--'",
                            at, q);
        }
        start = pos + 2;
        c->part_no = c->m->n_parts + 1;
        d = memmem(body + start, n_body - start, delim, n_delim);
        if (!d)
            return rag_fail(c->err, RAG_EFORMAT,
                            "multipart: no closing boundary: the body ends inside part %zu",
                            c->part_no);
        rc = add_part(c, max_parts, &cap, &part);
        if (rc < 0)
            return rc;
        rc = parse_part(c, body + start, (size_t)(d - body) - start, part);
        if (rc < 0)
            return rc;
        c->m->n_parts++;
        pos = (size_t)(d - body) + n_delim;
    }
}

int rag_multipart_parse(rag_multipart **out, const char *body, size_t n_body,
                        const char *boundary, const rag_multipart_limits *limits,
                        rag_err *err)
{
    rag_multipart_limits lim = limits ? *limits : (rag_multipart_limits){0};
    rag_multipart *m;
    size_t n_bnd = boundary ? strlen(boundary) : 0;
    mp c;
    int rc;

    *out = NULL;
    if (!lim.max_parts)
        lim.max_parts = DEFAULT_MAX_PARTS;
    if (!lim.max_header_bytes)
        lim.max_header_bytes = DEFAULT_MAX_HEADER_BYTES;
    if (n_bnd == 0 || n_bnd > RAG_MULTIPART_BOUNDARY_MAX)
        return rag_fail(err, RAG_EINVAL, "multipart: boundary must have 1..%d characters",
                        RAG_MULTIPART_BOUNDARY_MAX);
    if (!body)
        n_body = 0;
    m = rag_calloc(1, sizeof *m);
    if (!m)
        return rag_fail(err, RAG_ENOMEM, "multipart: out of memory");
    m->arena = rag_arena_create(4096);
    if (!m->arena) {
        rag_free(m);
        return rag_fail(err, RAG_ENOMEM, "multipart: out of memory");
    }
    c.m = m;
    c.max_header_bytes = lim.max_header_bytes;
    c.part_no = 0;
    c.err = err;
    rc = parse_body(&c, body ? body : "", n_body, boundary, n_bnd, lim.max_parts);
    if (rc < 0) {
        rag_multipart_destroy(m);
        return rc;
    }
    *out = m;
    return RAG_OK;
}

void rag_multipart_destroy(rag_multipart *m)
{
    if (!m)
        return;
    rag_arena_destroy(m->arena);
    rag_free(m->parts);
    rag_free(m);
}
