/* routes_openai.c - the OpenAI-compatible routes: GET /v1/models,
 * POST /v1/chat/completions (docrag as a RAG "model"), POST /v1/embeddings
 * (the configured embedder). Contract: docs/server.md, "OpenAI-compatible
 * routes".
 *
 * A chat completion is one docrag_ask on the last user message. The answer
 * keeps its [n] markers in message.content; each marker gets a
 * url_citation annotation whose start_index/end_index locate it in the
 * content (in Unicode code points, as Python's str indexes) and whose url
 * is the cited document's file route with #page=N. The full citation list
 * and the answer's confidence, refusal, back-end and notices go in a
 * top-level "docrag" object. Streaming sends OpenAI's chat.completion.chunk
 * events: the role first (when retrieval is done, so an invalid option is
 * still a plain HTTP error), then docrag_ask's deltas as content, then one
 * chunk with finish_reason "stop", the annotations (in its delta) and the
 * "docrag" object, then (stream_options.include_usage) a usage chunk with
 * empty choices, then `data: [DONE]`. Streamed text that is not the final
 * answer (an LLM's raw tokens: docrag renumbers and drops citations after)
 * cites the sources by their on_sources number, so its annotations map
 * each number through the sources to the kept citation of that chunk.
 *
 * Token counts in "usage" are estimates (about 4 bytes a token: the question
 * and the retrieved passages for the prompt, the answer for the
 * completion): docrag.h reports no tokenizer counts. Errors use OpenAI's
 * shape {"error":{"message","type","param","code"}}; the router's own
 * answers (401, 403, 413 body, 415, 429, 503) keep docrag's shape, whose
 * error.message and error.type OpenAI clients read the same way.
 */
#include "decode.h"
#include "srv.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- errors --------------------------------------------------------------------- */

static json_t *error_object(const char *type, const char *param, const char *code,
                            const char *msg)
{
    return json_pack("{s:{s:s,s:s,s:o,s:o}}", "error", "message", msg, "type", type,
                     "param", param && *param ? json_string(param) : json_null(), "code",
                     code ? json_string(code) : json_null());
}

