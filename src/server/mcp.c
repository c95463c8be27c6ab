/* mcp.c - MCP over Streamable HTTP (protocol 2025-06-18 and 2025-03-26):
 * POST /mcp carries JSON-RPC messages to the core (mcp_core.c), DELETE
 * /mcp ends a session. docs/server.md, section MCP.
 *
 *   POST /mcp   Content-Type: application/json, Accept: application/json
 *               (with text/event-stream, as clients send it)
 *               initialize, no Mcp-Session-Id  -> 200 + Mcp-Session-Id: <id>
 *               request(s), Mcp-Session-Id     -> 200 application/json
 *               notification(s) / response(s)  -> 202, no body
 *   DELETE /mcp Mcp-Session-Id                 -> 204
 *   GET /mcp                                   -> 405 (no server-to-client
 *                                                 stream: the router's 405)
 *
 * Every answer is one JSON body: requests run to completion on a worker,
 * and the server sends no requests or notifications of its own, so the SSE
 * response mode would add nothing.
 *
 * Sessions. An id is 128 bits from getrandom(2) as hex, issued when an
 * initialize succeeds; it carries the negotiated version and the
 * collection (?collection=NAME on the initialize request, else the
 * default). It is bound to the caller that opened it (its key, or its
 * address when anonymous): presented by anyone else, or after it ended, it
 * is unknown (404, and the client initializes again). The table is fixed
 * (MAX_SESSIONS); when it is full the least recently used session goes.
 *
 * Transport errors (4xx) carry a JSON-RPC error body with id null: 400 no
 * session / bad MCP-Protocol-Version / unusable JSON, 403 Origin not
 * allowed, 404 unknown session, 406 Accept without application/json, 415
 * Content-Type not JSON. Origin (DNS rebinding): a request with an Origin
 * header is served only when server.cors_origins lists it.
 */
#include "mcp.h"
#include "srv_int.h"
#include "server/http_parse.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

enum {
    MAX_SESSIONS = 1024,
    SESSION_ID_BYTES = 16,
    /* JSON-RPC server-error codes for transport failures (implementation
     * defined range -32000..-32099, as other MCP servers use them) */
    RPC_BAD_REQUEST = -32000,
    RPC_NO_SESSION = -32001,
};

typedef struct {
    char id[2 * SESSION_ID_BYTES + 1];   /* "" = free */
    char owner[96];                      /* key id, or "anonymous@ADDR" */
    size_t coll;                         /* index into srv_info.colls */
    rag_mcp_conn conn;
    double used_ms;
} mcp_session;

struct srv_mcp {
    pthread_mutex_t mu;
    mcp_session *slots;                  /* MAX_SESSIONS */
};

int srv_mcp_create(struct srv_mcp **out, docrag_error *err)
{
    struct srv_mcp *m = rag_calloc(1, sizeof *m);
    if (m)
        m->slots = rag_calloc(MAX_SESSIONS, sizeof *m->slots);
    if (!m || !m->slots) {
        rag_free(m);
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return err->code = DOCRAG_ENOMEM;
    }
    pthread_mutex_init(&m->mu, NULL);
    *out = m;
    return 0;
}

void srv_mcp_destroy(struct srv_mcp *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->mu);
    rag_free(m->slots);
    rag_free(m);
}

static void owner_of(const srv_req *r, char *out, size_t n)
{
    if (!strcmp(r->key_id, "anonymous"))
        snprintf(out, n, "anonymous@%s", r->peer);
    else
        snprintf(out, n, "%s", r->key_id);
}

/* The live slot with this id owned by this caller, or NULL. Under mu. */
static mcp_session *find(struct srv_mcp *m, const char *id, const char *owner)
{
    size_t n_id = strlen(id);
    if (n_id != 2 * SESSION_ID_BYTES)
        return NULL;
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        mcp_session *s = &m->slots[i];
        if (s->id[0] && rag_ct_equal(s->id, strlen(s->id), id, n_id))
            return strcmp(s->owner, owner) ? NULL : s;
    }
    return NULL;
}

/* A new session for conn; 0, or -1 (no randomness). */
static int open_session(struct srv_mcp *m, const rag_mcp_conn *conn, size_t coll,
                        const char *owner, char id[2 * SESSION_ID_BYTES + 1])
{
    unsigned char raw[SESSION_ID_BYTES];
    mcp_session *slot = NULL;

    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -1;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(id + 2 * i, 3, "%02x", raw[i]);
    pthread_mutex_lock(&m->mu);
    for (size_t i = 0; i < MAX_SESSIONS; i++) {
        mcp_session *s = &m->slots[i];
        if (!s->id[0]) {
            slot = s;
            break;
        }
        if (!slot || s->used_ms < slot->used_ms)
            slot = s;   /* the least recently used, should none be free */
    }
    memset(slot, 0, sizeof *slot);
    memcpy(slot->id, id, sizeof slot->id);
    snprintf(slot->owner, sizeof slot->owner, "%s", owner);
    slot->coll = coll;
    slot->conn = *conn;
    slot->used_ms = rag_now_ms();
    pthread_mutex_unlock(&m->mu);
    return 0;
}

