/* openai.c - OpenAI-compatible chat completions, always streamed.
 *
 * Wire format (shared/api_contracts.md §5): POST {url}/chat/completions
 *   {"model", "messages", "stream": true,
 *    "stream_options": {"include_usage": true}, "max_tokens", "temperature"}
 * answered with SSE events `data: {chunk}` where chunk.choices[0].delta
 * .content carries text, a last chunk with empty/null choices may carry
 * usage {prompt_tokens, completion_tokens}, and `data: [DONE]` ends it.
 * Used for types "openai" and "hf_providers" (the HF router: model ids may
 * end in ":provider" / ":fastest"; the router picks the provider).
 *
 * Model list: `model` then `models[]` are tried in turn while the failure
 * is about the model (rag_llm_model_error) and no text was delivered yet;
 * any other failure ends the call so the chain can move on.
 */
#include "llm_internal.h"

#include <string.h>

typedef struct {
    rag_llm base;
    char **models;   /* owned, n_models entries */
    size_t n_models;
} openai_llm;

typedef struct {
    rag_buf text;
    rag_llm_token_fn on_token;
    void *ctx;
    rag_llm_result *res;
    int malformed;
    int timed_out;
    int user_stop;
    int append_rc;    /* rag_buf_append failure: the answer cap or OOM */
    double deadline;  /* rag_now_ms() limit, 0 = none */
    int64_t usage_in, usage_out;
    int have_usage;
    char model[200];
} sse_ctx;

static int on_event(const rag_net_event *ev, void *ud)
{
    sse_ctx *c = ud;
    json_t *choices, *delta, *content, *usage, *model;

    if (ev->done)
        return 0;
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
    usage = json_object_get(ev->json, "usage");
    if (json_is_object(usage)) {
        c->usage_in = json_integer_value(json_object_get(usage, "prompt_tokens"));
        c->usage_out = json_integer_value(json_object_get(usage, "completion_tokens"));
        c->have_usage = 1;
    }
    choices = json_object_get(ev->json, "choices");
    if (!json_is_array(choices) || json_array_size(choices) == 0)
        return 0; /* usage-only chunk: choices [] or null */
    delta = json_object_get(json_array_get(choices, 0), "delta");
    content = json_object_get(delta, "content");
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
    return 0;
}

static char *build_body(const char *model, const rag_llm_message *msgs, size_t n_msgs,
                        const rag_llm_opts *opts)
{
    json_t *root = json_object(), *arr = json_array();
    char *s = NULL, *out = NULL;

    if (!root || !arr)
        goto done;
    for (size_t i = 0; i < n_msgs; i++)
        if (json_array_append_new(arr, llm_json_message(&msgs[i])) < 0)
            goto done;
    json_object_set_new(root, "model", json_string(model));
    json_object_set(root, "messages", arr);
    json_object_set_new(root, "stream", json_true());
    json_object_set_new(root, "stream_options", json_pack("{s:b}", "include_usage", 1));
    if (opts->max_tokens > 0)
        json_object_set_new(root, "max_tokens", json_integer(opts->max_tokens));
    if (opts->temperature >= 0)
        json_object_set_new(root, "temperature", json_real(opts->temperature));
    s = json_dumps(root, JSON_COMPACT);
    if (s) {
        json_malloc_t jm;
        json_free_t jf;
        out = rag_strdup(s);
        json_get_alloc_funcs(&jm, &jf);
        jf(s); /* jansson allocated it */
    }
done:
    json_decref(arr);
    json_decref(root);
    return out;
}

