/* chain.c - the fallback-chain walker (chain.h).
 *
 * The walker owns everything the three chains must agree on: the skip
 * rules, what counts as a failure, the usage event of each attempt and the
 * notice text. The chains only say how to call a member and how to check
 * its result.
 */
#include "obs/chain.h"

#include <stdio.h>
#include <string.h>

const char *rag_chain_skip_reason(rag_usage *usage, const rag_chain_member *m,
                                  const char **error_class)
{
    const char *cls = NULL, *why = NULL;

    if (m->builtin)
        ;
    else if (!m->enabled)
        why = "disabled: no usable token";
    else if (usage && !rag_usage_allowed(usage, m->name)) {
        why = "monthly budget spent";
        cls = "budget";
    } else if (m->ep && rag_net_endpoint_breaker(m->ep) == RAG_NET_BREAKER_OPEN_STATE) {
        why = "circuit open";
        cls = rag_net_class_name(RAG_NET_BREAKER_OPEN);
    }
    if (error_class)
        *error_class = cls;
    return why;
}

/* "NAME: WHY" (or "NAME: skipped (WHY)") appended to the notice. Messages
 * from a back-end often start with its own name; it is not said twice. */
static int note(rag_buf *notice, const char *name, const char *fmt, const char *why)
{
    size_t n = strlen(name);
    if (!strncmp(why, name, n) && (!strncmp(why + n, ": ", 2) || why[n] == ' '))
        why += n + (why[n] == ':' ? 2 : 1);
    if (notice->len && rag_buf_puts(notice, "; ") < 0)
        return RAG_ENOMEM;
    if (rag_buf_printf(notice, "%s: ", name) < 0 || rag_buf_printf(notice, fmt, why) < 0)
        return RAG_ENOMEM;
    return RAG_OK;
}

static void record(const rag_chain_walk_opts *o, const rag_chain_member *m, int ok,
                   const char *cls, int fell_back, int skipped, double ms,
                   const rag_chain_outcome *oc)
{
    rag_usage_event ev = {.backend = m->name, .stage = o->stage, .ok = ok,
                          .error_class = ok ? NULL : cls ? cls : "error",
                          .fell_back = fell_back, .latency_ms = ms, .skipped = skipped};
    if (!o->usage || m->builtin)
        return;
    if (oc) {
        ev.retries = oc->retries;
        ev.tokens_in = oc->tokens_in;
        ev.tokens_out = oc->tokens_out;
    }
    rag_usage_record(o->usage, &ev);
}

int rag_chain_walk(rag_chain_result *res, const rag_chain_member *members, size_t n,
                   const rag_chain_walk_opts *o, rag_err *err)
{
    int oom = 0;

    memset(res, 0, sizeof *res);
    res->served = -1;
    for (size_t i = 0; i < n; i++) {
        const rag_chain_member *m = &members[i];
        int more = i + 1 < n, rc;
        const char *cls, *why = rag_chain_skip_reason(o->usage, m, &cls);
        rag_chain_outcome oc;
        rag_err e1 = {0};
        double t0;

        if (why) {
            res->n_skipped++;
            if (cls)
                record(o, m, 0, cls, more, 1, 0, NULL);
            oom |= note(&res->notice, m->name, "skipped (%s)", why) < 0;
            continue;
        }
        memset(&oc, 0, sizeof oc);
        t0 = rag_now_ms();
        rc = o->call(o->ctx, i, &oc, &e1);
        if (rc == RAG_OK && o->check && (rc = o->check(o->ctx, i, &e1)) != RAG_OK) {
            oc.error_class = rag_net_class_name(RAG_NET_MALFORMED);
            if (rc > 0)
                rc = RAG_EFORMAT;
        }
        if (rc == RAG_OK) {
            record(o, m, 1, NULL, 0, 0, rag_now_ms() - t0, &oc);
            res->served = (long)i;
            return oom ? rag_fail(err, RAG_ENOMEM, "out of memory") : RAG_OK;
        }
        if (rc > 0)
            rc = RAG_EBACKEND; /* a callback broke the contract: still a failure */
        res->n_failed++;
        {
            int stop = oc.stop || rc == RAG_ENOMEM || m->builtin;
            record(o, m, 0, oc.error_class, more && !stop, 0, rag_now_ms() - t0, &oc);
            if (o->on_fail)
                o->on_fail(o->ctx, i, rc, &e1);
            if (o->log_fall_through && more && !stop)
                rag_log(RAG_LOG_INFO, "chains.%s: '%s' failed (%s); trying '%s'", o->stage,
                        m->name, e1.msg, members[i + 1].name);
            if (stop) {
                if (err) {
                    *err = e1;
                    err->code = rc;
                }
                return rc;
            }
        }
        oom |= note(&res->notice, m->name, "%s", e1.msg[0] ? e1.msg : rag_status_name(rc)) < 0;
    }
    if (oom)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    return rag_fail(err, RAG_EBACKEND, "chains.%s: no back-end answered (%s)", o->stage,
                    res->notice.len ? res->notice.data : "empty chain");
}

void rag_chain_result_fini(rag_chain_result *res)
{
    if (res)
        rag_buf_fini(&res->notice);
}

void rag_chain_outcome_from_call(rag_chain_outcome *oc, const rag_call_info *info, int rc)
{
    if (!info)
        return;
    oc->retries = info->retries;
    oc->tokens_in = info->tokens_in;
    oc->tokens_out = info->tokens_out;
    if (rc < 0)
        oc->error_class = info->error_class;
}
