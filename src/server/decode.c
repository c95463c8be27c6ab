/* decode.c - JSON bodies of the OpenAI- and TEI-compatible routes into
 * structs (decode.h). No evhttp and no engine here: the fuzz target links
 * this file alone with jansson.
 *
 * jansson parses with JSON_REJECT_DUPLICATES and without JSON_ALLOW_NUL,
 * so a decoded string holds valid UTF-8 and no NUL, and a field given
 * twice is an error rather than "the last one wins".
 */
#include "decode.h"
#include "srv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(srv_decode_err *err, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(srv_decode_err *err, int status, const char *param, const char *fmt, ...)
{
    va_list ap;
    err->status = status;
    snprintf(err->param, sizeof err->param, "%s", param ? param : "");
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* The body as a JSON object, or -1 (status 400) naming line and column. */
static json_t *load_object(const char *body, size_t n_body, srv_decode_err *err)
{
    json_error_t je;
    json_t *o;
    if (!body || !n_body) {
        fail(err, 400, NULL, "request body is empty: expected a JSON object");
        return NULL;
    }
    o = json_loadb(body, n_body, JSON_REJECT_DUPLICATES, &je);
    if (!o) {
        fail(err, 400, NULL, "malformed JSON at line %d, column %d: %s", je.line, je.column,
             je.text);
        return NULL;
    }
    if (!json_is_object(o)) {
        json_decref(o);
        fail(err, 400, NULL, "expected a JSON object");
        return NULL;
    }
    return o;
}

/* A number (or null) within [lo, hi]. */
static int number_in(const json_t *v, double lo, double hi)
{
    double d;
    if (json_is_null(v))
        return 1;
    if (!json_is_number(v))
        return 0;
    d = json_number_value(v);
    return isfinite(d) && d >= lo && d <= hi;
}

static int int_or_null(const json_t *v, json_int_t lo, json_int_t hi)
{
    return json_is_null(v) ||
           (json_is_integer(v) && json_integer_value(v) >= lo && json_integer_value(v) <= hi);
}

/* ---- chat completions ---------------------------------------------------------- */

static const char *const roles[] = {"system", "developer", "user", "assistant", "tool",
                                    "function", NULL};

static int known(const char *const *list, const char *s)
{
    for (size_t i = 0; s && list[i]; i++)
        if (!strcmp(list[i], s))
            return 1;
    return 0;
}

/* The text of a message's content: a string, or an array of {"type":"text",
 * "text"} parts joined by "\n" (into *joined, rag_malloc'd, when want).
 * null content is allowed for assistant and tool messages. */
static int message_text(const json_t *content, size_t i, const char *role, int want,
                        char **joined, srv_decode_err *err)
{
    char param[64];
    rag_buf b = RAG_BUF_INIT;
    size_t j;
    json_t *part;

    snprintf(param, sizeof param, "messages[%zu].content", i);
    if (json_is_string(content)) {
        if (want && !(*joined = rag_strdup(json_string_value(content))))
            return fail(err, 400, param, "out of memory");
        return 0;
    }
    if (json_is_null(content) && (!strcmp(role, "assistant") || !strcmp(role, "tool") ||
                                  !strcmp(role, "function")))
        return 0;
    if (!json_is_array(content))
        return fail(err, 400, param, "'%s' must be a string or an array of content parts",
                    param);
    json_array_foreach(content, j, part) {
        const char *type = json_string_value(json_object_get(part, "type"));
        const json_t *text = json_object_get(part, "text");
        const char *key;
        json_t *v;
        if (!json_is_object(part) || !type) {
            rag_buf_fini(&b);
            return fail(err, 400, param, "%s[%zu] must be an object with a 'type'", param, j);
        }
        if (strcmp(type, "text")) {
            rag_buf_fini(&b);
            return fail(err, 400, param,
                        "%s[%zu]: content parts of type '%.32s' are not supported (docrag "
                        "answers from text: use type 'text')", param, j, type);
        }
        if (!json_is_string(text)) {
            rag_buf_fini(&b);
            return fail(err, 400, param, "%s[%zu].text must be a string", param, j);
        }
        json_object_foreach((json_t *)part, key, v) {
            if (strcmp(key, "type") && strcmp(key, "text") && strcmp(key, "cache_control")) {
                rag_buf_fini(&b);
                return fail(err, 400, param, "%s[%zu]: unknown field '%.64s'", param, j, key);
            }
        }
        if (want) {
            if ((b.len && rag_buf_putc(&b, '\n') < 0) ||
                rag_buf_append(&b, json_string_value(text), json_string_length(text)) < 0) {
                rag_buf_fini(&b);
                return fail(err, 400, param, "out of memory");
            }
            if (b.len > SRV_QUESTION_MAX) {
                rag_buf_fini(&b);
                return fail(err, 400, param, "the question is longer than %d bytes",
                            SRV_QUESTION_MAX);
            }
        }
    }
    if (want) {
        *joined = rag_buf_take(&b);
        if (!*joined)
            return fail(err, 400, param, "out of memory");
    }
    return 0;
}

static int check_message(const json_t *m, size_t i, srv_decode_err *err)
{
    static const char *const keys[] = {"role", "content", "name", "tool_calls",
                                       "tool_call_id", "function_call", "refusal", NULL};
    char param[64];
    const char *key, *role;
    json_t *v;

    snprintf(param, sizeof param, "messages[%zu]", i);
    if (!json_is_object(m))
        return fail(err, 400, param, "'%s' must be an object", param);
    role = json_string_value(json_object_get(m, "role"));
    if (!known(roles, role))
        return fail(err, 400, param,
                    "'%s.role' must be one of system, developer, user, assistant, tool",
                    param);
    if (!json_object_get(m, "content") && strcmp(role, "assistant"))
        return fail(err, 400, param, "'%s.content' is required", param);
    json_object_foreach((json_t *)m, key, v) {
        if (!known(keys, key))
            return fail(err, 400, param, "'%s': unknown field '%.64s'", param, key);
        if (!strcmp(key, "name") && !json_is_string(v))
            return fail(err, 400, param, "'%s.name' must be a string", param);
    }
    return 0;
}

/* One top-level field that docrag accepts and ignores, or refuses. 1 when
 * key is a known OpenAI field and v is acceptable, 0 when key is not an
 * OpenAI field, -1 on error. */
static int openai_chat_field(const char *key, const json_t *v, srv_decode_err *err)
{
    if (!strcmp(key, "temperature")) {
        if (!number_in(v, 0, 2))
            return fail(err, 400, key, "'temperature' must be a number from 0 to 2");
    } else if (!strcmp(key, "top_p")) {
        if (!number_in(v, 0, 1))
            return fail(err, 400, key, "'top_p' must be a number from 0 to 1");
    } else if (!strcmp(key, "presence_penalty") || !strcmp(key, "frequency_penalty")) {
        if (!number_in(v, -2, 2))
            return fail(err, 400, key, "'%s' must be a number from -2 to 2", key);
    } else if (!strcmp(key, "max_tokens") || !strcmp(key, "max_completion_tokens")) {
        if (!int_or_null(v, 1, 1 << 30))
            return fail(err, 400, key, "'%s' must be a positive integer", key);
    } else if (!strcmp(key, "n")) {
        if (!int_or_null(v, 1, 1 << 30))
            return fail(err, 400, key, "'n' must be a positive integer");
        if (json_is_integer(v) && json_integer_value(v) != 1)
            return fail(err, 400, key, "'n' must be 1: docrag gives one answer per question");
    } else if (!strcmp(key, "seed")) {
        if (!json_is_null(v) && !json_is_integer(v))
            return fail(err, 400, key, "'seed' must be an integer");
    } else if (!strcmp(key, "user") || !strcmp(key, "service_tier")) {
        if (!json_is_string(v) && !json_is_null(v))
            return fail(err, 400, key, "'%s' must be a string", key);
    } else if (!strcmp(key, "stop")) {
        size_t i;
        json_t *s;
        if (json_is_array(v)) {
            if (json_array_size(v) > 4)
                return fail(err, 400, key, "'stop' takes at most 4 sequences");
            json_array_foreach(v, i, s)
                if (!json_is_string(s))
                    return fail(err, 400, key, "'stop' must be a string or an array of strings");
        } else if (!json_is_string(v) && !json_is_null(v)) {
            return fail(err, 400, key, "'stop' must be a string or an array of strings");
        }
    } else if (!strcmp(key, "logit_bias") || !strcmp(key, "metadata")) {
        if (!json_is_object(v) && !json_is_null(v))
            return fail(err, 400, key, "'%s' must be an object", key);
    } else if (!strcmp(key, "store") || !strcmp(key, "parallel_tool_calls")) {
        if (!json_is_boolean(v) && !json_is_null(v))
            return fail(err, 400, key, "'%s' must be true or false", key);
    } else if (!strcmp(key, "logprobs")) {
        if (!json_is_boolean(v) && !json_is_null(v))
            return fail(err, 400, key, "'logprobs' must be true or false");
        if (json_is_true(v))
            return fail(err, 400, key, "'logprobs' is not supported: docrag's answers have no "
                                       "token probabilities");
    } else if (!strcmp(key, "top_logprobs")) {
        if (!int_or_null(v, 0, 20))
            return fail(err, 400, key, "'top_logprobs' must be an integer from 0 to 20");
    } else if (!strcmp(key, "response_format")) {
        const char *t = json_string_value(json_object_get(v, "type"));
        if (!json_is_null(v) && (!t || strcmp(t, "text")))
            return fail(err, 400, key, "'response_format' must be {\"type\": \"text\"}: docrag "
                                       "answers in text with [n] citation markers");
    } else if (!strcmp(key, "tools") || !strcmp(key, "functions")) {
        if (!json_is_null(v) && !(json_is_array(v) && json_array_size(v) == 0))
            return fail(err, 400, key, "'%s' is not supported: docrag answers from its index "
                                       "and calls no tools", key);
    } else if (!strcmp(key, "tool_choice") || !strcmp(key, "function_call")) {
        const char *c = json_string_value(v);
        if (!json_is_null(v) && (!c || (strcmp(c, "none") && strcmp(c, "auto"))))
            return fail(err, 400, key, "'%s' must be \"none\" or \"auto\": docrag calls no "
                                       "tools", key);
    } else {
        return 0;
    }
    return 1;
}

int srv_decode_chat(srv_chat_req *q, const char *body, size_t n_body, srv_decode_err *err)
{
    const char *key;
    json_t *v, *messages = NULL;
    size_t i, last_user = (size_t)-1;

    memset(q, 0, sizeof *q);
    docrag_search_opts_init(&q->so);
    if (!(q->root = load_object(body, n_body, err)))
        return -1;
    json_object_foreach(q->root, key, v) {
        int rc;
        if (!strcmp(key, "model")) {
            if (!json_is_string(v) || !json_string_length(v) || json_string_length(v) > 200) {
                fail(err, 400, key, "'model' must be a non-empty string (\"docrag\" or "
                                    "\"docrag/<collection>\")");
                goto bad;
            }
            q->model = json_string_value(v);
        } else if (!strcmp(key, "messages")) {
            if (!json_is_array(v) || !json_array_size(v)) {
                fail(err, 400, key, "'messages' must be a non-empty array");
                goto bad;
            }
            messages = v;
        } else if (!strcmp(key, "stream")) {
            if (!json_is_boolean(v) && !json_is_null(v)) {
                fail(err, 400, key, "'stream' must be true or false");
                goto bad;
            }
            q->stream = json_is_true(v);
        } else if (!strcmp(key, "stream_options")) {
            const char *k2;
            json_t *v2;
            if (!json_is_object(v) && !json_is_null(v)) {
                fail(err, 400, key, "'stream_options' must be an object");
                goto bad;
            }
            json_object_foreach(v, k2, v2) {
                if (!strcmp(k2, "include_usage") && json_is_boolean(v2)) {
                    q->include_usage = json_is_true(v2);
                } else if (strcmp(k2, "include_obfuscation") || !json_is_boolean(v2)) {
                    fail(err, 400, key, "'stream_options' takes include_usage (true or false)");
                    goto bad;
                }
            }
        } else if (!strcmp(key, "docrag")) {
            const char *k2;
            json_t *v2;
            if (!json_is_object(v) && !json_is_null(v)) {
                fail(err, 400, key, "'docrag' must be an object of retrieval options "
                                    "(k, mode, doc, pages, rerank)");
                goto bad;
            }
            json_object_foreach(v, k2, v2) {
                char msg[200], param[80];
                snprintf(param, sizeof param, "docrag.%s", k2);
                rc = srv_query_opt(&q->so, k2, v2, msg, sizeof msg);
                if (rc < 0) {
                    fail(err, 400, param, "docrag: %s", msg);
                    goto bad;
                }
                if (rc == 0) {
                    fail(err, 400, param, "docrag: unknown option '%.64s' (k, mode, doc, "
                                          "pages, rerank)", k2);
                    goto bad;
                }
            }
        } else if ((rc = openai_chat_field(key, v, err)) <= 0) {
            if (rc == 0)
                fail(err, 400, key, "Unrecognized request argument supplied: %.64s", key);
            goto bad;
        }
    }
    if (!q->model) {
        fail(err, 400, "model", "'model' is required (\"docrag\" or \"docrag/<collection>\")");
        goto bad;
    }
    if (!messages) {
        fail(err, 400, "messages", "'messages' is required");
        goto bad;
    }
    json_array_foreach(messages, i, v) {
        if (check_message(v, i, err) < 0)
            goto bad;
        if (!strcmp(json_string_value(json_object_get(v, "role")), "user"))
            last_user = i;
    }
    q->n_messages = json_array_size(messages);
    /* earlier messages are checked too: a malformed history is an error */
    json_array_foreach(messages, i, v) {
        json_t *content = json_object_get(v, "content");
        const char *role = json_string_value(json_object_get(v, "role"));
        if (content && message_text(content, i, role, i == last_user, &q->question, err) < 0)
            goto bad;
    }
    if (last_user == (size_t)-1) {
        fail(err, 400, "messages", "'messages' must hold a user message (the question)");
        goto bad;
    }
    {
        char param[64];
        const char *s = q->question ? q->question : "";
        snprintf(param, sizeof param, "messages[%zu].content", last_user);
        if (strlen(s) > SRV_QUESTION_MAX) {
            fail(err, 400, param, "the question is longer than %d bytes", SRV_QUESTION_MAX);
            goto bad;
        }
        if (!s[strspn(s, " \t\r\n")]) {
            fail(err, 400, param, "the last user message holds no text");
            goto bad;
        }
    }
    return 0;
bad:
    srv_chat_req_fini(q);
    return -1;
}

void srv_chat_req_fini(srv_chat_req *q)
{
    rag_free(q->question);
    json_decref(q->root);
    memset(q, 0, sizeof *q);
}

/* ---- embeddings and TEI batches ----------------------------------------------- */

/* A string or an array of strings into q->texts. Over max_batch: 413.
 * Token ids (numbers) are refused: docrag tokenizes itself. */
static int take_texts(srv_batch_req *q, const json_t *v, const char *param, size_t max_batch,
                      int status, int allow_empty_text, srv_decode_err *err)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 1, i;
    json_t *s;

    if (json_is_string(v)) {
        if (!allow_empty_text && !json_string_length(v))
            return fail(err, status, param, "'%s' must not be an empty string", param);
    } else if (json_is_array(v)) {
        if (!n)
            return fail(err, status, param, "`%s` cannot be empty", param);
        json_array_foreach(v, i, s) {
            if (json_is_integer(s) || json_is_array(s))
                return fail(err, status, param, "'%s' holds token ids: docrag takes text "
                                                "only (strings)", param);
            if (!json_is_string(s))
                return fail(err, status, param, "'%s[%zu]' must be a string", param, i);
            if (!allow_empty_text && !json_string_length(s))
                return fail(err, status, param, "'%s[%zu]' must not be an empty string",
                            param, i);
        }
    } else {
        return fail(err, status, param, "'%s' must be a string or an array of strings", param);
    }
    if (n > max_batch)
        return fail(err, 413, param, "batch size %zu > maximum allowed batch size %zu", n,
                    max_batch);
    q->texts = rag_calloc(n, sizeof *q->texts);
    if (!q->texts)
        return fail(err, 413, param, "out of memory for %zu inputs", n);
    for (i = 0; i < n; i++) {
        const json_t *t = json_is_array(v) ? json_array_get(v, i) : v;
        q->texts[i] = json_string_value(t);
        q->text_bytes += json_string_length(t);
    }
    q->n_texts = n;
    return 0;
}

