/* keys.c - API keys, roles and the per-key rate limit.
 *
 * Keys come from the environment only: DOCRAG_API_KEY (read),
 * DOCRAG_ADMIN_KEY (admin) and server.keys ("ROLE:KEY", written with
 * ${VAR} in the config). The presented key (rag_auth_key: X-API-Key, else
 * Authorization: Bearer) is compared with every configured key in constant
 * time (rag_ct_equal), all of them, so timing does not tell which was
 * close. A key is named in logs by its role and position ("admin:2"),
 * never by its value.
 *
 * Roles: admin grants read. With no key configured a server on a loopback
 * address is open (read and admin, whatever key a client sends: the OpenAI
 * SDKs always send one); elsewhere it refuses to start unless
 * server.anonymous is read, and admin then needs a configured admin key.
 *
 * Rate limit: a token bucket per key (per client address for anonymous
 * callers) of server.rate_burst tokens refilled at server.rate_limit per
 * second; buckets live in a fixed table (a slot is reused by the next
 * caller hashed to it), so a flood of addresses cannot grow memory.
 */
#include "srv_int.h"
#include "server/http_parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_KEYS 64
#define N_BUCKETS 4096

typedef struct {
    char *key;
    size_t n_key;
    srv_role role;
    char id[24];
} api_key;

typedef struct {
    char who[64];
    double tokens;
    double t_ms;
} bucket;

struct srv_auth {
    api_key keys[MAX_KEYS];
    size_t n_keys;
    int open;             /* loopback and no keys */
    int anonymous_read;
    double rate, burst;
    pthread_mutex_t mu;
    bucket *buckets;      /* N_BUCKETS, by hash */
};

static int add_key(struct srv_auth *a, const char *key, srv_role role, const char *id,
                   docrag_error *err)
{
    if (!key || !*key)
        return 0;
    if (a->n_keys == MAX_KEYS) {
        snprintf(err->msg, sizeof err->msg, "server.keys: more than %d keys", MAX_KEYS);
        return err->code = DOCRAG_ELIMIT;
    }
    if (strlen(key) < 8) {
        snprintf(err->msg, sizeof err->msg, "%s: an API key needs at least 8 characters", id);
        return err->code = DOCRAG_EINVAL;
    }
    a->keys[a->n_keys].key = rag_strdup(key);
    if (!a->keys[a->n_keys].key) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return err->code = DOCRAG_ENOMEM;
    }
    a->keys[a->n_keys].n_key = strlen(key);
    a->keys[a->n_keys].role = role;
    snprintf(a->keys[a->n_keys].id, sizeof a->keys[a->n_keys].id, "%s", id);
    a->n_keys++;
    return 0;
}

int srv_auth_create(struct srv_auth **out, const srv_info *info, int loopback,
                    docrag_error *err)
{
    struct srv_auth *a = rag_calloc(1, sizeof *a);
    int rc = 0;

    *out = NULL;
    if (!a || !(a->buckets = rag_calloc(N_BUCKETS, sizeof *a->buckets))) {
        rag_free(a);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return err->code = DOCRAG_ENOMEM;
    }
    pthread_mutex_init(&a->mu, NULL);
    rc = add_key(a, getenv("DOCRAG_API_KEY"), SRV_ROLE_READ, "DOCRAG_API_KEY", err);
    if (!rc)
        rc = add_key(a, getenv("DOCRAG_ADMIN_KEY"), SRV_ROLE_ADMIN, "DOCRAG_ADMIN_KEY", err);
    for (size_t i = 0; !rc && i < info->cfg.n_keys; i++) {
        const char *k = info->cfg.keys[i], *colon = strchr(k, ':');
        char id[24];
        srv_role role;
        if (!colon || (strncmp(k, "read:", 5) && strncmp(k, "admin:", 6))) {
            snprintf(err->msg, sizeof err->msg,
                     "server.keys[%zu]: expected read:KEY or admin:KEY", i);
            rc = err->code = DOCRAG_EINVAL;
            break;
        }
        role = k[0] == 'a' ? SRV_ROLE_ADMIN : SRV_ROLE_READ;
        snprintf(id, sizeof id, "%s:%zu", role == SRV_ROLE_ADMIN ? "admin" : "read", i);
        rc = add_key(a, colon + 1, role, id, err);
    }
    if (rc) {
        srv_auth_destroy(a);
        return rc;
    }
    a->anonymous_read = info->cfg.anonymous_read;
    a->open = loopback && a->n_keys == 0;
    if (!loopback && a->n_keys == 0 && !a->anonymous_read) {
        snprintf(err->msg, sizeof err->msg,
                 "refusing to serve %s without a key: set DOCRAG_API_KEY and/or "
                 "DOCRAG_ADMIN_KEY, or server.anonymous: read for public read access "
                 "(admin routes then stay closed), or bind 127.0.0.1",
                 info->cfg.host ? info->cfg.host : "this address");
        srv_auth_destroy(a);
        return err->code = DOCRAG_EINVAL;
    }
    a->rate = info->cfg.rate_limit;
    a->burst = info->cfg.rate_burst > 0 ? info->cfg.rate_burst : 1;
    *out = a;
    return 0;
}