static void oai_error(srv_req *r, int status, const char *param, const char *code,
                      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void oai_error(srv_req *r, int status, const char *param, const char *code,
                      const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    srv_reply_json(r, status, error_object(status >= 500 ? "server_error"
                                                         : "invalid_request_error",
                                           param, code, msg));
}

/* A docrag status as an OpenAI error (the statuses of srv_reply_docrag_error;
 * internals are logged, never sent). */
static int docrag_status_http(int code)
{
    switch (code) {
    case DOCRAG_ENOTFOUND: return 404;
    case DOCRAG_EINVAL: case DOCRAG_EFORMAT: return 400;
    case DOCRAG_ELIMIT: return 413;
    case DOCRAG_EBACKEND: return 502;
    case DOCRAG_ECANCELLED: return 499;
    default: return 500;
    }
}

static void oai_docrag_error(srv_req *r, const docrag_error *err)
{
    int status = docrag_status_http(err->code);
    if (status == 500) {
        rag_log(RAG_LOG_ERROR, "request %s: %s", r->id, err->msg);
        oai_error(r, 500, NULL, NULL, "internal error (request id %s)", r->id);
        return;
    }
    oai_error(r, status, NULL, status == 502 ? "backend_error" : NULL, "%s", err->msg);
}

/* ---- models ---------------------------------------------------------------------- */

/* The collection a model id names: "docrag" the default, "docrag/NAME" that
 * one; NULL for any other id. */
static const srv_coll *model_collection(srv_req *r, const char *model)
{
    const srv_info *info = srv_get_info(r->s);
    if (!strcmp(model, "docrag"))
        return &info->colls[0];
    if (!strncmp(model, "docrag/", 7))
        for (size_t i = 0; i < info->n_colls; i++)
            if (!strcmp(info->colls[i].name, model + 7))
                return &info->colls[i];
    return NULL;
}

static json_t *model_entry(srv_req *r, const char *id)
{
    /* started_ms is on the monotonic clock: the start in Unix seconds */
    double up_s = (rag_now_ms() - srv_get_info(r->s)->started_ms) / 1000.0;
    return json_pack("{s:s,s:s,s:I,s:s}", "id", id, "object", "model", "created",
                     (json_int_t)time(NULL) - (json_int_t)up_s, "owned_by", "docrag");
}

/* Every model id served: docrag, docrag/<collection>..., then each distinct
 * embedding model. */
static json_t *model_list(srv_req *r)
{
    const srv_info *info = srv_get_info(r->s);
    json_t *data = json_array();
    char id[128];

    json_array_append_new(data, model_entry(r, "docrag"));
    for (size_t i = 0; i < info->n_colls; i++) {
        snprintf(id, sizeof id, "docrag/%s", info->colls[i].name);
        json_array_append_new(data, model_entry(r, id));
    }
    for (size_t i = 0; i < info->n_colls; i++) {
        const char *m = info->colls[i].engine ? docrag_embed_model(info->colls[i].engine) : NULL;
        int seen = 0;
        size_t j;
        json_t *e;
        if (!m)
            continue;
        json_array_foreach(data, j, e)
            seen |= !strcmp(json_string_value(json_object_get(e, "id")), m);
        if (!seen)
            json_array_append_new(data, model_entry(r, m));
    }
    return data;
}

static void list_models(srv_req *r)
{
    json_t *data = model_list(r);
    srv_reply_json(r, 200, data ? json_pack("{s:s,s:o}", "object", "list", "data", data) : NULL);
}

static void get_model(srv_req *r)
{
    json_t *data = model_list(r), *e, *found = NULL;
    char id[300];
    size_t i;
    if (!r->params[0] || (r->n_params > 1 && !r->params[1])) {
        json_decref(data);
        oai_error(r, 503, NULL, NULL, "out of memory");
        return;
    }
    /* ids hold '/', so the route matches one or two segments */
    snprintf(id, sizeof id, "%s%s%s", r->params[0], r->n_params > 1 ? "/" : "",
             r->n_params > 1 ? r->params[1] : "");
    json_array_foreach(data, i, e)
        if (!strcmp(json_string_value(json_object_get(e, "id")), id))
            found = json_incref(e);
    json_decref(data);
    if (!found) {
        oai_error(r, 404, "model", "model_not_found", "The model '%.200s' does not exist", id);
        return;
    }
    srv_reply_json(r, 200, found);
}

/* ---- chat completions ------------------------------------------------------------- */

typedef struct {
    srv_req *r;
    const srv_chat_req *q;
    char id[64];
    json_int_t created;
    char fingerprint[64];
    int started;            /* stream: headers and the role chunk sent */
    int void_text;          /* a back-end failed after its text was sent */
    size_t sources_bytes;   /* passages given to the answer (usage estimate) */
    json_t *source_ids;     /* chunk_id of source n at [n - 1] (owned) */
    rag_buf content;        /* what was streamed as content */
} chat_ctx;

static json_int_t est_tokens(size_t n_bytes)
{
    return (json_int_t)((n_bytes + 3) / 4);
}

static json_t *chunk_new(const chat_ctx *c, json_t *delta, const char *finish)
{
    return json_pack("{s:s,s:s,s:I,s:s,s:s,s:[{s:i,s:o,s:n,s:o}]}", "id", c->id, "object",
                     "chat.completion.chunk", "created", c->created, "model", c->q->model,
                     "system_fingerprint", c->fingerprint, "choices", "index", 0, "delta",
                     delta ? delta : json_object(), "logprobs", "finish_reason",
                     finish ? json_string(finish) : json_null());
}

/* "data: JSON\n\n" (steals o). 0, or -1 once the client is gone. */
static int send_data(srv_req *r, json_t *o)
{
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;
    rag_buf b = RAG_BUF_INIT;
    int rc = -1;
    json_decref(o);
    if (t && rag_buf_printf(&b, "data: %s\n\n", t) == 0)
        rc = srv_stream_send(r, b.data, b.len);
    free(t);
    rag_buf_fini(&b);
    return rc;
}

static int start_stream(chat_ctx *c)
{
    if (c->started)
        return 0;
    c->started = 1;
    srv_stream_start(c->r, 200, "text/event-stream");
    return send_data(c->r, chunk_new(c, json_pack("{s:s,s:s}", "role", "assistant", "content",
                                                  ""), NULL));
}

static int on_sources(void *ctx, const char *json)
{
    chat_ctx *c = ctx;
    json_t *o = json_loads(json, 0, NULL), *s;
    size_t i;
    json_decref(c->source_ids);
    c->source_ids = json_array();
    json_array_foreach(json_object_get(o, "sources"), i, s) {
        const char *text = json_string_value(json_object_get(s, "text"));
        c->sources_bytes += text ? strlen(text) : 0;
        json_array_append(c->source_ids, json_object_get(s, "chunk_id"));
    }
    json_decref(o);
    return c->q->stream ? start_stream(c) < 0 : 0;
}

static int on_delta(void *ctx, const char *text, size_t n)
{
    chat_ctx *c = ctx;
    json_t *d;
    if (c->void_text)
        return 1;
    if (start_stream(c) < 0 || rag_buf_append(&c->content, text, n) < 0)
        return 1;
    d = json_object();
    if (!d || json_object_set_new(d, "content", json_stringn(text, n)) < 0) {
        json_decref(d);
        return 1;
    }
    return send_data(c->r, chunk_new(c, d, NULL)) < 0;
}

static void on_abandon(void *ctx, const char *backend, const char *why)
{
    chat_ctx *c = ctx;
    /* OpenAI's stream has no way to take text back: stop instead of
     * appending the next back-end's answer to a void one */
    if (c->content.len) {
        c->void_text = 1;
        rag_log(RAG_LOG_WARN, "request %s: back-end %s failed mid-answer (%s): the stream "
                "ends with an error", c->r->id, backend, why);
    }
}

static int is_cancelled(void *ctx)
{
    chat_ctx *c = ctx;
    return c->void_text || srv_req_closed(c->r);
}

/* Percent-encode a collection name for a query string. */
static void url_escape(rag_buf *b, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            strchr("-._~", ch))
            rag_buf_putc(b, (char)ch);
        else
            rag_buf_printf(b, "%%%02X", ch);
    }
}

