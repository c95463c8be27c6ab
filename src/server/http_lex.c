/* http_lex.c - the lexical pieces the server's parsers share: RFC 9110
 * tokens and quoted strings, header parameters, percent-decoding, RFC 8187
 * ext-values, and quoting outside input safely into error messages.
 *
 * Header parameters (RFC 9110 §5.6.6, as used by Content-Type and RFC 6266
 * Content-Disposition):
 *
 *   value     = type *( OWS ";" OWS parameter )
 *   parameter = token "=" ( token / quoted-string )
 *   quoted-string = DQUOTE *( qdtext / "\" octet ) DQUOTE
 *   qdtext    = HTAB / SP / 0x21 / 0x23-0x5B / 0x5D-0x7E / 0x80-0xFF
 *
 * Strict except for two things senders really do: empty parameters (";;",
 * a trailing ';'), and raw UTF-8 (obs-text) inside quoted strings.
 */
#include "http_parse_int.h"

#include <stdio.h>
#include <string.h>

int rag_hp_is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

int rag_hp_hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + 32) : c;
}

int rag_hp_ieq(const char *s, size_t n, const char *lit)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (!lit[i] || lower((unsigned char)s[i]) != lower((unsigned char)lit[i]))
            return 0;
    }
    return lit[i] == '\0';
}

void rag_hp_quote(char *out, size_t n_out, const char *s, size_t n_s)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0, i;
    size_t n_show = n_s > 40 ? 40 : n_s;

    if (n_out == 0)
        return;
    for (i = 0; i < n_show; i++) {
        unsigned char c = (unsigned char)s[i];
        /* worst case: 4 bytes for this one, then "..." and the NUL */
        if (o + 4 + 4 > n_out)
            break;
        if (c == '\'' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
        } else if (c >= 0x20 && c < 0x7f) {
            out[o++] = (char)c;
        } else {
            out[o++] = '\\';
            out[o++] = 'x';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    if (i < n_s && o + 4 <= n_out) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
}

int rag_hp_pct_decode(char *out, size_t *n_out, const char *s, size_t n_s,
                      unsigned flags, size_t *bad_at)
{
    size_t o = 0;
    for (size_t i = 0; i < n_s; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '%') {
            int hi = i + 1 < n_s ? rag_hp_hex((unsigned char)s[i + 1]) : -1;
            int lo = i + 2 < n_s ? rag_hp_hex((unsigned char)s[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                *bad_at = i;
                return -1;
            }
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
        } else if (c == '+' && (flags & RAG_HP_PLUS_SPACE)) {
            out[o++] = ' ';
        } else {
            out[o++] = (char)c;
        }
    }
    *n_out = o;
    return 0;
}

/* ---- header parameters ------------------------------------------------- */

static void skip_ows(rag_hp_params *it)
{
    while (it->p < it->end && (*it->p == ' ' || *it->p == '\t'))
        it->p++;
}

static size_t token_len(const char *p, const char *end)
{
    size_t n = 0;
    while (p + n < end && rag_hp_is_tchar((unsigned char)p[n]))
        n++;
    return n;
}

static size_t at(const rag_hp_params *it)
{
    return (size_t)(it->p - it->start);
}

int rag_hp_params_start(rag_hp_params *it, rag_span *type, const char *value,
                        size_t n_value, rag_err *err)
{
    size_t n;
    it->start = value;
    it->p = value;
    it->end = value + n_value;
    skip_ows(it);
    n = token_len(it->p, it->end);
    if (n == 0)
        return rag_fail(err, RAG_EFORMAT, "no type at byte %zu", at(it));
    type->s = it->p;
    type->n = n;
    it->p += n;
    return 0;
}

/* A quoted string starting at it->p (on the DQUOTE); returns its length
 * including both quotes, or an error. */
static int scan_quoted(rag_hp_params *it, size_t *n_out, rag_err *err)
{
    const char *q = it->p + 1;
    while (q < it->end) {
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            *n_out = (size_t)(q + 1 - it->p);
            return 0;
        }
        if (c == '\\') {
            if (q + 1 >= it->end)
                break;
            c = (unsigned char)q[1];
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return rag_fail(err, RAG_EFORMAT,
                                "control character 0x%02x in a quoted string at byte %zu",
                                c, (size_t)(q + 1 - it->start));
            q += 2;
            continue;
        }
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return rag_fail(err, RAG_EFORMAT,
                            "control character 0x%02x in a quoted string at byte %zu", c,
                            (size_t)(q - it->start));
        q++;
    }
    return rag_fail(err, RAG_EFORMAT, "quoted string opened at byte %zu is not closed",
                    at(it));
}