static void batch_init(srv_batch_req *q)
{
    memset(q, 0, sizeof *q);
    q->normalize = 1;
    q->truncate = -1;
}

int srv_decode_embeddings(srv_batch_req *q, const char *body, size_t n_body, size_t max_batch,
                          srv_decode_err *err)
{
    const char *key;
    json_t *v, *input = NULL;

    batch_init(q);
    if (!(q->root = load_object(body, n_body, err)))
        return -1;
    json_object_foreach(q->root, key, v) {
        if (!strcmp(key, "input")) {
            input = v;
        } else if (!strcmp(key, "model")) {
            if (!json_is_string(v) || !json_string_length(v)) {
                fail(err, 400, key, "'model' must be a non-empty string");
                goto bad;
            }
            q->model = json_string_value(v);
        } else if (!strcmp(key, "encoding_format")) {
            const char *f = json_string_value(v);
            if (!f || (strcmp(f, "float") && strcmp(f, "base64"))) {
                fail(err, 400, key, "'encoding_format' must be \"float\" or \"base64\"");
                goto bad;
            }
            q->base64 = !strcmp(f, "base64");
        } else if (!strcmp(key, "dimensions")) {
            if (!int_or_null(v, 1, 1 << 20)) {
                fail(err, 400, key, "'dimensions' must be a positive integer");
                goto bad;
            }
            q->dimensions = json_is_integer(v) ? (long)json_integer_value(v) : 0;
        } else if (!strcmp(key, "user")) {
            if (!json_is_string(v) && !json_is_null(v)) {
                fail(err, 400, key, "'user' must be a string");
                goto bad;
            }
        } else {
            fail(err, 400, key, "Unrecognized request argument supplied: %.64s", key);
            goto bad;
        }
    }
    if (!input) {
        fail(err, 400, "input", "'input' is required");
        goto bad;
    }
    if (!q->model) {
        fail(err, 400, "model", "'model' is required");
        goto bad;
    }
    if (take_texts(q, input, "input", max_batch, 400, 0, err) < 0)
        goto bad;
    return 0;
bad:
    srv_batch_req_fini(q);
    return -1;
}

