/* ollama.c - Ollama /api/chat, streamed as NDJSON.
 *
 * Wire format (shared/api_contracts.md §4): POST {url}/api/chat
 *   {"model", "messages", "stream": true,
 *    "options": {"temperature", "num_predict"}}
 * answered with one JSON object per line: {"message": {"content": "..."},
 * "done": false} ... and a last {"done": true, "prompt_eval_count": N,
 * "eval_count": M}. A mid-stream {"error": "..."} line fails the call
 * (the HTTP client reports it as RAG_NET_REMOTE_ERROR).
 */
#include "llm_internal.h"

#include <string.h>

typedef struct {
    rag_llm base;
    char *model;  /* owned */
} ollama_llm;

typedef struct {
    rag_buf text;
    rag_llm_token_fn on_token;
    void *ctx;
    rag_llm_result *res;
    int malformed, user_stop, timed_out;
    int append_rc;    /* rag_buf_append failure: the answer cap or OOM */
    double deadline;
    int64_t n_in, n_out;
    int have_usage;
    char model[200];
} nd_ctx;

static int on_line(const rag_net_event *ev, void *ud)
{
    nd_ctx *c = ud;
    json_t *msg, *content, *model;

    if (c->deadline > 0 && rag_now_ms() > c->deadline) {
        c->timed_out = 1;
        return 1;
    }
    if (!json_is_object(ev->json)) {
        c->malformed = 1;
        return 1;
    }
    model = json_object_get(ev->json, "model");
    if (json_is_string(model) && !c->model[0])
        snprintf(c->model, sizeof c->model, "%s", json_string_value(model));
    msg = json_object_get(ev->json, "message");
    content = json_object_get(msg, "content");
    if (json_is_string(content) && json_string_length(content) > 0) {
        const char *s = json_string_value(content);
        size_t n = json_string_length(content);
        int arc = rag_buf_append(&c->text, s, n);
        if (arc < 0) {
            c->append_rc = arc; /* the cap or out of memory, not a bad event */
            return 1;
        }
        c->res->n_tokens_delivered++;
        if (c->on_token && c->on_token(c->ctx, s, n)) {
            c->user_stop = 1;
            return 1;
        }
    }
    if (json_is_true(json_object_get(ev->json, "done"))) {
        c->n_in = json_integer_value(json_object_get(ev->json, "prompt_eval_count"));
        c->n_out = json_integer_value(json_object_get(ev->json, "eval_count"));
        c->have_usage = json_object_get(ev->json, "eval_count") != NULL;
    }
    return 0;
}

static char *build_body(const char *model, const rag_llm_message *msgs, size_t n_msgs,
                        const rag_llm_opts *opts)
{
    json_t *root = json_object(), *arr = json_array(), *o = json_object();
    char *s = NULL, *out = NULL;

    if (root && arr && o) {
        for (size_t i = 0; i < n_msgs; i++)
            if (json_array_append_new(arr, llm_json_message(&msgs[i])) < 0)
                goto done;
        json_object_set_new(root, "model", json_string(model));
        json_object_set(root, "messages", arr);
        json_object_set_new(root, "stream", json_true());
        if (opts->temperature >= 0)
            json_object_set_new(o, "temperature", json_real(opts->temperature));
        if (opts->max_tokens > 0)
            json_object_set_new(o, "num_predict", json_integer(opts->max_tokens));
        json_object_set(root, "options", o);
        s = json_dumps(root, JSON_COMPACT);
    }
    if (s) {
        json_malloc_t jm;
        json_free_t jf;
        out = rag_strdup(s);
        json_get_alloc_funcs(&jm, &jf);
        jf(s);
    }
done:
    json_decref(o);
    json_decref(arr);
    json_decref(root);
    return out;
}

