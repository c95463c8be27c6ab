/* engine_replica.c - the engine on a postgres:// db (docs/scaling.md).
 *
 * A PostgreSQL store is served through a replica (src/index/replica.h): a
 * local SQLite copy that every connection of the engine opens as it would
 * the SQLite file (sessions, `watch`, the retriever's), and a writer that
 * is attached to the replica so that its transactions go through to
 * PostgreSQL. A follower thread applies the changes other replicas commit
 * (rag_replica_follow waits for a notification up to a second) and then
 * asks the engine to refresh, which reloads the vectors exactly as for a
 * change another process made to a SQLite file. It starts with the first
 * docrag_engine_refresh, i.e. in long-lived front ends only: a one-shot
 * command has the copy brought up to the head when the replica opens.
 *
 * A full copy made while the engine runs is copied into the open file
 * (replica.c: SQLite's backup API, not a rename), with a larger change
 * counter: every connection stays valid and the refresh reloads.
 *
 * The mirror's path: postgres.mirror, else
 * $XDG_CACHE_HOME/docrag/mirror-HASH.db (~/.cache without XDG_CACHE_HOME),
 * HASH the first 16 hex digits of the SHA-256 of the endpoint and the role
 * (rw, ro); when that copy is locked by another process (a server running
 * while a command is given on the same machine) the next of up to four
 * slots (-2, -3, -4) is used.
 */
#include "api_int.h"

#include "index/pg_conn.h"
#include "index/replica.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p of path's folders (not path itself). */
static int make_parents(const char *path, rag_err *err)
{
    char buf[1024];
    size_t n = strlen(path);
    if (n >= sizeof buf)
        return rag_fail(err, RAG_EINVAL, "%s: path too long", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, 0700) < 0 && errno != EEXIST)
            return rag_fail(err, RAG_EIO, "%s: cannot create the folder: %s", buf,
                            strerror(errno));
        *p = '/';
    }
    return RAG_OK;
}

/* The default mirror path of slot (0: the first). */
static char *default_mirror(const char *endpoint, int read_only, int slot)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    char hex[65], *key, *dir;
    char *out;

    key = rag_asprintf("%s\n%s", endpoint, read_only ? "ro" : "rw");
    if (!key)
        return NULL;
    rag_sha256_hex(key, strlen(key), hex);
    rag_free(key);
    hex[16] = '\0';
    if (xdg && *xdg == '/')
        dir = rag_asprintf("%s/docrag", xdg);
    else if (home && *home)
        dir = rag_asprintf("%s/.cache/docrag", home);
    else
        dir = rag_asprintf("/tmp/docrag-%ld", (long)getuid());
    if (!dir)
        return NULL;
    out = slot ? rag_asprintf("%s/mirror-%s-%d.db", dir, hex, slot + 1)
               : rag_asprintf("%s/mirror-%s.db", dir, hex);
    rag_free(dir);
    return out;
}

int api_store_open(docrag_engine *e, rag_err *err)
{
    const char *db = e->cfg->db_path;
    rag_pg_opts po;
    char ep[256];
    int rc;

    if (!rag_pg_is_url(db)) {
        e->local_db = rag_strdup(db);
        e->db_shown = rag_strdup(db);
        if (!e->local_db || !e->db_shown)
            return rag_fail(err, RAG_ENOMEM, "out of memory");
        return RAG_OK;
    }
    if ((rc = rag_pg_endpoint_of(ep, sizeof ep, db, err)) < 0)
        return rc;
    if (!(e->db_shown = rag_strdup(ep)))
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    po = rag_pg_opts_from_config(e->cfg);
    if (e->cfg->pg_mirror && *e->cfg->pg_mirror) {
        rc = rag_replica_open(&e->replica, db, e->cfg->pg_mirror, &po, e->read_only, err);
    } else {
        rc = RAG_EIO;
        for (int slot = 0; slot < 4 && rc == RAG_EIO; slot++) {
            char *m = default_mirror(ep, e->read_only, slot);
            if (!m)
                return rag_fail(err, RAG_ENOMEM, "out of memory");
            rc = make_parents(m, err);
            if (rc == RAG_OK)
                rc = rag_replica_open(&e->replica, db, m, &po, e->read_only, err);
            rag_free(m);
            /* only a copy in use by another process moves to the next slot */
            if (rc == RAG_EIO && !strstr(err->msg, "in use"))
                break;
        }
    }
    if (rc < 0) {
        if (!strstr(err->msg, ep))
            rag_err_prefix(err, "%s", ep);
        return rc;
    }
    if (!(e->local_db = rag_strdup(rag_replica_mirror(e->replica))))
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    rag_log(RAG_LOG_INFO, "%s: serving from the local copy %s", ep, e->local_db);
    return RAG_OK;
}