/* The ask result's citations with document_id and url added (the chunk's
 * document through docrag_chunk; a chunk deleted meanwhile gets nulls). */
static json_t *citations_with_urls(srv_req *r, const srv_coll *coll, const json_t *cites)
{
    const srv_info *info = srv_get_info(r->s);
    json_t *out = json_array(), *c;
    size_t i;

    json_array_foreach(cites, i, c) {
        json_t *o = json_deep_copy(c), *ch = NULL;
        char *cj = NULL;
        docrag_error err;
        json_int_t doc_id = 0;
        if (!o)
            continue;
        if (docrag_chunk(r->session, srv_json_id(json_object_get(c, "chunk_id")), &cj, &err) ==
                0 && (ch = json_loads(cj, 0, NULL)))
            doc_id = json_integer_value(json_object_get(ch, "document_id"));
        docrag_free(cj);
        json_decref(ch);
        if (doc_id > 0) {
            rag_buf u = RAG_BUF_INIT;
            rag_buf_printf(&u, "%s/v1/documents/%lld/file", info->base_url, (long long)doc_id);
            if (coll != &info->colls[0]) {
                rag_buf_puts(&u, "?collection=");
                url_escape(&u, coll->name);
            }
            rag_buf_printf(&u, "#page=%d",
                           (int)json_integer_value(json_object_get(c, "page_start")));
            json_object_set_new(o, "document_id", json_integer(doc_id));
            json_object_set_new(o, "url", u.data ? json_string(u.data) : json_null());
            rag_buf_fini(&u);
        } else {
            json_object_set_new(o, "document_id", json_null());
            json_object_set_new(o, "url", json_null());
        }
        json_array_append_new(out, o);
    }
    return out;
}

static const json_t *citation_n(const json_t *cites, json_int_t n)
{
    size_t i;
    json_t *c;
    json_array_foreach(cites, i, c)
        if (json_integer_value(json_object_get(c, "n")) == n)
            return c;
    return NULL;
}

static json_t *url_citation(const json_t *c, size_t cp, size_t n_cp)
{
    const char *t = json_string_value(json_object_get(c, "title"));
    int p0 = (int)json_integer_value(json_object_get(c, "page_start"));
    int p1 = (int)json_integer_value(json_object_get(c, "page_end"));
    char title[400];
    if (!t || !*t)
        t = json_string_value(json_object_get(c, "doc"));
    if (p1 > p0)
        snprintf(title, sizeof title, "%s, pages %d-%d", t ? t : "", p0, p1);
    else
        snprintf(title, sizeof title, "%s, page %d", t ? t : "", p0);
    return json_pack("{s:s,s:{s:s,s:s,s:I,s:I}}", "type", "url_citation", "url_citation",
                     "url", json_string_value(json_object_get(c, "url")), "title", title,
                     "start_index", (json_int_t)cp, "end_index", (json_int_t)(cp + n_cp));
}