/* TEI's truncation_direction: "Right" (what docrag does) in any case. */
static int tei_direction(const json_t *v, srv_decode_err *err)
{
    const char *d = json_string_value(v);
    if (json_is_null(v))
        return 0;
    if (!d || (strcasecmp(d, "right") && strcasecmp(d, "left")))
        return fail(err, 422, "truncation_direction",
                    "'truncation_direction' must be \"Right\" or \"Left\"");
    if (!strcasecmp(d, "left"))
        return fail(err, 422, "truncation_direction",
                    "truncation_direction \"Left\" is not supported: docrag keeps the start "
                    "of a text");
    return 0;
}

static int tei_bool(const json_t *v, const char *key, int *out, int allow_null,
                    srv_decode_err *err)
{
    if (allow_null && json_is_null(v)) {
        *out = -1;
        return 0;
    }
    if (!json_is_boolean(v))
        return fail(err, 422, key, "'%s' must be true or false", key);
    *out = json_is_true(v);
    return 0;
}

int srv_decode_tei_embed(srv_batch_req *q, const char *body, size_t n_body, size_t max_batch,
                         srv_decode_err *err)
{
    const char *key;
    json_t *v, *inputs = NULL;

    batch_init(q);
    if (!(q->root = load_object(body, n_body, err)))
        return -1;
    json_object_foreach(q->root, key, v) {
        if (!strcmp(key, "inputs")) {
            inputs = v;
        } else if (!strcmp(key, "normalize")) {
            if (tei_bool(v, key, &q->normalize, 0, err) < 0)
                goto bad;
        } else if (!strcmp(key, "truncate")) {
            if (tei_bool(v, key, &q->truncate, 1, err) < 0)
                goto bad;
        } else if (!strcmp(key, "truncation_direction")) {
            if (tei_direction(v, err) < 0)
                goto bad;
        } else if (!strcmp(key, "prompt_name")) {
            if (!json_is_null(v)) {
                fail(err, 422, key, "'prompt_name' is not supported: the model folder "
                                    "defines no prompts for docrag");
                goto bad;
            }
        } else if (!strcmp(key, "dimensions")) {
            if (!int_or_null(v, 1, 1 << 20)) {
                fail(err, 422, key, "'dimensions' must be a positive integer");
                goto bad;
            }
            q->dimensions = json_is_integer(v) ? (long)json_integer_value(v) : 0;
        } else {
            fail(err, 422, key, "unknown field '%.64s'", key);
            goto bad;
        }
    }
    if (!inputs) {
        fail(err, 422, "inputs", "'inputs' is required");
        goto bad;
    }
    if (take_texts(q, inputs, "inputs", max_batch, 422, 1, err) < 0)
        goto bad;
    return 0;
bad:
    srv_batch_req_fini(q);
    return -1;
}