static void *follow_main(void *arg)
{
    docrag_engine *e = arg;
    char last_error[256] = "";

    while (!atomic_load(&e->follow_stop)) {
        rag_err err = {0};
        int rc = rag_replica_follow(e->replica, 1000, &err);
        if (rc < 0) {
            /* said once per distinct error, and again when it clears */
            if (strcmp(last_error, err.msg)) {
                rag_log(RAG_LOG_WARN, "store: %s (reads go on from the local copy)", err.msg);
                snprintf(last_error, sizeof last_error, "%s", err.msg);
            }
            for (int i = 0; i < 10 && !atomic_load(&e->follow_stop); i++)
                usleep(50 * 1000);
            continue;
        }
        if (last_error[0]) {
            rag_log(RAG_LOG_INFO, "store: %s: reachable again", rag_replica_endpoint(e->replica));
            last_error[0] = '\0';
        }
        if (rc == 0)
            continue;
        if (api_refresh(e, 0, &err) < 0)
            rag_log(RAG_LOG_WARN, "store: refresh after a change: %s", err.msg);
    }
    return NULL;
}

void api_store_follow_start(docrag_engine *e)
{
    if (!e->replica || e->scope == DOCRAG_SCOPE_CONFIG || e->scope == DOCRAG_SCOPE_MODELS)
        return;
    pthread_mutex_lock(&e->refresh_mu);
    if (!e->follow_started) {
        if (pthread_create(&e->follow_th, NULL, follow_main, e) == 0)
            e->follow_started = 1;
        else
            rag_log(RAG_LOG_WARN, "store: cannot start the follower thread; changes of "
                    "other replicas are not followed");
    }
    pthread_mutex_unlock(&e->refresh_mu);
}

void api_store_stop(docrag_engine *e)
{
    int started;
    pthread_mutex_lock(&e->refresh_mu);
    started = e->follow_started;
    e->follow_started = 0;
    pthread_mutex_unlock(&e->refresh_mu);
    if (started) {
        atomic_store(&e->follow_stop, 1);
        pthread_join(e->follow_th, NULL);
    }
}

void api_store_close(docrag_engine *e)
{
    rag_replica_close(e->replica);
    e->replica = NULL;
    rag_free(e->local_db);
    rag_free(e->db_shown);
    e->local_db = e->db_shown = NULL;
}

int api_writer_open(docrag_engine *e, rag_index **w, rag_err *err)
{
    int rc = rag_index_open(w, e->local_db, 0, err);
    if (rc == RAG_OK && e->replica && (rc = rag_replica_attach(e->replica, *w, err)) < 0) {
        rag_index_close(*w);
        *w = NULL;
    }
    return rc;
}

rag_store *api_store_usage(docrag_engine *e)
{
    return e->replica && !e->read_only ? rag_replica_store(e->replica) : NULL;
}

/* ---- docrag.h: the store's state ------------------------------------------ */

void docrag_engine_store_state(docrag_engine *e, docrag_store_state *out)
{
    memset(out, 0, sizeof *out);
    out->max_lag = e->cfg->pg_ready_max_lag;
    snprintf(out->local_copy, sizeof out->local_copy, "%s", e->local_db ? e->local_db : "");
    if (!e->replica) {
        snprintf(out->backend, sizeof out->backend, "sqlite");
        snprintf(out->endpoint, sizeof out->endpoint, "%s",
                 e->db_shown ? e->db_shown : e->cfg->db_path);
        out->reachable = 1;
        return;
    }
    rag_replica_state st;
    rag_replica_state_get(e->replica, &st);
    snprintf(out->backend, sizeof out->backend, "postgres");
    snprintf(out->endpoint, sizeof out->endpoint, "%s", rag_replica_endpoint(e->replica));
    out->applied_seq = st.applied_seq;
    out->head_seq = st.head_seq;
    out->reachable = st.reachable;
    out->n_full_copies = st.n_full_copies;
    out->n_changes_applied = st.n_applied;
    memcpy(out->error, st.error, sizeof out->error);
    out->error[sizeof out->error - 1] = '\0';
}

int docrag_engine_store_ready(docrag_engine *e, char *why, size_t n_why)
{
    docrag_store_state st;
    if (n_why)
        why[0] = '\0';
    if (!e->replica)
        return 1;
    docrag_engine_store_state(e, &st);
    if (!st.reachable) {
        snprintf(why, n_why, "%s: the store is unreachable%s%s", st.endpoint,
                 st.error[0] ? ": " : "", st.error);
        return 0;
    }
    if (st.head_seq - st.applied_seq > st.max_lag) {
        snprintf(why, n_why, "%s: the local copy is %lld changes behind the store "
                 "(postgres.ready_max_lag %lld)", st.endpoint,
                 (long long)(st.head_seq - st.applied_seq), (long long)st.max_lag);
        return 0;
    }
    return 1;
}

/* ---- docrag.h: shared jobs ------------------------------------------------ */

int docrag_engine_shared_jobs(docrag_engine *e)
{
    return e->replica && !e->read_only;
}

