/* remote.c - rag_net endpoints from back-end configs (remote.h). */
#include "obs/remote.h"

#include <string.h>

rag_remote_opts rag_remote_default_opts(void)
{
    rag_remote_opts o;
    memset(&o, 0, sizeof o);
    o.normalize = 1;
    return o;
}

const char *rag_remote_default_url(const char *type)
{
    static const struct {
        const char *type, *url;
    } urls[] = {
        {"tei", "http://127.0.0.1:8080"},
        {"hf_inference", "https://router.huggingface.co/hf-inference"},
        {"hf_providers", "https://router.huggingface.co/v1"},
        {"openai", "https://api.openai.com/v1"},
        {"ollama", "http://127.0.0.1:11434"},
    };
    for (size_t i = 0; type && i < sizeof urls / sizeof urls[0]; i++)
        if (!strcmp(urls[i].type, type))
            return urls[i].url;
    return NULL;
}

int rag_remote_endpoint_create(rag_net_endpoint **out, const rag_backend_cfg *b,
                               const rag_remote_opts *opts, rag_err *err)
{
    rag_remote_opts dflt = rag_remote_default_opts();
    rag_net_endpoint_opts o = rag_net_endpoint_default_opts();
    const char *secrets[2] = {NULL, NULL};
    const char *url;

    *out = NULL;
    if (!opts)
        opts = &dflt;
    if (!b->enabled)
        return rag_fail(err, RAG_EINVAL, "back-end '%s' disabled: api_key is empty or a "
                        "placeholder", b->name);
    url = b->url && b->url[0] ? b->url : rag_remote_default_url(b->type);
    if (!url)
        return rag_fail(err, RAG_EINVAL, "back-end '%s': type %s needs a url", b->name,
                        b->type ? b->type : "(none)");
    o.name = b->name;
    o.base_url = url;
    if (b->api_key && b->api_key[0]) {
        o.bearer = b->api_key;
        secrets[0] = b->api_key;
        o.secrets = secrets;
    }
    if (b->connect_timeout_ms > 0)
        o.connect_timeout_ms = b->connect_timeout_ms;
    if (b->timeout_ms > 0)
        o.total_timeout_ms = b->timeout_ms;
    o.retry.max_attempts = b->max_retries >= 0 ? b->max_retries + 1 : 1;
    o.retry.budget_ms = rag_backend_deadline_ms(b);
    if (b->max_retry_after_ms > 0)
        o.retry.max_server_wait_ms = b->max_retry_after_ms;
    if (opts->backoff_base_ms > 0)
        o.retry.base_ms = opts->backoff_base_ms;
    if (opts->backoff_cap_ms > 0)
        o.retry.cap_ms = opts->backoff_cap_ms;
    if (opts->max_server_wait_ms > 0)
        o.retry.max_server_wait_ms = opts->max_server_wait_ms;
    if (opts->budget_ms > 0)
        o.retry.budget_ms = opts->budget_ms;
    if (opts->breaker)
        o.breaker = *opts->breaker;
    o.rate_per_s = b->requests_per_second;
    o.max_in_flight = b->max_in_flight;
    o.clock = opts->clock;
    o.jitter_seed = opts->jitter_seed;
    return rag_net_endpoint_create(out, &o, err);
}

void rag_remote_account(rag_call_info *info, const rag_net_response *resp)
{
    info->n_requests++;
    if (resp->attempts > 1)
        info->retries += resp->attempts - 1;
    info->status = resp->status;
    if (resp->cls != RAG_NET_OK)
        info->error_class = rag_net_class_name(resp->cls);
}