/* One url_citation per cited number of each marker of content: "[n]", and
 * in an LLM's raw text "[n, m]", "[n; m]", "[a-b]" (a range of at most 32).
 * start/end in code points, end exclusive, spanning the whole marker. */
static json_t *annotations(const char *content, const json_t *cites)
{
    json_t *out = json_array();
    size_t cp = 0;
    for (const char *p = content; out && *p; ) {
        if (*p == '[') {
            const char *q = p + 1;
            size_t n_len = strspn(q, "0123456789 ,;-");
            if (q[n_len] == ']' && strcspn(q, "0123456789") < n_len) {
                size_t n_cp = n_len + 2;   /* ASCII only */
                for (const char *d = q; d < q + n_len; ) {
                    char *end;
                    long a, b;
                    d += strspn(d, " ,;");
                    if (!(*d >= '0' && *d <= '9'))
                        break;
                    a = b = strtol(d, &end, 10);
                    d = end + strspn(end, " ");
                    if (*d == '-') {
                        d++;
                        d += strspn(d, " ");
                        if (*d >= '0' && *d <= '9') {
                            b = strtol(d, &end, 10);
                            d = end;
                        }
                        if (b < a || b - a >= 32)
                            b = a;
                    }
                    for (long n = a; n <= b; n++) {
                        const json_t *c = citation_n(cites, n);
                        if (c && json_string_value(json_object_get(c, "url")))
                            json_array_append_new(out, url_citation(c, cp, n_cp));
                    }
                }
                cp += n_cp;
                p = q + n_len + 1;
                continue;
            }
        }
        /* count code points: skip UTF-8 continuation bytes */
        if (((unsigned char)*p & 0xC0) != 0x80)
            cp++;
        p++;
    }
    return out;
}

/* The citations renumbered as the sources were: an LLM's streamed tokens
 * cite the sources by their number in the prompt, and docrag_ask's final
 * answer renumbers the kept ones 1..k (dropping the others). Each entry is
 * the final citation of the same chunk with "n" set to its source number. */
static json_t *citations_by_source(const json_t *source_ids, const json_t *cites)
{
    json_t *out = json_array(), *id, *c;
    size_t i, j;
    json_array_foreach(source_ids, i, id) {
        json_array_foreach(cites, j, c) {
            if (srv_json_id(json_object_get(c, "chunk_id")) == srv_json_id(id)) {
                json_t *o = json_deep_copy(c);
                if (o) {
                    json_object_set_new(o, "n", json_integer((json_int_t)i + 1));
                    json_array_append_new(out, o);
                }
                break;
            }
        }
    }
    return out;
}

/* The top-level "docrag" object from the ask result. */
static json_t *docrag_object(const srv_coll *coll, const json_t *res, json_t *cites)
{
    static const char *const copy[] = {"confidence", "refused", "backend", "model", "notice",
                                       "search_notice", "mode", "reranked_by", "timings_ms",
                                       NULL};
    json_t *o = json_pack("{s:s,s:o,s:o,s:b}", "collection", coll->name, "citations", cites,
                          "dropped_citations",
                          json_object_get(res, "dropped_citations")
                              ? json_incref(json_object_get(res, "dropped_citations"))
                              : json_array(),
                          "usage_estimated", 1);
    for (size_t i = 0; o && copy[i]; i++) {
        json_t *v = json_object_get(res, copy[i]);
        if (v)
            json_object_set(o, copy[i], v);
    }
    return o;
}

static json_t *usage_object(const chat_ctx *c, size_t answer_bytes)
{
    json_int_t p = est_tokens(strlen(c->q->question) + c->sources_bytes);
    json_int_t a = est_tokens(answer_bytes);
    return json_pack("{s:I,s:I,s:I}", "prompt_tokens", p, "completion_tokens", a,
                     "total_tokens", p + a);
}