static int need_jobs(docrag_engine *e, rag_err *err)
{
    if (!docrag_engine_shared_jobs(e))
        return rag_fail(err, RAG_EINVAL, "%s: shared jobs need a writable postgres:// db",
                        e->db_shown ? e->db_shown : "the engine");
    return RAG_OK;
}

int docrag_job_enqueue(docrag_engine *e, const char *key, const void *payload, size_t n,
                       int64_t *id, int *created, docrag_error *derr)
{
    rag_err err = {0};
    int rc = need_jobs(e, &err);
    if (rc == RAG_OK) {
        pthread_mutex_lock(&e->jobs_mu);
        rc = rag_replica_job_enqueue(e->replica, key, payload, n, id, created, &err);
        pthread_mutex_unlock(&e->jobs_mu);
    }
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

/* The replica's job into the public one (the payload moved). */
static void take_job(docrag_job *job, rag_replica_job *j)
{
    job->id = j->id;
    memcpy(job->key, j->key, sizeof job->key);
    job->key[sizeof job->key - 1] = '\0';
    job->payload = j->payload;
    j->payload = NULL;
    job->n_payload = j->n_payload;
    job->attempts = j->attempts;
    rag_replica_job_fini(j);
}

int docrag_job_claim(docrag_engine *e, const char *owner, int lease_ms, docrag_job *job,
                     docrag_error *derr)
{
    rag_replica_job j;
    rag_err err = {0};
    int rc = need_jobs(e, &err);

    memset(job, 0, sizeof *job);
    if (rc < 0)
        return api_err(derr, &err);
    memset(&j, 0, sizeof j);
    pthread_mutex_lock(&e->jobs_mu);
    rc = rag_replica_job_claim(e->replica, owner, lease_ms, &j, &err);
    pthread_mutex_unlock(&e->jobs_mu);
    if (rc < 0)
        return api_err(derr, &err);
    if (rc == 0)
        return 0;
    take_job(job, &j);
    return 1;
}

int docrag_job_by_key(docrag_engine *e, const char *key, docrag_job *job, docrag_error *derr)
{
    rag_replica_job j;
    rag_err err = {0};
    int rc = need_jobs(e, &err);

    memset(job, 0, sizeof *job);
    if (rc < 0)
        return api_err(derr, &err);
    memset(&j, 0, sizeof j);
    pthread_mutex_lock(&e->jobs_mu);
    rc = rag_replica_job_by_key(e->replica, key, &j, &err);
    pthread_mutex_unlock(&e->jobs_mu);
    if (rc < 0)
        return api_err(derr, &err);
    take_job(job, &j);
    return DOCRAG_OK;
}

int docrag_job_renew(docrag_engine *e, int64_t id, const char *owner, int lease_ms,
                     docrag_error *derr)
{
    rag_err err = {0};
    int rc = need_jobs(e, &err);
    if (rc == RAG_OK) {
        pthread_mutex_lock(&e->jobs_mu);
        rc = rag_replica_job_renew(e->replica, id, owner, lease_ms, &err);
        pthread_mutex_unlock(&e->jobs_mu);
    }
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

int docrag_job_fail(docrag_engine *e, int64_t id, const char *owner, const char *why,
                    docrag_error *derr)
{
    rag_err err = {0};
    int rc = need_jobs(e, &err);
    if (rc == RAG_OK) {
        pthread_mutex_lock(&e->jobs_mu);
        rc = rag_replica_job_fail(e->replica, id, owner, why, &err);
        pthread_mutex_unlock(&e->jobs_mu);
    }
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

int docrag_job_state(docrag_engine *e, int64_t id, char state[16], int *attempts,
                     docrag_error *derr)
{
    rag_err err = {0};
    int rc = need_jobs(e, &err);
    state[0] = '\0';
    *attempts = 0;
    if (rc == RAG_OK) {
        pthread_mutex_lock(&e->jobs_mu);
        rc = rag_replica_job_state(e->replica, id, state, attempts, &err);
        pthread_mutex_unlock(&e->jobs_mu);
    }
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

int docrag_job_wait(docrag_engine *e, int wait_ms, docrag_error *derr)
{
    rag_err err = {0};
    int rc = need_jobs(e, &err);
    /* under jobs_mu like every job call (replica.h: one thread at a time):
     * an enqueue may wait up to wait_ms, so callers keep it short */
    if (rc == RAG_OK) {
        pthread_mutex_lock(&e->jobs_mu);
        rc = rag_replica_job_wait(e->replica, wait_ms, &err);
        pthread_mutex_unlock(&e->jobs_mu);
    }
    return rc < 0 ? api_err(derr, &err) : rc;
}

void docrag_job_fini(docrag_job *job)
{
    if (!job)
        return;
    rag_free(job->payload);
    job->payload = NULL;
    job->n_payload = 0;
}