void srv_auth_destroy(struct srv_auth *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->n_keys; i++) {
        /* wipe before freeing: keys are secrets */
        volatile char *p = a->keys[i].key;
        for (size_t j = 0; j < a->keys[i].n_key; j++)
            p[j] = 0;
        rag_free(a->keys[i].key);
    }
    rag_free(a->buckets);
    pthread_mutex_destroy(&a->mu);
    rag_free(a);
}

int srv_auth_open(const struct srv_auth *a)
{
    return a->open;
}

int srv_auth_anonymous_read(const struct srv_auth *a)
{
    return a->anonymous_read;
}

static int take_token(struct srv_auth *a, const char *who, int *retry_after_s)
{
    uint64_t h = 1469598103934665603ULL;
    double now = rag_now_ms();
    bucket *b;
    int ok;

    if (a->rate <= 0)
        return 1;
    for (const char *p = who; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    pthread_mutex_lock(&a->mu);
    b = &a->buckets[h % N_BUCKETS];
    if (strcmp(b->who, who)) {
        snprintf(b->who, sizeof b->who, "%s", who);
        b->tokens = a->burst;
        b->t_ms = now;
    }
    b->tokens += (now - b->t_ms) / 1000.0 * a->rate;
    if (b->tokens > a->burst)
        b->tokens = a->burst;
    b->t_ms = now;
    ok = b->tokens >= 1.0;
    if (ok)
        b->tokens -= 1.0;
    else
        *retry_after_s = (int)((1.0 - b->tokens) / a->rate) + 1;
    pthread_mutex_unlock(&a->mu);
    return ok;
}

int srv_auth_check(struct srv_auth *a, srv_req *r, const char *authorization,
                   const char *x_api_key, int *retry_after_s)
{
    rag_span k = {NULL, 0};
    rag_err kerr = {0};
    srv_role role = SRV_ROLE_NONE;
    int presented = rag_auth_key(&k, x_api_key, authorization, &kerr) == RAG_OK;
    int malformed = !presented && kerr.code != RAG_ENOTFOUND;
    char who[64];

    snprintf(r->key_id, sizeof r->key_id, presented || malformed ? "bad-key" : "anonymous");
    if (a->open) {
        /* no key configured on loopback: open, whatever a client sends
         * (the OpenAI SDKs always send one) */
        role = SRV_ROLE_ADMIN;
        snprintf(r->key_id, sizeof r->key_id, "open");
    } else if (presented) {
        /* every key is compared: no early exit on a match */
        for (size_t i = 0; i < a->n_keys; i++) {
            int eq = rag_ct_equal(k.s, k.n, a->keys[i].key, a->keys[i].n_key);
            if (eq && role == SRV_ROLE_NONE) {
                role = a->keys[i].role;
                snprintf(r->key_id, sizeof r->key_id, "%s", a->keys[i].id);
            }
        }
    } else if (!malformed && a->anonymous_read) {
        role = SRV_ROLE_READ;
    }
    /* a wrong or missing key is limited per address, a valid one per key */
    if (role != SRV_ROLE_NONE && presented)
        snprintf(who, sizeof who, "%s", r->key_id);
    else
        snprintf(who, sizeof who, "%s@%s", r->key_id, r->peer);
    if (!take_token(a, who, retry_after_s))
        return -1;
    return (int)role;
}