/* ---- request checks ---------------------------------------------------------- */

static void reply_rpc_error(srv_req *r, int status, int code, const char *msg)
{
    char *t = rag_mcp_error_text(code, msg);
    if (!t) {
        srv_reply_error(r, 500, "server_error", "out of memory");
        return;
    }
    srv_reply(r, status, "application/json", t, strlen(t), NULL);
    free(t);
}

/* DNS rebinding: a browser on another site sends its Origin; serve none
 * but the listed ones. No Origin: not a browser's cross-site request. */
static int origin_allowed(const srv_req *r)
{
    const srv_info *info = srv_get_info(r->s);
    if (!r->origin)
        return 1;
    for (size_t i = 0; i < info->cfg.n_cors_origins; i++)
        if (!strcmp(info->cfg.cors_origins[i], r->origin))
            return 1;
    return 0;
}

/* q=0 among the parameters [p, end) of one Accept element ("not this"). */
static int q_is_zero(const char *p, const char *end)
{
    while (p && p < end) {
        p++;   /* the ';' */
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            char v[8];
            size_t n = (size_t)(end - p - 2) < sizeof v - 1 ? (size_t)(end - p - 2)
                                                             : sizeof v - 1;
            memcpy(v, p + 2, n);
            v[n] = '\0';
            return strtod(v, NULL) <= 0.0;
        }
        p = memchr(p, ';', (size_t)(end - p));
    }
    return 0;
}

/* Accept absent, or admitting application/json: that type, all of
 * application, or any type, not with q=0. */
static int accepts_json(const char *accept)
{
    const char *p = accept;
    if (!accept)
        return 1;
    while (*p) {
        size_t n = strcspn(p, ","), n_type;
        const char *end = p + n, *semi;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        semi = memchr(p, ';', (size_t)(end - p));
        n_type = (size_t)((semi ? semi : end) - p);
        while (n_type && (p[n_type - 1] == ' ' || p[n_type - 1] == '\t'))
            n_type--;
        if (((n_type == 16 && !strncasecmp(p, "application/json", 16)) ||
             (n_type == 13 && !strncasecmp(p, "application/*", 13)) ||
             (n_type == 3 && !strncmp(p, "*/*", 3))) &&
            !q_is_zero(semi, end))
            return 1;
        p = *end ? end + 1 : end;
    }
    return 0;
}

