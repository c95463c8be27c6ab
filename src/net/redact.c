/* redact.c - scrub secrets from strings before they reach a log or error,
 * and small header-value helpers (Retry-After).
 *
 * Redaction works in place and never lengthens the string: each match is
 * replaced by "***" (or fewer stars for a match shorter than 3 bytes), and
 * the tail is moved down. Configured secrets are replaced first, then the
 * generic token patterns, so a secret that is not shaped like a token is
 * still caught.
 */
#include "net.h"

#include <ctype.h>
#include <curl/curl.h>
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

static int tok_char(int c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
           c == '+' || c == '/' || c == '=';
}

static void redact_literal(char *s, const char *secret)
{
    size_t n = strlen(secret);
    char *hit;
    size_t from = 0;
    if (n == 0)
        return;
    while ((hit = strstr(s + from, secret)) != NULL)
        from = splice(s, (size_t)(hit - s), n);
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
        redact_literal(s, secrets[i]);
    redact_prefixed(s, "Bearer ", 1, 1);
    redact_prefixed(s, "hf_", 6, 0);
    redact_prefixed(s, "sk-", 8, 0);
    redact_userinfo(s);
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