int srv_decode_tei_rerank(srv_batch_req *q, const char *body, size_t n_body, size_t max_batch,
                          srv_decode_err *err)
{
    const char *key;
    json_t *v, *texts = NULL;

    batch_init(q);
    if (!(q->root = load_object(body, n_body, err)))
        return -1;
    json_object_foreach(q->root, key, v) {
        if (!strcmp(key, "query")) {
            if (!json_is_string(v)) {
                fail(err, 422, key, "'query' must be a string");
                goto bad;
            }
            q->query = json_string_value(v);
        } else if (!strcmp(key, "texts")) {
            texts = v;
        } else if (!strcmp(key, "raw_scores")) {
            if (tei_bool(v, key, &q->raw_scores, 0, err) < 0)
                goto bad;
        } else if (!strcmp(key, "return_text")) {
            if (tei_bool(v, key, &q->return_text, 0, err) < 0)
                goto bad;
        } else if (!strcmp(key, "truncate")) {
            if (tei_bool(v, key, &q->truncate, 1, err) < 0)
                goto bad;
        } else if (!strcmp(key, "truncation_direction")) {
            if (tei_direction(v, err) < 0)
                goto bad;
        } else {
            fail(err, 422, key, "unknown field '%.64s'", key);
            goto bad;
        }
    }
    if (!q->query) {
        fail(err, 422, "query", "'query' is required");
        goto bad;
    }
    if (!texts) {
        fail(err, 422, "texts", "'texts' is required");
        goto bad;
    }
    if (!json_is_array(texts)) {
        fail(err, 422, "texts", "'texts' must be an array of strings");
        goto bad;
    }
    if (take_texts(q, texts, "texts", max_batch, 422, 1, err) < 0)
        goto bad;
    return 0;
bad:
    srv_batch_req_fini(q);
    return -1;
}

void srv_batch_req_fini(srv_batch_req *q)
{
    rag_free(q->texts);
    json_decref(q->root);
    memset(q, 0, sizeof *q);
}