/* The stream's end after docrag_ask failed: the OpenAI error as a data
 * event, then [DONE]. */
static void stream_error(chat_ctx *c, const docrag_error *err)
{
    int status = docrag_status_http(err->code);
    const char *msg = err->msg;
    if (c->void_text)
        msg = "the answering back-end failed midway and the text sent so far is void; ask "
              "again (POST /v1/ask streams a reset event for this)";
    else if (status == 500) {
        rag_log(RAG_LOG_ERROR, "request %s: %s", c->r->id, err->msg);
        msg = "internal error";
    }
    send_data(c->r, error_object("server_error", NULL, c->void_text ? "answer_abandoned"
                                                                       : NULL, msg));
    srv_stream_send(c->r, "data: [DONE]\n\n", 14);
}

static void chat(srv_req *r)
{
    srv_chat_req q;
    srv_decode_err derr;
    const srv_coll *coll;
    chat_ctx c;
    docrag_stream st;
    docrag_ask_opts ao;
    docrag_error err;
    char *out = NULL;
    json_t *res = NULL, *cites = NULL, *ann = NULL;
    const char *answer;
    int rc;

    if (srv_decode_chat(&q, r->body, r->n_body, &derr) < 0) {
        oai_error(r, derr.status, derr.param, NULL, "%s", derr.msg);
        return;
    }
    if (!(coll = model_collection(r, q.model))) {
        oai_error(r, 404, "model", "model_not_found",
                  "The model '%.200s' does not exist: use \"docrag\" or \"docrag/<collection>\" "
                  "(GET /v1/models lists them)", q.model);
        srv_chat_req_fini(&q);
        return;
    }
    if (!srv_session(r, (srv_coll *)coll)) {
        srv_chat_req_fini(&q);
        return;
    }
    memset(&c, 0, sizeof c);
    c.r = r;
    c.q = &q;
    snprintf(c.id, sizeof c.id, "chatcmpl-%s", r->id);
    snprintf(c.fingerprint, sizeof c.fingerprint, "docrag-%s", docrag_version());
    c.created = (json_int_t)time(NULL);
    st = (docrag_stream){on_sources, q.stream ? on_delta : NULL, on_abandon, is_cancelled, &c};
    docrag_ask_opts_init(&ao);
    ao.search = q.so;
    ao.stream = &st;

    rc = docrag_ask(r->session, q.question, &ao, &out, &err);
    if (rc != 0) {
        if (err.code == DOCRAG_ECANCELLED && srv_req_closed(r))
            srv_count(r->s, "docrag_answers_cancelled_total", "client_closed", 1);
        if (!c.started)
            oai_docrag_error(r, &err);
        else {
            if (!srv_req_closed(r))
                stream_error(&c, &err);
            srv_stream_end(r);
        }
        goto done;
    }
    res = json_loads(out, 0, NULL);
    answer = json_string_value(json_object_get(res, "answer"));
    if (!answer) {
        rag_log(RAG_LOG_ERROR, "request %s: docrag_ask gave no answer", r->id);
        if (!c.started)
            oai_error(r, 500, NULL, NULL, "internal error (request id %s)", r->id);
        else
            srv_stream_end(r);
        goto done;
    }
    if (json_is_true(json_object_get(res, "refused")))
        srv_count(r->s, "docrag_answers_refused_total", "gate", 1);
    cites = citations_with_urls(r, coll, json_object_get(res, "citations"));
    if (!q.stream) {
        json_t *o;
        ann = annotations(answer, cites);
        o = json_pack("{s:s,s:s,s:I,s:s,s:s,s:[{s:i,s:{s:s,s:s,s:n,s:o},s:n,s:s}],s:o,s:o}",
                      "id", c.id, "object", "chat.completion", "created", c.created, "model",
                      q.model, "system_fingerprint", c.fingerprint, "choices", "index", 0,
                      "message", "role", "assistant", "content", answer, "refusal",
                      "annotations", ann, "logprobs", "finish_reason", "stop", "usage",
                      usage_object(&c, strlen(answer)), "docrag",
                      docrag_object(coll, res, cites));
        ann = cites = NULL;   /* stolen */
        srv_reply_json(r, 200, o);
        goto done;
    }
    if (start_stream(&c) < 0)
        goto end_stream;
    if (c.void_text) {
        /* a fallback answered after text of the failed back-end was sent:
         * the client holds void text, which a stream cannot take back */
        err.code = DOCRAG_EBACKEND;
        err.msg[0] = '\0';
        stream_error(&c, &err);
        goto end_stream;
    }
    /* a back-end that streamed nothing (or the refusal path) still gives
     * its whole answer as content */
    if (!c.content.len && *answer && on_delta(&c, answer, strlen(answer)))
        goto end_stream;
    {
        json_t *last, *delta;
        const char *streamed = c.content.data ? c.content.data : "";
        /* text streamed as the final answer has its numbering; an LLM's raw
         * tokens (renumbered or with dropped citations afterwards) number
         * the sources */
        if (!strcmp(streamed, answer)) {
            ann = annotations(streamed, cites);
        } else {
            json_t *by_source = citations_by_source(c.source_ids, cites);
            ann = annotations(streamed, by_source);
            json_decref(by_source);
        }
        delta = json_pack("{s:o}", "annotations", ann);
        ann = NULL;
        last = chunk_new(&c, delta, "stop");
        if (last) {
            json_t *d = docrag_object(coll, res, cites);
            cites = NULL;   /* stolen */
            /* the checked answer, when the streamed text was not it */
            if (d && strcmp(streamed, answer))
                json_object_set_new(d, "answer", json_string(answer));
            json_object_set_new(last, "docrag", d);
        }
        if (send_data(r, last) < 0)
            goto end_stream;
        if (q.include_usage) {
            json_t *u = json_pack("{s:s,s:s,s:I,s:s,s:s,s:[],s:o}", "id", c.id, "object",
                                  "chat.completion.chunk", "created", c.created, "model",
                                  q.model, "system_fingerprint", c.fingerprint, "choices",
                                  "usage", usage_object(&c, c.content.len));
            if (send_data(r, u) < 0)
                goto end_stream;
        }
        srv_stream_send(r, "data: [DONE]\n\n", 14);
    }
end_stream:
    srv_stream_end(r);
done:
    json_decref(ann);
    json_decref(cites);
    json_decref(res);
    docrag_free(out);
    rag_buf_fini(&c.content);
    json_decref(c.source_ids);
    srv_chat_req_fini(&q);
}

