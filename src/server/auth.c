/* auth.c - the API key of a request, and comparing it with the configured
 * one in constant time.
 *
 *   X-API-Key: KEY
 *   Authorization: Bearer KEY       (scheme case-insensitive, RFC 9110 §11)
 *
 * Keys are never quoted in messages: an error about a key must not put the
 * key (or a near miss of it) into a log.
 */
#include "http_parse_int.h"

#include <string.h>

enum { MAX_KEY_BYTES = 4096 };

static void trim(const char **s, const char **end)
{
    while (*s < *end && (**s == ' ' || **s == '\t'))
        (*s)++;
    while (*end > *s && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
        (*end)--;
}

/* The key s[0..n): 1..MAX_KEY_BYTES of VCHAR. `what` names it. */
static int check_key(const char *s, size_t n, const char *what, rag_err *err)
{
    if (n == 0)
        return rag_fail(err, RAG_EFORMAT, "auth: %s is empty", what);
    if (n > MAX_KEY_BYTES)
        return rag_fail(err, RAG_ELIMIT, "auth: %s is longer than %d bytes", what,
                        MAX_KEY_BYTES);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ')
            return rag_fail(err, RAG_EFORMAT, "auth: %s has a space at byte %zu (one token "
                            "expected)", what, i);
        if (c < 0x21 || c > 0x7e)
            return rag_fail(err, RAG_EFORMAT,
                            "auth: %s has a character other than visible ASCII at byte %zu",
                            what, i);
    }
    return RAG_OK;
}

int rag_auth_key(rag_span *key, const char *x_api_key, const char *authorization,
                 rag_err *err)
{
    const char *s, *end, *scheme;
    int rc;

    key->s = NULL;
    key->n = 0;
    if (x_api_key) {
        s = x_api_key;
        end = s + strlen(s);
        trim(&s, &end);
        rc = check_key(s, (size_t)(end - s), "X-API-Key", err);
        if (rc < 0)
            return rc;
        key->s = s;
        key->n = (size_t)(end - s);
        return RAG_OK;
    }
    if (!authorization)
        return rag_fail(err, RAG_ENOTFOUND,
                        "auth: no API key (send 'Authorization: Bearer KEY' or 'X-API-Key: "
                        "KEY')");
    s = authorization;
    end = s + strlen(s);
    trim(&s, &end);
    scheme = s;
    while (s < end && rag_hp_is_tchar((unsigned char)*s))
        s++;
    if (s == scheme)
        return rag_fail(err, RAG_EFORMAT, "auth: Authorization has no scheme");
    if (!rag_hp_ieq(scheme, (size_t)(s - scheme), "Bearer")) {
        char q[64];
        /* Name the scheme only when it looks like one: a bare key sent as
         * `Authorization: KEY` must not end up in the log. */
        if (s == end || *s != ' ' || s - scheme > 16)
            return rag_fail(err, RAG_EFORMAT,
                            "auth: Authorization is not 'Bearer KEY' (or send X-API-Key)");
        rag_hp_quote(q, sizeof q, scheme, (size_t)(s - scheme));
        return rag_fail(err, RAG_EFORMAT,
                        "auth: Authorization scheme '%s' is not supported (send 'Bearer KEY' "
                        "or X-API-Key)",
                        q);
    }
    if (s == end)
        return rag_fail(err, RAG_EFORMAT, "auth: Authorization 'Bearer' has no key");
    if (*s != ' ')
        return rag_fail(err, RAG_EFORMAT,
                        "auth: Authorization scheme 'Bearer' must be followed by a space");
    while (s < end && *s == ' ')
        s++;
    rc = check_key(s, (size_t)(end - s), "Bearer key", err);
    if (rc < 0)
        return rc;
    key->s = s;
    key->n = (size_t)(end - s);
    return RAG_OK;
}

int rag_ct_equal(const void *a, size_t n_a, const void *b, size_t n_b)
{
    /* volatile: every byte is read; the loop has no data-dependent exit */
    const volatile unsigned char *x = a, *y = b;
    size_t n = n_a > n_b ? n_a : n_b;
    unsigned acc = n_a != n_b;

    for (size_t i = 0; i < n; i++) {
        unsigned char ca = i < n_a ? x[i] : 0;
        unsigned char cb = i < n_b ? y[i] : 0;
        acc |= (unsigned)(ca ^ cb);
    }
    return acc == 0;
}