static int openai_chat(rag_llm *llm, const rag_llm_message *msgs, size_t n_msgs,
                       const rag_llm_opts *opts, rag_llm_token_fn on_token, void *ctx,
                       rag_llm_result *res, rag_err *err)
{
    openai_llm *o = (openai_llm *)llm;
    size_t prompt_bytes = 0;
    int rc = RAG_EBACKEND;
    double t0 = rag_now_ms();

    memset(res, 0, sizeof *res);
    for (size_t i = 0; i < n_msgs; i++)
        prompt_bytes += strlen(msgs[i].content);
    for (size_t m = 0; m < o->n_models; m++) {
        sse_ctx c;
        rag_net_request req = {0};
        rag_net_response resp;
        char *body = build_body(o->models[m], msgs, n_msgs, opts);

        if (!body)
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory", llm->name);
        memset(&c, 0, sizeof c);
        c.on_token = on_token;
        c.ctx = ctx;
        c.res = res;
        c.text.max_len = llm->max_answer_bytes;
        c.deadline = opts->timeout_ms > 0 ? t0 + (double)opts->timeout_ms : 0;
        req.method = "POST";
        req.path = "/chat/completions";
        req.body = body;
        req.stream = RAG_NET_STREAM_SSE;
        req.on_event = on_event;
        req.userdata = &c;
        req.is_cancelled = opts->is_cancelled;
        req.cancel_ctx = opts->cancel_ctx;
        req.expect_done = 1;
        if (c.deadline > 0) /* the whole call, every model and retry in it */
            req.deadline_ms = c.deadline - rag_now_ms() > 1 ? c.deadline - rag_now_ms() : 1;
        rag_net_response_init(&resp);
        res->models_tried++;
        rc = rag_net_request_do(llm->ep, &req, &resp, err);
        rag_free(body);
        res->status = resp.status;
        res->cls = resp.cls;
        res->retries += resp.attempts > 1 ? resp.attempts - 1 : 0;
        if (rc == RAG_OK && c.text.len == 0 && !c.have_usage) {
            /* 200 with nothing usable (e.g. a JSON body, not a stream) */
            res->cls = RAG_NET_MALFORMED;
            rc = rag_fail(err, RAG_EFORMAT, "%s: %s: empty or non-stream reply",
                          llm->name, o->models[m]);
        } else if (rc < 0 && c.append_rc) {
            rc = llm_answer_append_fail(llm, c.append_rc, res, err);
        } else if (rc < 0 && c.malformed) {
            res->cls = RAG_NET_MALFORMED;
            rc = rag_fail(err, RAG_EFORMAT, "%s: %s: stream event is not a JSON chunk",
                          llm->name, o->models[m]);
        } else if (rc < 0 && c.timed_out) {
            res->cls = RAG_NET_TIMEOUT;
            rc = rag_fail(err, RAG_EBACKEND, "%s: %s: no complete answer within %ld ms",
                          llm->name, o->models[m], opts->timeout_ms);
        }
        if (rc == RAG_OK) {
            res->text = rag_buf_take(&c.text);
            res->served_model = rag_strdup(c.model[0] ? c.model : o->models[m]);
            if (!res->text)
                res->text = rag_strdup("");
            res->tokens_in = c.have_usage ? c.usage_in : llm_estimate_tokens(prompt_bytes);
            res->tokens_out = c.have_usage ? c.usage_out
                                           : llm_estimate_tokens(strlen(res->text));
            rag_net_response_fini(&resp);
            if (!res->text || !res->served_model) {
                rag_llm_result_fini(res);
                return rag_fail(err, RAG_ENOMEM, "%s: out of memory", llm->name);
            }
            return RAG_OK;
        }
        {
            int model_level = res->n_tokens_delivered == 0 &&
                              rag_llm_model_error(resp.status, resp.body.data);
            rag_buf_fini(&c.text);
            rag_net_response_fini(&resp);
            if (!model_level || c.user_stop || c.append_rc)
                break;
            rag_log(RAG_LOG_INFO, "%s: model %s refused (HTTP %ld); trying the next model",
                    llm->name, o->models[m], res->status);
        }
    }
    return rc;
}

static void openai_destroy(rag_llm *llm)
{
    openai_llm *o = (openai_llm *)llm;
    for (size_t i = 0; i < o->n_models; i++)
        rag_free(o->models[i]);
    rag_free(o->models);
    llm_base_fini(llm);
    rag_free(o);
}

static const struct rag_llm_ops openai_ops = {
    .name = "openai", .chat = openai_chat, .destroy = openai_destroy,
};

int rag_llm_openai_create(rag_llm **out, const rag_backend_cfg *cfg,
                          const rag_llm_tuning *tune, rag_err *err)
{
    openai_llm *o;
    size_t n = (cfg->model && cfg->model[0] ? 1 : 0) + cfg->n_models;
    int rc;

    *out = NULL;
    if (n == 0)
        return rag_fail(err, RAG_EINVAL, "backends.%s: no model", cfg->name);
    o = rag_calloc(1, sizeof *o);
    if (!o)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    o->models = rag_calloc(n, sizeof *o->models);
    rc = o->models ? RAG_OK : rag_fail(err, RAG_ENOMEM, "out of memory");
    if (rc == RAG_OK && cfg->model && cfg->model[0])
        if (!(o->models[o->n_models++] = rag_strdup(cfg->model)))
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    for (size_t i = 0; rc == RAG_OK && i < cfg->n_models; i++)
        if (!(o->models[o->n_models++] = rag_strdup(cfg->models[i])))
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    if (rc == RAG_OK)
        rc = llm_base_init(&o->base, &openai_ops, cfg, tune, err);
    if (rc < 0) {
        o->base.ops = &openai_ops;
        openai_destroy(&o->base);
        return rc;
    }
    *out = &o->base;
    return RAG_OK;
}