/* ---- embeddings ------------------------------------------------------------------- */

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Little-endian float32 bytes of v, base64-encoded, as OpenAI sends them. */
static int put_base64(rag_buf *b, const float *v, size_t n)
{
    size_t n_bytes = n * 4;
    unsigned char tri[3];
    size_t k = 0;
    for (size_t i = 0; i < n_bytes; i++) {
        uint32_t u;
        memcpy(&u, &v[i / 4], 4);
        tri[k++] = (unsigned char)(u >> (8 * (i % 4)));
        if (k == 3 || i + 1 == n_bytes) {
            char q[4];
            q[0] = b64[tri[0] >> 2];
            q[1] = b64[((tri[0] & 3) << 4) | (k > 1 ? tri[1] >> 4 : 0)];
            q[2] = k > 1 ? b64[((tri[1] & 15) << 2) | (k > 2 ? tri[2] >> 6 : 0)] : '=';
            q[3] = k > 2 ? b64[tri[2] & 63] : '=';
            if (rag_buf_append(b, q, 4) < 0)
                return -1;
            k = 0;
        }
    }
    return 0;
}

/* The engine whose embedder a request's model names: "docrag" (the default
 * collection), "docrag/NAME", or an embedder's own id. NULL + 404 answered. */
static docrag_engine *embed_engine(srv_req *r, const char *model)
{
    const srv_info *info = srv_get_info(r->s);
    const srv_coll *coll = model_collection(r, model);
    const char *have;
    if (!coll)
        for (size_t i = 0; !coll && i < info->n_colls; i++)
            if ((have = docrag_embed_model(info->colls[i].engine)) && !strcmp(have, model))
                coll = &info->colls[i];
    if (coll && docrag_embed_model(coll->engine))
        return coll->engine;
    have = docrag_embed_model(info->colls[0].engine);
    if (!coll && have)
        oai_error(r, 404, "model", "model_not_found",
                  "The model '%.200s' does not exist: embeddings are served by '%.200s' (or "
                  "\"docrag\")", model, have);
    else
        oai_error(r, 404, "model", "model_not_found",
                  "no embedding model is configured (chains.embed) for '%.200s'", model);
    return NULL;
}