static int ollama_chat(rag_llm *llm, const rag_llm_message *msgs, size_t n_msgs,
                       const rag_llm_opts *opts, rag_llm_token_fn on_token, void *ctx,
                       rag_llm_result *res, rag_err *err)
{
    ollama_llm *o = (ollama_llm *)llm;
    rag_net_request req = {0};
    rag_net_response resp;
    nd_ctx c;
    size_t prompt_bytes = 0;
    char *body;
    int rc;

    memset(res, 0, sizeof *res);
    memset(&c, 0, sizeof c);
    for (size_t i = 0; i < n_msgs; i++)
        prompt_bytes += strlen(msgs[i].content);
    body = build_body(o->model, msgs, n_msgs, opts);
    if (!body)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", llm->name);
    c.on_token = on_token;
    c.ctx = ctx;
    c.res = res;
    c.text.max_len = llm->max_answer_bytes;
    c.deadline = opts->timeout_ms > 0 ? rag_now_ms() + (double)opts->timeout_ms : 0;
    req.method = "POST";
    req.path = "/api/chat";
    req.body = body;
    req.stream = RAG_NET_STREAM_NDJSON;
    req.on_event = on_line;
    req.userdata = &c;
    req.is_cancelled = opts->is_cancelled;
    req.cancel_ctx = opts->cancel_ctx;
    req.expect_done = 1;
    req.deadline_ms = (double)opts->timeout_ms; /* 0 = the back-end's own */
    rag_net_response_init(&resp);
    res->models_tried = 1;
    rc = rag_net_request_do(llm->ep, &req, &resp, err);
    rag_free(body);
    res->status = resp.status;
    res->cls = resp.cls;
    res->retries = resp.attempts > 1 ? resp.attempts - 1 : 0;
    if (rc < 0 && c.append_rc) {
        rc = llm_answer_append_fail(llm, c.append_rc, res, err);
    } else if (rc < 0 && c.malformed) {
        res->cls = RAG_NET_MALFORMED;
        rc = rag_fail(err, RAG_EFORMAT, "%s: stream line is not a JSON object", llm->name);
    } else if (rc < 0 && c.timed_out) {
        res->cls = RAG_NET_TIMEOUT;
        rc = rag_fail(err, RAG_EBACKEND, "%s: no complete answer within %ld ms",
                      llm->name, opts->timeout_ms);
    }
    if (rc == RAG_OK) {
        res->text = c.text.len ? rag_buf_take(&c.text) : rag_strdup("");
        res->served_model = rag_strdup(c.model[0] ? c.model : o->model);
        if (!res->text || !res->served_model) {
            rag_llm_result_fini(res);
            rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", llm->name);
        } else {
            res->tokens_in = c.have_usage ? c.n_in : llm_estimate_tokens(prompt_bytes);
            res->tokens_out = c.have_usage ? c.n_out : llm_estimate_tokens(strlen(res->text));
        }
    }
    rag_buf_fini(&c.text);
    rag_net_response_fini(&resp);
    return rc;
}

static void ollama_destroy(rag_llm *llm)
{
    ollama_llm *o = (ollama_llm *)llm;
    rag_free(o->model);
    llm_base_fini(llm);
    rag_free(o);
}

static const struct rag_llm_ops ollama_ops = {
    .name = "ollama", .chat = ollama_chat, .destroy = ollama_destroy,
};

int rag_llm_ollama_create(rag_llm **out, const rag_backend_cfg *cfg,
                          const rag_llm_tuning *tune, rag_err *err)
{
    ollama_llm *o;
    int rc;

    *out = NULL;
    if (!cfg->model || !cfg->model[0])
        return rag_fail(err, RAG_EINVAL, "backends.%s: no model", cfg->name);
    o = rag_calloc(1, sizeof *o);
    if (!o)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    o->base.ops = &ollama_ops;
    o->model = rag_strdup(cfg->model);
    rc = o->model ? llm_base_init(&o->base, &ollama_ops, cfg, tune, err)
                  : rag_fail(err, RAG_ENOMEM, "out of memory");
    if (rc < 0) {
        ollama_destroy(&o->base);
        return rc;
    }
    *out = &o->base;
    return RAG_OK;
}
