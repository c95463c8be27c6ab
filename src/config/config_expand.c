/* config_expand.c - ${VAR} expansion of one scalar, placeholder tokens,
 * secret key names and "did you mean".
 *
 * Expansion runs on parsed scalar values only, never on the raw file: a
 * secret containing ": ", "#" or a newline must not change YAML structure.
 * Grammar inside a scalar:
 *   ${NAME}            value of NAME; unset is an error naming the key
 *   ${NAME:-default}   default when NAME is unset or empty
 *   ${NAME-default}    default when NAME is unset
 *   $${                a literal "${"
 * NAME is [A-Za-z_][A-Za-z0-9_]*; a default may itself contain ${...}
 * (nesting depth <= 8). Any other '$' is literal.
 */
#include "config_int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 8
#define MAX_EXPANDED (64 * 1024)

/* Index just past the '}' closing the reference whose body starts at s[i],
 * honouring nested ${...}; or 0 when unterminated. */
static size_t find_close(const char *s, size_t i)
{
    int depth = 1;
    for (; s[i]; i++) {
        if (s[i] == '$' && s[i + 1] == '{') {
            depth++;
            i++;
        } else if (s[i] == '}' && --depth == 0) {
            return i + 1;
        }
    }
    return 0;
}

static int expand_into(rag_buf *b, const char *s, size_t n, const char *key,
                       char **first_var, int depth, rag_err *err)
{
    size_t i = 0;
    if (depth > MAX_DEPTH)
        return rag_fail(err, RAG_EFORMAT, "key %s: ${...} nested too deeply", key);
    while (i < n) {
        size_t name_end, close;
        const char *val;
        char name[128];
        int rc;

        if (s[i] == '$' && i + 2 < n && s[i + 1] == '$' && s[i + 2] == '{') {
            if ((rc = rag_buf_puts(b, "${")) < 0)
                return rag_fail(err, rc, "config: out of memory");
            i += 3;
            continue;
        }
        if (!(s[i] == '$' && i + 1 < n && s[i + 1] == '{')) {
            if ((rc = rag_buf_putc(b, s[i])) < 0)
                return rc == RAG_ELIMIT
                           ? rag_fail(err, RAG_ELIMIT, "key %s: expanded value too long", key)
                           : rag_fail(err, rc, "config: out of memory");
            i++;
            continue;
        }
        i += 2;
        name_end = i;
        while (name_end < n && (isalnum((unsigned char)s[name_end]) || s[name_end] == '_'))
            name_end++;
        if (name_end == i || isdigit((unsigned char)s[i]) || name_end - i >= sizeof name)
            return rag_fail(err, RAG_EFORMAT,
                            "key %s: bad ${...} reference (a variable name is "
                            "letters, digits and '_')", key);
        memcpy(name, s + i, name_end - i);
        name[name_end - i] = '\0';
        if (first_var && !*first_var) {
            *first_var = rag_strdup(name);
            if (!*first_var)
                return rag_fail(err, RAG_ENOMEM, "config: out of memory");
        }
        /* the scalar is NUL-terminated at n, so find_close cannot overrun */
        close = find_close(s, name_end);
        if (!close || close > n)
            return rag_fail(err, RAG_EFORMAT, "key %s: unterminated ${%s", key, name);
        val = getenv(name);
        if (s[name_end] == '}') {
            if (!val)
                return rag_fail(err, RAG_EFORMAT,
                                "key %s: environment variable %s is not set", key, name);
            rc = rag_buf_puts(b, val);
        } else if (s[name_end] == ':' && s[name_end + 1] == '-') {
            if (val && *val)
                rc = rag_buf_puts(b, val);
            else
                rc = expand_into(b, s + name_end + 2, close - 1 - (name_end + 2), key,
                                 first_var, depth + 1, err);
        } else if (s[name_end] == '-') {
            if (val)
                rc = rag_buf_puts(b, val);
            else
                rc = expand_into(b, s + name_end + 1, close - 1 - (name_end + 1), key,
                                 first_var, depth + 1, err);
        } else {
            return rag_fail(err, RAG_EFORMAT,
                            "key %s: bad ${%s...} reference (use ${%s}, ${%s:-default} "
                            "or ${%s-default})", key, name, name, name, name);
        }
        if (rc == RAG_ELIMIT)
            return rag_fail(err, RAG_ELIMIT, "key %s: expanded value too long", key);
        if (rc == RAG_ENOMEM)
            return rag_fail(err, RAG_ENOMEM, "config: out of memory");
        if (rc < 0)
            return rc; /* nested expansion already set err */
        i = close;
    }
    return RAG_OK;
}