static void embeddings(srv_req *r)
{
    const srv_info *info = srv_get_info(r->s);
    size_t max_batch = info->cfg.max_batch > 0 ? (size_t)info->cfg.max_batch : 1, dim, n_floats;
    srv_batch_req q;
    srv_decode_err derr;
    docrag_engine *e;
    docrag_error err;
    float *vec = NULL;
    rag_buf b = RAG_BUF_INIT;
    int bad = 0;

    if (srv_decode_embeddings(&q, r->body, r->n_body, max_batch, &derr) < 0) {
        oai_error(r, derr.status, derr.param, derr.status == 413 ? "batch_too_large" : NULL,
                  "%s", derr.msg);
        return;
    }
    if (!(e = embed_engine(r, q.model)))
        goto done;
    dim = docrag_embed_dim(e);
    if (!dim) {
        oai_error(r, 502, NULL, "backend_error",
                  "the embedding back-end cannot tell its dimension (unreachable?)");
        goto done;
    }
    if (q.dimensions && (size_t)q.dimensions != dim) {
        oai_error(r, 400, "dimensions", NULL,
                  "'dimensions' must be %zu, the model's: docrag does not shorten vectors", dim);
        goto done;
    }
    if (rag_size_mul(q.n_texts, dim * sizeof *vec, &n_floats) < 0 ||
        !(vec = rag_malloc(n_floats))) {
        oai_error(r, 503, NULL, NULL, "out of memory for %zu vectors", q.n_texts);
        goto done;
    }
    if (docrag_embed(e, q.texts, q.n_texts, vec, &err) != 0) {
        oai_docrag_error(r, &err);
        goto done;
    }
    bad |= rag_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    for (size_t i = 0; i < q.n_texts; i++) {
        const float *v = vec + i * dim;
        bad |= rag_buf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%zu,\"embedding\":",
                              i ? "," : "", i);
        if (q.base64) {
            bad |= rag_buf_putc(&b, '"');
            bad |= put_base64(&b, v, dim);
            bad |= rag_buf_putc(&b, '"');
        } else {
            bad |= rag_buf_putc(&b, '[');
            for (size_t d = 0; d < dim; d++) {
                if (!isfinite(v[d])) {
                    oai_error(r, 502, NULL, "backend_error",
                              "the embedding model produced a non-finite value");
                    goto done;
                }
                bad |= rag_buf_printf(&b, d ? ",%.9g" : "%.9g", (double)v[d]);
            }
            bad |= rag_buf_putc(&b, ']');
        }
        bad |= rag_buf_putc(&b, '}');
    }
    {
        json_t *tail = json_pack("{s:s,s:{s:I,s:I}}", "model", docrag_embed_model(e), "usage",
                                 "prompt_tokens", est_tokens(q.text_bytes), "total_tokens",
                                 est_tokens(q.text_bytes));
        char *t = tail ? json_dumps(tail, JSON_COMPACT) : NULL;
        json_decref(tail);
        /* splice "model" and "usage" after the data array */
        bad |= !t || rag_buf_printf(&b, "],%s", t + 1) < 0;
        free(t);
        if (bad) {
            oai_error(r, 503, NULL, NULL, "out of memory");
            goto done;
        }
    }
    srv_reply_json_text(r, 200, b.data);
done:
    rag_buf_fini(&b);
    rag_free(vec);
    srv_batch_req_fini(&q);
}

const srv_route srv_routes_openai[] = {
    {"GET", "/v1/models", SRV_ROLE_READ, SRV_BODY_NONE, 0, list_models, "openai_models"},
    {"GET", "/v1/models/{}", SRV_ROLE_READ, SRV_BODY_NONE, 0, get_model, "openai_model"},
    {"GET", "/v1/models/{}/{}", SRV_ROLE_READ, SRV_BODY_NONE, 0, get_model, "openai_model"},
    {"POST", "/v1/chat/completions", SRV_ROLE_READ, SRV_BODY_JSON, 0, chat,
     "openai_chat"},
    {"POST", "/v1/embeddings", SRV_ROLE_READ, SRV_BODY_JSON, 0, embeddings,
     "openai_embeddings"},
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
