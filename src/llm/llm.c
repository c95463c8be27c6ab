/* llm.c - the registry of chat back-ends, their shared HTTP set-up, and
 * the chain named by chains.llm.
 *
 * Every remote back-end gets its own rag_net_endpoint built from its
 * config entry: total/stream timeout = timeout_ms, retries = max_retries,
 * rate limit and in-flight cap as configured; the api_key is the bearer
 * and is also registered as a secret to redact.
 */
#include "llm.h"
#include "llm_internal.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

rag_llm_opts rag_llm_default_opts(void)
{
    return (rag_llm_opts){.max_tokens = 512, .temperature = 0.2, .timeout_ms = 0};
}

void rag_llm_result_fini(rag_llm_result *r)
{
    if (!r)
        return;
    rag_free(r->text);
    rag_free(r->served_model);
    memset(r, 0, sizeof *r);
}

int rag_llm_chat(rag_llm *llm, const rag_llm_message *msgs, size_t n_msgs,
                 const rag_llm_opts *opts, rag_llm_token_fn on_token, void *ctx,
                 rag_llm_result *res, rag_err *err)
{
    rag_llm_opts def = rag_llm_default_opts();
    return llm->ops->chat(llm, msgs, n_msgs, opts ? opts : &def, on_token, ctx, res,
                          err);
}

void rag_llm_destroy(rag_llm *llm)
{
    if (llm)
        llm->ops->destroy(llm);
}

int llm_answer_append_fail(const rag_llm *llm, int rc, rag_llm_result *res, rag_err *err)
{
    if (rc == RAG_ELIMIT) {
        res->cls = RAG_NET_TOO_LARGE;
        return rag_fail(err, RAG_ELIMIT, "%s: answer longer than %zu bytes "
                        "(backends.%s.max_answer_bytes); stream cut", llm->name,
                        llm->max_answer_bytes, llm->name);
    }
    res->cls = RAG_NET_INTERNAL;
    return rag_fail(err, RAG_ENOMEM, "%s: out of memory holding the answer (%s)", llm->name,
                    rag_status_name(rc));
}

json_t *llm_json_message(const rag_llm_message *m)
{
    const char *c = m->content ? m->content : "";
    size_t n = strlen(c);
    rag_buf b = RAG_BUF_INIT;
    json_t *o;
    if (rag_utf8_valid(c, n))
        return json_pack("{s:s,s:s#}", "role", m->role, "content", c, n);
    if (rag_utf8_sanitize(&b, c, n, NULL) < 0) {
        rag_buf_fini(&b);
        return NULL;
    }
    o = json_pack("{s:s,s:s#}", "role", m->role, "content", b.data ? b.data : "", b.len);
    rag_buf_fini(&b);
    return o;
}

static const char *default_url(const char *type)
{
    if (!strcmp(type, "hf_providers"))
        return "https://router.huggingface.co/v1";
    if (!strcmp(type, "openai"))
        return "https://api.openai.com/v1";
    if (!strcmp(type, "ollama"))
        return "http://127.0.0.1:11434";
    return NULL;
}

int llm_endpoint_create(rag_net_endpoint **out, const rag_backend_cfg *cfg,
                        const rag_llm_tuning *tune, rag_err *err)
{
    rag_net_endpoint_opts o = rag_net_endpoint_default_opts();
    const char *secrets[2] = {cfg->api_key, NULL};
    const char *url = cfg->url && cfg->url[0] ? cfg->url : default_url(cfg->type);

    if (!url)
        return rag_fail(err, RAG_EINVAL, "backends.%s: no url", cfg->name);
    o.name = cfg->name;
    o.base_url = url;
    o.bearer = cfg->api_key && cfg->api_key[0] ? cfg->api_key : NULL;
    o.secrets = cfg->api_key ? secrets : NULL;
    if (cfg->connect_timeout_ms > 0)
        o.connect_timeout_ms = cfg->connect_timeout_ms;
    if (cfg->timeout_ms > 0) {
        o.total_timeout_ms = cfg->timeout_ms;
        o.stream_timeout_ms = cfg->timeout_ms;
        if (o.idle_timeout_ms > cfg->timeout_ms)
            o.idle_timeout_ms = cfg->timeout_ms;
    }
    o.retry.max_attempts = cfg->max_retries >= 0 ? cfg->max_retries + 1 : 1;
    /* one deadline for the call: attempts, backoff and Retry-After */
    o.retry.budget_ms = rag_backend_deadline_ms(cfg);
    if (cfg->max_retry_after_ms > 0)
        o.retry.max_server_wait_ms = cfg->max_retry_after_ms;
    o.rate_per_s = cfg->requests_per_second;
    o.max_in_flight = cfg->max_in_flight;
    if (cfg->max_stream_bytes > 0) /* else the net default (16 MiB) */
        o.max_stream_bytes = (size_t)cfg->max_stream_bytes;
    if (tune) {
        if (tune->retry)
            o.retry = *tune->retry;
        if (tune->breaker)
            o.breaker = *tune->breaker;
        if (tune->idle_timeout_ms > 0)
            o.idle_timeout_ms = tune->idle_timeout_ms;
        o.clock = tune->clock;
    }
    return rag_net_endpoint_create(out, &o, err);
}

int llm_base_init(rag_llm *llm, const struct rag_llm_ops *ops,
                  const rag_backend_cfg *cfg, const rag_llm_tuning *tune,
                  rag_err *err)
{
    llm->ops = ops;
    llm->max_answer_bytes = cfg->max_answer_bytes > 0 ? (size_t)cfg->max_answer_bytes
                                                      : (size_t)RAG_LLM_MAX_ANSWER_BYTES;
    llm->name = rag_strdup(cfg->name ? cfg->name : cfg->type);
    if (!llm->name)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    return llm_endpoint_create(&llm->ep, cfg, tune, err);
}