int cfg_expand(char **out, const char *in, const char *key, char **first_var,
               rag_err *err)
{
    rag_buf b = RAG_BUF_INIT;
    int rc;
    b.max_len = MAX_EXPANDED;
    *out = NULL;
    rc = expand_into(&b, in, strlen(in), key, first_var, 0, err);
    if (rc == RAG_OK && !b.data && rag_buf_puts(&b, "") < 0)
        rc = rag_fail(err, RAG_ENOMEM, "config: out of memory");
    if (rc < 0) {
        rag_buf_fini(&b);
        return rc;
    }
    *out = rag_buf_take(&b);
    return RAG_OK;
}

int rag_config_expand(char **out, const char *in, const char *key, rag_err *err)
{
    return cfg_expand(out, in, key, NULL, err);
}

/* ---- placeholders -------------------------------------------------------- */

static int all_same(const char *s, size_t n, char c)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)s[i]) != c)
            return 0;
    return 1;
}

int rag_config_is_placeholder(const char *s)
{
    static const char *const words[] = {
        "dummy", "changeme", "change_me", "change-me", "placeholder", "todo",
        "fixme", "none", "null", "nil", "undefined", "replace_me", "replaceme",
        "token", "secret", "password", "api_key", "apikey",
        "your_token_here", "your_api_key_here", "your-api-key", "...", NULL};
    size_t n, lo, hi;

    if (!s)
        return 1;
    lo = 0;
    hi = strlen(s);
    while (lo < hi && isspace((unsigned char)s[lo]))
        lo++;
    while (hi > lo && isspace((unsigned char)s[hi - 1]))
        hi--;
    s += lo;
    n = hi - lo;
    if (n == 0)
        return 1;
    for (size_t i = 0; words[i]; i++)
        if (strlen(words[i]) == n && strncasecmp(s, words[i], n) == 0)
            return 1;
    /* <your token>, [TOKEN], {api key} */
    if ((s[0] == '<' && s[n - 1] == '>') || (s[0] == '[' && s[n - 1] == ']') ||
        (s[0] == '{' && s[n - 1] == '}'))
        return 1;
    /* "your_hf_token", "your-key-here", "YOUR_TOKEN" */
    if (n >= 5 && (strncasecmp(s, "your_", 5) == 0 || strncasecmp(s, "your-", 5) == 0))
        return 1;
    /* xxx, ****, hf_xxx, sk-xxxx, hf_XXXXXXXX: a short prefix then only x or star */
    if (n >= 3 && (all_same(s, n, 'x') || all_same(s, n, '*')))
        return 1;
    for (size_t p = 1; p <= 4 && p + 3 <= n; p++)
        if ((s[p - 1] == '_' || s[p - 1] == '-') && all_same(s + p, n - p, 'x'))
            return 1;
    return 0;
}

/* ---- secret names -------------------------------------------------------- */

static int ends_with(const char *s, size_t n, const char *suffix)
{
    size_t k = strlen(suffix);
    return n >= k && strncasecmp(s + n - k, suffix, k) == 0;
}

int cfg_key_is_secret(const char *key)
{
    const char *seg = strrchr(key, '.');
    size_t n;
    seg = seg ? seg + 1 : key;
    n = strlen(seg);
    /* "key", "token", "secret", "password", or a name ending in
       "_key"/"_token"/... ("api_key", "hf_token"); not "max_tokens". */
    static const char *const words[] = {"key", "token", "secret", "password", NULL};
    for (size_t i = 0; words[i]; i++) {
        size_t k = strlen(words[i]);
        if (n == k && strncasecmp(seg, words[i], k) == 0)
            return 1;
        if (n > k && ends_with(seg, n, words[i]) &&
            (seg[n - k - 1] == '_' || seg[n - k - 1] == '-'))
            return 1;
    }
    return 0;
}

/* ---- did you mean -------------------------------------------------------- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b), row[64];
    if (na >= 63 || nb >= 63)
        return 99;
    for (size_t j = 0; j <= nb; j++)
        row[j] = j;
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            size_t cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

const char *cfg_did_you_mean(const char *word, const char *const *cands,
                             size_t n_cands)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (size_t i = 0; i < n_cands; i++) {
        size_t d;
        if (!cands[i])
            continue;
        d = edit_distance(word, cands[i]);
        if (d < best_d) {
            best_d = d;
            best = cands[i];
        }
    }
    return best;
}