static int is_json_type(const char *ct)
{
    return ct && !strncasecmp(ct, "application/json", 16) &&
           (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

static int req_gone(void *ctx)
{
    return srv_req_closed(ctx);
}

/* Common checks of POST and DELETE; 0, or -1 with the answer sent. */
static int check_transport(srv_req *r)
{
    if (!origin_allowed(r)) {
        reply_rpc_error(r, 403, RPC_BAD_REQUEST,
                        "Forbidden: Origin is not allowed (server.cors_origins)");
        return -1;
    }
    if (r->mcp_protocol_version && !rag_mcp_version_supported(r->mcp_protocol_version)) {
        reply_rpc_error(r, 400, RPC_BAD_REQUEST,
                        "Bad Request: unsupported MCP-Protocol-Version (this server speaks "
                        RAG_MCP_VERSION_LATEST " and " RAG_MCP_VERSION_BATCH ")");
        return -1;
    }
    return 0;
}

/* ---- routes ---------------------------------------------------------------------- */

static void mcp_post(srv_req *r)
{
    struct srv_mcp *m = r->s->mcp;
    const srv_info *info = srv_get_info(r->s);
    const char *sid = r->mcp_session_id;
    rag_mcp_input in;
    rag_mcp_reply rep = {0};
    rag_mcp_conn conn;
    rag_mcp_env env;
    char owner[96], new_id[2 * SESSION_ID_BYTES + 1] = "";
    size_t coll_i = 0;
    srv_coll *coll = NULL;

    if (check_transport(r) < 0)
        return;
    if (!accepts_json(r->accept)) {
        reply_rpc_error(r, 406, RPC_BAD_REQUEST,
                        "Not Acceptable: answers are application/json");
        return;
    }
    if (!is_json_type(r->content_type)) {
        reply_rpc_error(r, 415, RPC_BAD_REQUEST,
                        "Unsupported Media Type: send Content-Type: application/json");
        return;
    }
    if (rag_mcp_parse(&in, r->body ? r->body : "", r->n_body) != 0) {
        rag_mcp_input_fini(&in);
        srv_reply_error_retry(r, 503, "overloaded", 1, "out of memory");
        return;
    }
    memset(&conn, 0, sizeof conn);
    owner_of(r, owner, sizeof owner);
    if (sid) {
        mcp_session *s;
        pthread_mutex_lock(&m->mu);
        s = find(m, sid, owner);
        if (s) {
            conn = s->conn;
            coll_i = s->coll;
            s->used_ms = rag_now_ms();
        }
        pthread_mutex_unlock(&m->mu);
        if (!s) {
            reply_rpc_error(r, 404, RPC_NO_SESSION,
                            "Session not found: it ended or never existed (initialize again)");
            goto done;
        }
        if (r->mcp_protocol_version && strcmp(r->mcp_protocol_version, conn.version)) {
            reply_rpc_error(r, 400, RPC_BAD_REQUEST,
                            "Bad Request: MCP-Protocol-Version differs from the version "
                            "this session negotiated");
            goto done;
        }
    } else if (!rag_mcp_is_initialize(&in) && !in.error_code &&
               !(!in.batch && in.msgs[0].kind == RAG_MCP_MSG_INVALID)) {
        reply_rpc_error(r, 400, RPC_BAD_REQUEST,
                        "Bad Request: no Mcp-Session-Id header (send initialize first; its "
                        "answer carries the session id)");
        goto done;
    } else if (rag_mcp_is_initialize(&in)) {
        /* the session's collection: ?collection=NAME, else the default */
        if (!(coll = srv_collection(r, srv_query(r, "collection"))))
            goto done;
        coll_i = (size_t)(coll - r->s->info.colls);
    }
    coll = &r->s->info.colls[coll_i];
    if (!srv_session(r, coll))
        goto done;
    env.session = r->session;
    env.collection = info->n_colls > 1 ? coll->name : NULL;
    env.is_cancelled = req_gone;
    env.ctx = r;
    if (rag_mcp_handle(&rep, &conn, &in, &env) != 0) {
        srv_reply_error_retry(r, 503, "overloaded", 1, "out of memory");
        goto done;
    }
    if (rep.initialized_now && !sid) {
        if (open_session(m, &conn, coll_i, owner, new_id) < 0) {
            reply_rpc_error(r, 500, RAG_MCP_INTERNAL_ERROR,
                            "Internal error: cannot make a session id");
            goto done;
        }
        rag_log(RAG_LOG_INFO, "mcp: session opened by %s (client \"%s\", protocol %s)",
                r->key_id, conn.client, conn.version);
    } else if (sid) {
        mcp_session *s;
        pthread_mutex_lock(&m->mu);
        if ((s = find(m, sid, owner)))
            s->conn = conn;   /* initialized, as the notification said */
        pthread_mutex_unlock(&m->mu);
    }
    if (!rep.json) {
        srv_reply(r, 202, NULL, NULL, 0, NULL);
    } else {
        char h[64];
        const char *hs[2] = {h, NULL};
        snprintf(h, sizeof h, "Mcp-Session-Id: %s", new_id);
        srv_reply(r, rep.rejected ? 400 : 200, "application/json", rep.json, strlen(rep.json),
                  new_id[0] ? hs : NULL);
    }
done:
    rag_mcp_reply_fini(&rep);
    rag_mcp_input_fini(&in);
}

static void mcp_delete(srv_req *r)
{
    struct srv_mcp *m = r->s->mcp;
    char owner[96];
    mcp_session *s;

    if (check_transport(r) < 0)
        return;
    if (!r->mcp_session_id) {
        reply_rpc_error(r, 400, RPC_BAD_REQUEST, "Bad Request: no Mcp-Session-Id header");
        return;
    }
    owner_of(r, owner, sizeof owner);
    pthread_mutex_lock(&m->mu);
    s = find(m, r->mcp_session_id, owner);
    if (s)
        memset(s, 0, sizeof *s);
    pthread_mutex_unlock(&m->mu);
    if (!s) {
        reply_rpc_error(r, 404, RPC_NO_SESSION, "Session not found");
        return;
    }
    srv_reply(r, 204, NULL, NULL, 0, NULL);
}

const srv_route srv_routes_mcp[] = {
    {"POST", "/mcp", SRV_ROLE_READ, SRV_BODY_ANY, 0, mcp_post, "mcp"},
    {"DELETE", "/mcp", SRV_ROLE_READ, SRV_BODY_NONE, SRV_ON_LOOP, mcp_delete, "mcp"},
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
