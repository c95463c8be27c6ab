/* redact.c - scrub secrets from strings before they reach a log or error,
 * and small header-value helpers (Retry-After).
 *
 * Redaction works in place and never lengthens the string: each match is
 * replaced by "***" (or fewer stars for a match shorter than 3 bytes), and
 * the tail is moved down. Configured secrets are replaced first, then the
 * generic token patterns, so a secret that is not shaped like a token is
 * still caught.
 *
 * A server that echoes a secret rarely echoes it byte for byte: it may be
 * JSON-escaped ("abc\/def"), percent-encoded in a URL ("abc%2Fdef", either
 * hex case) or cut short ("abc/def+SECR..."). So each configured secret is
 * looked for in those forms too, and any run of at least 8 bytes that
 * starts like one of them (a prefix: what truncation leaves) is removed.
 * Secrets shorter than 8 bytes are matched whole only.
 */
#include "net.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Replace s[at, at+n) by up to 3 stars; returns the index after them. */
static size_t splice(char *s, size_t at, size_t n)
{
    size_t n_stars = n < 3 ? n : 3;
    size_t tail = strlen(s + at + n);
    memset(s + at, '*', n_stars);
    memmove(s + at + n_stars, s + at + n, tail + 1);
    return at + n_stars;
}

/* token characters, and the escapes a token may be echoed with ("\/",
 * "%2F") */
static int tok_char(int c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
           c == '+' || c == '/' || c == '=' || c == '\\' || c == '%';
}

#define MIN_PREFIX 8     /* a leaked head this long counts as the secret */
#define VARIANT_MAX 1024 /* longer variants are matched by their head */

/* Remove from s every occurrence of v (n_v bytes) and every run of at
 * least min(MIN_PREFIX, n_v) bytes that is a prefix of v. */
static void redact_form(char *s, const char *v, size_t n_v)
{
    size_t need = n_v < MIN_PREFIX ? n_v : MIN_PREFIX;
    size_t i = 0;
    if (n_v == 0)
        return;
    while (s[i]) {
        size_t m = 0;
        while (m < n_v && s[i + m] && s[i + m] == v[m])
            m++;
        if (m >= need) {
            i = splice(s, i, m);
            continue;
        }
        i++;
    }
}

/* The forms a server may echo a secret in. Each writes at most cap - 1
 * bytes (a cut variant is still found by its head) and returns the length. */
static size_t json_form(const char *in, char *out, size_t cap, int escape_slash)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 7 < cap; p++) {
        if (*p == '"' || *p == '\\' || (*p == '/' && escape_slash)) {
            out[n++] = '\\';
            out[n++] = (char)*p;
        } else if (*p < 0x20) {
            n += (size_t)snprintf(out + n, cap - n, "\\u%04x", *p);
        } else {
            out[n++] = (char)*p;
        }
    }
    out[n] = '\0';
    return n;
}

