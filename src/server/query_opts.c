/* query_opts.c - the retrieval options of a JSON request body (k, mode,
 * doc, pages, rerank), decoded once for every route that takes them:
 * /v1/search and /v1/ask at the top level, /v1/chat/completions inside its
 * "docrag" object. Strict: a wrong type or a value out of range is an
 * error that names the field, never a silent default.
 */
#include "srv.h"
#include "http_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_MAX 1000000

/* N, [A, B], "N", "A-B" or "A-" (1-based, A <= B; "A-" leaves hi 0 =
 * unbounded). 0, or -1 when malformed. */
static int parse_pages(const json_t *v, int *lo, int *hi)
{
    if (json_is_integer(v)) {
        json_int_t p = json_integer_value(v);
        if (p < 1 || p > PAGE_MAX)
            return -1;
        *lo = *hi = (int)p;
        return 0;
    }
    if (json_is_array(v) && json_array_size(v) == 2 &&
        json_is_integer(json_array_get(v, 0)) && json_is_integer(json_array_get(v, 1))) {
        json_int_t a = json_integer_value(json_array_get(v, 0));
        json_int_t b = json_integer_value(json_array_get(v, 1));
        if (a < 1 || b < a || b > PAGE_MAX)
            return -1;
        *lo = (int)a;
        *hi = (int)b;
        return 0;
    }
    if (json_is_string(v))
        return docrag_parse_pages(json_string_value(v), lo, hi) == DOCRAG_OK ? 0 : -1;
    return -1;
}

int srv_query_opt(docrag_search_opts *so, const char *key, const json_t *v, char *msg,
                  size_t n_msg)
{
    if (!strcmp(key, "k")) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > DOCRAG_K_MAX) {
            snprintf(msg, n_msg, "'k' must be an integer from 1 to %d", DOCRAG_K_MAX);
            return -1;
        }
        so->k = (int)json_integer_value(v);
        return 1;
    }
    if (!strcmp(key, "mode")) {
        const char *m = json_string_value(v);
        if (!m || (strcmp(m, "bm25") && strcmp(m, "dense") && strcmp(m, "hybrid"))) {
            snprintf(msg, n_msg, "'mode' must be \"bm25\", \"dense\" or \"hybrid\"");
            return -1;
        }
        so->mode = m;
        return 1;
    }
    if (!strcmp(key, "doc")) {
        if (!json_is_string(v) && !json_is_null(v)) {
            snprintf(msg, n_msg, "'doc' must be a string (a file name or glob)");
            return -1;
        }
        so->doc = json_string_value(v);
        return 1;
    }
    if (!strcmp(key, "pages")) {
        int lo = 0, hi = 0;
        if (!json_is_null(v) && parse_pages(v, &lo, &hi) < 0) {
            snprintf(msg, n_msg,
                     "'pages' must be N, \"A-B\", \"A-\" or [A, B] (1-based, A <= B)");
            return -1;
        }
        so->page_min = lo;
        so->page_max = hi;
        return 1;
    }
    if (!strcmp(key, "rerank")) {
        if (!json_is_boolean(v)) {
            snprintf(msg, n_msg, "'rerank' must be true or false");
            return -1;
        }
        so->rerank = json_is_true(v) ? -1 : 0;
        return 1;
    }
    return 0;
}

int64_t srv_text_id(const char *text)
{
    size_t n = text ? strlen(text) : 0;
    int64_t id = 0;
    rag_err err = {0};
    if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
        text++;
        n -= 2;
    }
    if (!text || rag_parse_id((rag_span){text, n}, &id, &err) < 0)
        return 0;
    return id;
}

int64_t srv_json_id(const json_t *v)
{
    if (json_is_integer(v))
        return json_integer_value(v) > 0 ? (int64_t)json_integer_value(v) : 0;
    if (json_is_string(v))
        return srv_text_id(json_string_value(v)[0] == '"' ? "" : json_string_value(v));
    return 0;
}