int rag_hp_params_next(rag_hp_params *it, rag_hp_param *out, rag_err *err)
{
    size_t n;
    for (;;) {
        skip_ows(it);
        if (it->p == it->end)
            return 0;
        if (*it->p != ';')
            return rag_fail(err, RAG_EFORMAT, "expected ';' at byte %zu", at(it));
        it->p++;
        skip_ows(it);
        if (it->p == it->end)
            return 0; /* trailing ';' */
        if (*it->p != ';')
            break;
    }
    n = token_len(it->p, it->end);
    if (n == 0)
        return rag_fail(err, RAG_EFORMAT, "expected a parameter name at byte %zu", at(it));
    out->name.s = it->p;
    out->name.n = n;
    it->p += n;
    if (it->p == it->end || *it->p != '=') {
        char q[64];
        rag_hp_quote(q, sizeof q, out->name.s, out->name.n);
        return rag_fail(err, RAG_EFORMAT, "parameter '%s' has no '=' at byte %zu", q,
                        at(it));
    }
    it->p++;
    if (it->p < it->end && *it->p == '"') {
        int rc = scan_quoted(it, &n, err);
        if (rc < 0)
            return rc;
        out->quoted = 1;
    } else {
        n = token_len(it->p, it->end);
        if (n == 0) {
            char q[64];
            rag_hp_quote(q, sizeof q, out->name.s, out->name.n);
            return rag_fail(err, RAG_EFORMAT, "parameter '%s' has no value at byte %zu",
                            q, at(it));
        }
        out->quoted = 0;
    }
    out->value.s = it->p;
    out->value.n = n;
    it->p += n;
    return 1;
}

size_t rag_hp_unquote(char *out, rag_span value)
{
    size_t o = 0;
    /* value.s[0] and value.s[value.n - 1] are the quotes */
    for (size_t i = 1; i + 1 < value.n; i++) {
        char c = value.s[i];
        if (c == '\\' && i + 2 < value.n && (value.s[i + 1] == '"' || value.s[i + 1] == '\\'))
            c = value.s[++i];
        out[o++] = c;
    }
    return o;
}

/* ---- RFC 8187 ext-value ------------------------------------------------- */

static int is_attr_char(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$&+-.^_`|~", c) != NULL;
}

int rag_hp_ext_value(char *out, size_t *n_out, rag_span value, rag_err *err)
{
    const char *q1 = memchr(value.s, '\'', value.n);
    const char *q2, *v, *end = value.s + value.n;
    size_t bad_at;

    if (!q1)
        return rag_fail(err, RAG_EFORMAT, "ext-value has no charset'language' prefix");
    q2 = memchr(q1 + 1, '\'', (size_t)(end - q1 - 1));
    if (!q2)
        return rag_fail(err, RAG_EFORMAT, "ext-value has no second quote after the language");
    if (!rag_hp_ieq(value.s, (size_t)(q1 - value.s), "UTF-8")) {
        char q[64];
        rag_hp_quote(q, sizeof q, value.s, (size_t)(q1 - value.s));
        return rag_fail(err, RAG_EFORMAT,
                        "ext-value charset '%s' is not supported (only UTF-8)", q);
    }
    for (const char *l = q1 + 1; l < q2; l++) {
        unsigned char c = (unsigned char)*l;
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '-'))
            return rag_fail(err, RAG_EFORMAT, "ext-value language tag has a bad character");
    }
    v = q2 + 1;
    for (const char *c = v; c < end; c++) {
        if (*c != '%' && !is_attr_char((unsigned char)*c))
            return rag_fail(err, RAG_EFORMAT,
                            "ext-value has a character other than attr-char or %%XX "
                            "at byte %zu",
                            (size_t)(c - value.s));
    }
    if (rag_hp_pct_decode(out, n_out, v, (size_t)(end - v), 0, &bad_at) < 0)
        return rag_fail(err, RAG_EFORMAT, "ext-value has a bad percent escape at byte %zu",
                        (size_t)(v - value.s) + bad_at);
    if (memchr(out, '\0', *n_out))
        return rag_fail(err, RAG_EFORMAT, "ext-value decodes to a NUL byte");
    if (!rag_utf8_valid(out, *n_out))
        return rag_fail(err, RAG_EFORMAT, "ext-value is not valid UTF-8 after decoding");
    return 0;
}