static size_t url_form(const char *in, char *out, size_t cap, int lower)
{
    static const char hex_up[] = "0123456789ABCDEF", hex_lo[] = "0123456789abcdef";
    const char *hex = lower ? hex_lo : hex_up;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p && n + 4 < cap; p++) {
        if (isalnum(*p) || *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
    return n;
}

static void redact_secret(char *s, const char *secret)
{
    char forms[4][VARIANT_MAX];
    size_t n_forms[4];
    size_t n = strlen(secret);

    if (n == 0)
        return;
    redact_form(s, secret, n);
    n_forms[0] = json_form(secret, forms[0], sizeof forms[0], 1);
    n_forms[1] = json_form(secret, forms[1], sizeof forms[1], 0);
    n_forms[2] = url_form(secret, forms[2], sizeof forms[2], 0);
    n_forms[3] = url_form(secret, forms[3], sizeof forms[3], 1);
    for (int k = 0; k < 4; k++) {
        int dup = n_forms[k] == n && !memcmp(forms[k], secret, n);
        for (int j = 0; j < k && !dup; j++)
            dup = n_forms[j] == n_forms[k] && !memcmp(forms[j], forms[k], n_forms[k]);
        if (!dup)
            redact_form(s, forms[k], n_forms[k]);
    }
}

/* prefix followed by at least min_run token chars */
static void redact_prefixed(char *s, const char *prefix, size_t min_run,
                            int nocase)
{
    size_t n_prefix = strlen(prefix);
    size_t i = 0;
    while (s[i]) {
        int match = nocase ? !strncasecmp(s + i, prefix, n_prefix)
                           : !strncmp(s + i, prefix, n_prefix);
        /* a token pattern must start at a word boundary */
        if (match && (i == 0 || !isalnum((unsigned char)s[i - 1]))) {
            size_t j = i + n_prefix, run;
            while (s[j] && tok_char((unsigned char)s[j]))
                j++;
            run = j - i - n_prefix;
            if (run >= min_run && !(run == 3 && !strncmp(s + i + n_prefix, "***", 3))) {
                i = splice(s, i + n_prefix, run);
                continue;
            }
        }
        i++;
    }
}

static void redact_userinfo(char *s)
{
    char *p = s;
    while ((p = strstr(p, "://")) != NULL) {
        char *start = p + 3, *q = start;
        while (*q && *q != '/' && *q != '@' && !isspace((unsigned char)*q))
            q++;
        if (*q == '@' && q > start && !(q - start == 3 && !strncmp(start, "***", 3)))
            splice(s, (size_t)(start - s), (size_t)(q - start));
        p = start;
    }
}

void rag_net_redact(char *s, const char *const *secrets)
{
    if (!s)
        return;
    for (size_t i = 0; secrets && secrets[i]; i++)
        redact_secret(s, secrets[i]);
    redact_prefixed(s, "Bearer ", 1, 1);
    redact_prefixed(s, "hf_", 6, 0);
    redact_prefixed(s, "sk-", 8, 0);
    redact_userinfo(s);
}

/* The human part of a JSON error body, or NULL: OpenAI {"error":{"message"}},
 * TEI/Ollama {"error"}, HF {"error"} / {"message"}, FastAPI {"detail"},
 * OAuth {"error_description"}. */
static const char *json_error_text(json_t *j)
{
    static const char *const keys[] = {"message", "detail", "error_description", NULL};
    json_t *e;
    if (!json_is_object(j))
        return NULL;
    e = json_object_get(j, "error");
    if (json_is_string(e))
        return json_string_value(e);
    if (json_is_object(e) && json_is_string(json_object_get(e, "message")))
        return json_string_value(json_object_get(e, "message"));
    for (size_t i = 0; keys[i]; i++)
        if (json_is_string(json_object_get(j, keys[i])))
            return json_string_value(json_object_get(j, keys[i]));
    return NULL;
}

void rag_net_excerpt(char *out, size_t n_out, const char *body, size_t n_body,
                     const char *const *secrets)
{
    char tmp[4096];
    const char *text = body;
    size_t n = body ? n_body : 0, cut;
    json_t *j = NULL;

    if (!n_out)
        return;
    out[0] = '\0';
    if (!n)
        return;
    if (n <= 65536 && (j = json_loadb(body, n, JSON_DECODE_ANY, NULL)) != NULL) {
        const char *m = json_error_text(j);
        if (m) {
            text = m;
            n = strlen(m);
        }
    }
    if (n > sizeof tmp - 1)
        n = sizeof tmp - 1;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        tmp[i] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    tmp[n] = '\0';
    if (j)
        json_decref(j);
    rag_net_redact(tmp, secrets); /* before the cut: a cut secret leaks no head */
    n = strlen(tmp);
    while (n && tmp[n - 1] == ' ')
        n--;
    tmp[n] = '\0';
    if (n < n_out) {
        memcpy(out, tmp, n + 1);
        return;
    }
    if (n_out < 5)
        return; /* no room for text and the "..." mark */
    cut = rag_utf8_floor(tmp, n_out - 4);
    memcpy(out, tmp, cut);
    memcpy(out + cut, "...", 4);
}

double rag_net_parse_retry_after(const char *value, double now_unix_s)
{
    const char *p = value;
    char *end;
    double secs;
    time_t t;

    if (!value)
        return -1;
    while (*p == ' ' || *p == '\t')
        p++;
    if (isdigit((unsigned char)*p)) {
        secs = strtod(p, &end);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end == '\0' && secs >= 0 && secs < 1e7)
            return secs * 1000.0;
    }
    t = curl_getdate(p, NULL);
    if (t == (time_t)-1)
        return -1;
    secs = (double)t - now_unix_s;
    return secs > 0 ? secs * 1000.0 : 0.0;
}

int rag_net_status_retryable(long status)
{
    return status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

const char *rag_net_class_name(rag_net_class cls)
{
    switch (cls) {
    case RAG_NET_OK: return "ok";
    case RAG_NET_CONNECT: return "connect";
    case RAG_NET_TIMEOUT: return "timeout";
    case RAG_NET_HTTP_4XX: return "http_4xx";
    case RAG_NET_HTTP_5XX: return "http_5xx";
    case RAG_NET_RATE_LIMITED: return "rate_limited";
    case RAG_NET_MALFORMED: return "malformed";
    case RAG_NET_STREAM_CUT: return "stream_cut";
    case RAG_NET_BREAKER_OPEN: return "breaker_open";
    case RAG_NET_BUDGET: return "budget";
    case RAG_NET_TOO_LARGE: return "too_large";
    case RAG_NET_CANCELLED: return "cancelled";
    case RAG_NET_REMOTE_ERROR: return "remote_error";
    default: return "internal";
    }
}