void llm_base_fini(rag_llm *llm)
{
    rag_net_endpoint_destroy(llm->ep);
    rag_free(llm->name);
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; hay && *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return 0;
}

int rag_llm_model_error(long status, const char *body)
{
    if (status == 404 || status == 422)
        return 1;
    if (status == 400 && body && contains_ci(body, "model") &&
        (contains_ci(body, "not supported") || contains_ci(body, "not found") ||
         contains_ci(body, "does not exist") || contains_ci(body, "unknown model")))
        return 1;
    return 0;
}

typedef int (*llm_ctor)(rag_llm **, const rag_backend_cfg *, const rag_llm_tuning *,
                        rag_err *);

static const struct {
    const char *type;
    llm_ctor create;
} registry[] = {
    {"hf_providers", rag_llm_openai_create},
    {"openai", rag_llm_openai_create},
    {"ollama", rag_llm_ollama_create},
    {"extractive", NULL},
};

int rag_llm_create(rag_llm **out, const rag_backend_cfg *cfg,
                   const rag_llm_tuning *tune, rag_err *err)
{
    *out = NULL;
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++) {
        if (strcmp(registry[i].type, cfg->type))
            continue;
        if (!registry[i].create)
            return rag_fail(err, RAG_ENOTFOUND,
                            "backends.%s: type extractive is built in, not an LLM",
                            cfg->name ? cfg->name : "extractive");
        return registry[i].create(out, cfg, tune, err);
    }
    return rag_fail(err, RAG_EINVAL, "backends.%s: type '%s' cannot answer questions",
                    cfg->name ? cfg->name : "?", cfg->type);
}

/* ---- chain ------------------------------------------------------------ */

struct rag_llm_chain {
    rag_llm_entry items[RAG_MAX_CHAIN];
    char *names[RAG_MAX_CHAIN];
    char *types[RAG_MAX_CHAIN];
    size_t n;
};

void rag_llm_chain_destroy(rag_llm_chain *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++) {
        rag_llm_destroy(c->items[i].llm);
        rag_free(c->names[i]);
        rag_free(c->types[i]);
    }
    rag_free(c);
}

int rag_llm_chain_create_from(rag_llm_chain **out, const rag_backend_cfg *const *cfgs,
                              size_t n, const rag_llm_tuning *tune, rag_err *err)
{
    rag_llm_chain *c;
    int rc = RAG_OK;

    *out = NULL;
    if (n > RAG_MAX_CHAIN)
        return rag_fail(err, RAG_ELIMIT, "chains.llm: more than %d back-ends",
                        RAG_MAX_CHAIN);
    c = rag_calloc(1, sizeof *c);
    if (!c)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    for (size_t i = 0; i < n && rc == RAG_OK; i++) {
        const rag_backend_cfg *b = cfgs[i];
        rag_llm_entry *e = &c->items[c->n];
        c->names[c->n] = rag_strdup(b->name ? b->name : b->type);
        c->types[c->n] = rag_strdup(b->type);
        if (!c->names[c->n] || !c->types[c->n]) {
            rag_free(c->names[c->n]);
            rag_free(c->types[c->n]);
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
            break;
        }
        e->name = c->names[c->n];
        e->type = c->types[c->n];
        c->n++;
        if (!strcmp(b->type, "extractive")) {
            e->extractive = 1;
            e->enabled = 1;
            continue;
        }
        e->enabled = b->enabled;
        if (!e->enabled)
            continue; /* placeholder token: keep the name, build nothing */
        rc = rag_llm_create(&e->llm, b, tune, err);
    }
    if (rc < 0) {
        rag_llm_chain_destroy(c);
        return rc;
    }
    *out = c;
    return RAG_OK;
}

int rag_llm_chain_create(rag_llm_chain **out, const rag_config *cfg,
                         const rag_llm_tuning *tune, rag_err *err)
{
    const rag_backend_cfg *list[RAG_MAX_CHAIN];
    rag_backend_cfg builtin[RAG_MAX_CHAIN];
    size_t n = 0;

    memset(builtin, 0, sizeof builtin);
    for (size_t i = 0; i < cfg->n_chain_llm && n < RAG_MAX_CHAIN; i++) {
        const char *name = cfg->chain_llm[i];
        const rag_backend_cfg *b = rag_config_backend(cfg, name);
        if (!strcmp(name, "none"))
            continue;
        if (!b) {
            if (strcmp(name, "extractive")) {
                *out = NULL;
                return rag_fail(err, RAG_EINVAL, "chains.llm: unknown back-end '%s'",
                                name);
            }
            builtin[n].name = (char *)"extractive";
            builtin[n].type = (char *)"extractive";
            builtin[n].enabled = 1;
            b = &builtin[n];
        }
        list[n++] = b;
    }
    return rag_llm_chain_create_from(out, list, n, tune, err);
}

size_t rag_llm_chain_size(const rag_llm_chain *c)
{
    return c ? c->n : 0;
}

const rag_llm_entry *rag_llm_chain_get(const rag_llm_chain *c, size_t i)
{
    return c && i < c->n ? &c->items[i] : NULL;
}

int rag_llm_chain_extractive_only(const rag_llm_chain *c)
{
    if (!c)
        return 1;
    for (size_t i = 0; i < c->n; i++)
        if (!c->items[i].extractive)
            return 0;
    return 1;
}
