/* replica.c - a PostgreSQL store of record with a local SQLite copy, the
 * mirror (contracts in replica.h; design in docs/postgres.md, "Replicas"):
 * open and close, state, follow, jobs, verify. The full copy and applying
 * changesets are in replica_copy.c, write-through in replica_write.c.
 *
 * Write-through: rag_replica_attach installs rag_index_tx_hooks on the
 * writer. At BEGIN (inside SQLite's BEGIN IMMEDIATE) the hook opens a
 * PostgreSQL transaction, takes the change-log lock (pg_schema.h's
 * advisory lock, held to COMMIT: one index writer at a time across every
 * replica, and no change-log row can commit meanwhile, so the copy caught
 * up now stays at the head until this write logs the next seq), applies
 * the changes the copy lacks, and starts a SQLite session on the real
 * tables. At COMMIT the session's changeset is applied to the PostgreSQL
 * tables row by row (deletes first in reverse foreign-key order, then
 * inserts/updates), logged in change_log with the changeset, jobs
 * completed, PostgreSQL committed, and then SQLite commits (with the
 * copy's pg_applied_seq). A failure anywhere before PostgreSQL's COMMIT
 * rolls both back.
 *
 * Follow: each logged changeset is applied to the copy in one SQLite
 * transaction with the triggers off (the changeset already holds what the
 * origin's triggers did to vectors), and the FTS5 rows of the chunks it
 * touches rewritten by hand: a 'delete' from the copy's state before, an
 * insert from its state after (the triggers would read a document title
 * that the changeset's table order has not updated yet). vectors_int8 is
 * dropped when vectors changed (its triggers were off).
 *
 * Full copy: one REPEATABLE READ snapshot through cursors into
 * "<mirror>.new" (a normal docrag index, created by rag_index_open),
 * FTS5 rebuilt, then: at open, renamed over the mirror (nobody has it
 * open: the lock); while running, copied into the open mirror with
 * SQLite's backup API instead, because renaming a WAL database over one
 * that other connections hold open would leave them (and the old -wal
 * file beside the new one) on the old file.
 */
#include "replica_int.h"

#include "index/store_pg.h"
#include "index/store_sqlite.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the replicated tables ------------------------------------------------ */

const struct table rep_tables[] = {
    {"documents", 12, 1,
     {"id", "path", "sha256", "mtime", "title", "kind", "n_pages", "n_bytes", "added_at",
      "version", "doc_date", "meta_rev"}, "ittittiiitti", 1},
    {"pages", 4, 2, {"doc_id", "page", "byte_start", "byte_end"}, "iiii", 1},
    {"chunks", 10, 1,
     {"id", "doc_id", "ord", "page_start", "page_end", "section", "byte_start", "byte_end",
      "n_tokens", "text"}, "iiiiitiiit", 1},
    {"vectors", 4, 1, {"chunk_id", "model", "dim", "data"}, "itib", 1},
    {"embed_cache", 3, 2, {"model", "content_sha256", "data"}, "ttb", 0},
    {"bm25_docs", 3, 1, {"docno", "chunk_id", "dl"}, "iii", 1},
    {"bm25_postings", 4, 2, {"term", "seg", "df", "data"}, "tiib", 0},
    {"bm25_deleted", 1, 1, {"docno"}, "i", 1},
    {"graph_edges", 3, 2, {"src", "dst", "w"}, "iir", 1},
    {"meta", 2, 1, {"key", "value"}, "tt", 0},
};
_Static_assert(sizeof rep_tables / sizeof rep_tables[0] == N_TABLES, "N_TABLES");

/* Meta keys of the copy itself, never sent to PostgreSQL nor taken from it. */
int rep_local_key(const char *key, size_t n)
{
    static const char *const keys[] = {"change_seq", "pg_applied_seq", "pg_store_id",
                                       "schema_version"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i]) == n && !memcmp(keys[i], key, n))
            return 1;
    return 0;
}


int rep_get_need_full(rag_replica *r)
{
    int v;
    pthread_mutex_lock(&r->mu);
    v = r->need_full;
    pthread_mutex_unlock(&r->mu);
    return v;
}

void rep_set_need_full(rag_replica *r, int v)
{
    pthread_mutex_lock(&r->mu);
    r->need_full = v;
    pthread_mutex_unlock(&r->mu);
}

void rep_set_state_err(rag_replica *r, int rc, const rag_err *err)
{
    pthread_mutex_lock(&r->mu);
    if (rc == RAG_EIO)
        r->st.reachable = 0;
    snprintf(r->st.error, sizeof r->st.error, "%s", err && err->msg[0] ? err->msg : "error");
    pthread_mutex_unlock(&r->mu);
}

static void set_reachable(rag_replica *r)
{
    int64_t n = 0;
    pthread_mutex_lock(&r->mu);
    r->st.reachable = 1;
    r->st.error[0] = '\0';
    if (r->fpg)
        n += rag_pg_n_reconnects(r->fpg);
    r->st.n_reconnects = n > r->st.n_reconnects ? n : r->st.n_reconnects;
    pthread_mutex_unlock(&r->mu);
}

int rep_db_exec(sqlite3 *db, const char *what, const char *sql, rag_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = rag_fail(err, RAG_EIO, "%s: %s: %s", sqlite3_db_filename(db, "main"), what,
                          msg ? msg : sqlite3_errmsg(db));
        sqlite3_free(msg);
        return rc;
    }
    return RAG_OK;
}

int rep_meta_put(sqlite3 *db, const char *key, const char *value, rag_err *err)
{
    sqlite3_stmt *st;
    int rc;
    if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)", -1,
                           &st, NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "%s: meta: %s", sqlite3_db_filename(db, "main"),
                        sqlite3_errmsg(db));
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return rag_fail(err, RAG_EIO, "%s: meta %s: %s", sqlite3_db_filename(db, "main"), key,
                        sqlite3_errmsg(db));
    return RAG_OK;
}

int rep_meta_put_i64(sqlite3 *db, const char *key, int64_t v, rag_err *err)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return rep_meta_put(db, key, s, err);
}

/* Integer meta value (0 when absent). */
int64_t rep_meta_i64(sqlite3 *db, const char *key)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(db, "SELECT CAST(value AS INTEGER) FROM meta WHERE key = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int rep_bump_change_seq(sqlite3 *db, rag_err *err)
{
    return rep_db_exec(db, "change_seq",
                   "INSERT INTO meta(key, value) VALUES('change_seq', '1')"
                   " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                   err);
}

/* AUTOINCREMENT's counter of bm25_docs past every docno the copy knows,
 * deleted ones included: a changeset carries explicit docnos, and one
 * whose row came and went inside a single transaction leaves only its
 * bm25_deleted row, which a reused docno would collide with. */
int rep_fix_docno_sequence(sqlite3 *db, rag_err *err)
{
    return rep_db_exec(db, "bm25 docno sequence",
                   "INSERT INTO sqlite_sequence(name, seq) SELECT 'bm25_docs', 0"
                   "  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'bm25_docs');"
                   "UPDATE sqlite_sequence SET seq = max(seq,"
                   "  (SELECT coalesce(max(docno), 0) FROM bm25_docs),"
                   "  (SELECT coalesce(max(docno), 0) FROM bm25_deleted))"
                   " WHERE name = 'bm25_docs';",
                   err);
}

/* ---- open / close ------------------------------------------------------------ */

static int lock_mirror(rag_replica *r, rag_err *err)
{
    char *p = rag_asprintf("%s.lock", r->mirror);
    if (!p)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    r->lock_fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (r->lock_fd < 0) {
        int rc = rag_fail(err, RAG_EIO, "%s: cannot create %s: %s", r->mirror, p,
                          strerror(errno));
        rag_free(p);
        return rc;
    }
    rag_free(p);
    if (flock(r->lock_fd, LOCK_EX | LOCK_NB) < 0)
        return rag_fail(err, RAG_EIO,
                        errno == EWOULDBLOCK
                            ? "%s: the local copy of %s is in use by another process (or "
                              "replica): give each replica its own mirror"
                            : "%s: cannot lock the local copy of %s",
                        r->mirror, r->endpoint);
    return RAG_OK;
}

/* Bring the copy to the head at open: full copy when missing, of another
 * store, or behind a gap; else catch up. */
static int sync_at_open(rag_replica *r, rag_err *err)
{
    struct stat sb;
    int need_full = 0, rc;
    char id[64] = "";

    if (stat(r->mirror, &sb) == 0) {
        if ((rc = rep_open_follower_ix(r, err)) < 0)
            return rc;
        rag_index_meta_get(r->fix, "pg_store_id", id, sizeof id, NULL);
        if (strcmp(id, r->store_id)) {
            rag_log(RAG_LOG_INFO, "%s: %s: full copy of %s", r->mirror,
                    id[0] ? "a copy of another store" : "not a copy of this store", r->endpoint);
            need_full = 1;
        }
    } else if (errno != ENOENT) {
        return rag_fail(err, RAG_EIO, "%s: %s", r->mirror, strerror(errno));
    } else {
        need_full = 1;
    }
    if (!need_full) {
        rc = rep_apply_pending(r, r->fpg, rag_index_db(r->fix), 0, &need_full, err);
        if (rc < 0)
            return rc;
        pthread_mutex_lock(&r->mu);
        r->st.applied_seq = rep_meta_i64(rag_index_db(r->fix), "pg_applied_seq");
        pthread_mutex_unlock(&r->mu);
    }
    if (need_full)
        return rep_full_copy(r, 0, err);
    return RAG_OK;
}

int rag_replica_open(rag_replica **out, const char *url, const char *mirror_path,
                     const rag_pg_opts *opts, int read_only, rag_err *err)
{
    rag_replica *r;
    int64_t head = 0;
    int rc;

    *out = NULL;
    if (!mirror_path || !*mirror_path)
        return rag_fail(err, RAG_EINVAL, "replica: no path for the local copy");
    r = rag_calloc(1, sizeof *r);
    if (!r)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    r->lock_fd = -1;
    pthread_mutex_init(&r->mu, NULL);
    pthread_mutex_init(&r->follow_mu, NULL);
    r->read_only = read_only;
    r->opts = opts ? *opts : rag_pg_default_opts();
    r->url = rag_strdup(url ? url : "");
    r->mirror = rag_strdup(mirror_path);
    if (!r->url || !r->mirror) {
        rag_replica_close(r);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    if ((rc = rag_pg_endpoint_of(r->endpoint, sizeof r->endpoint, r->url, err)) < 0)
        goto fail;
    if ((rc = lock_mirror(r, err)) < 0)
        goto fail;
    {
        rag_pg_opts fo = r->opts;
        if (read_only)
            fo.target = RAG_PG_ANY;
        if ((rc = rag_pg_open(&r->fpg, r->url, &fo, err)) < 0)
            goto fail;
    }
    snprintf(r->endpoint, sizeof r->endpoint, "%s", rag_pg_endpoint(r->fpg));
    if (!read_only && (rc = rag_pg_schema_migrate(r->fpg, NULL, err)) < 0)
        goto fail;
    if ((rc = rep_pg_store_id(r->fpg, r->store_id, sizeof r->store_id, err)) < 0)
        goto fail;
    if ((rc = rag_pg_listen(r->fpg, RAG_PG_CHANGES_CHANNEL, err)) < 0) {
        /* a standby cannot LISTEN (NOTIFY is not replicated): poll only */
        if (rc != RAG_EBACKEND || rag_pg_in_recovery(r->fpg, NULL) != 1)
            goto fail;
        rag_log(RAG_LOG_DEBUG, "%s: a standby: the follower polls the change log", r->endpoint);
        rc = RAG_OK;
    }
    if ((rc = sync_at_open(r, err)) < 0)
        goto fail;
    if ((rc = rag_pg_changes_head(r->fpg, &head, err)) < 0)
        goto fail;
    if ((rc = rag_store_pg_open(&r->store, r->url, &r->opts, read_only, err)) < 0)
        goto fail;
    pthread_mutex_lock(&r->mu);
    r->st.head_seq = head;
    r->st.reachable = 1;
    pthread_mutex_unlock(&r->mu);
    *out = r;
    return RAG_OK;
fail:
    rag_replica_close(r);
    return rc;
}

static void wipe_free(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = 0;
        rag_free(s);
    }
}

void rag_replica_close(rag_replica *r)
{
    if (!r)
        return;
    if (r->wix) {
        if (rag_index_in_tx(r->wix))
            rag_index_rollback(r->wix);   /* a write left open: nothing of it anywhere */
        rag_index_set_tx_hooks(r->wix, NULL, NULL, NULL);   /* detach sets wix NULL */
    }
    if (r->sess)
        sqlite3session_delete(r->sess);
    if (r->store)
        r->store->ops->close(r->store);
    rag_index_close(r->fix);
    rag_pg_close(r->fpg);
    rag_pg_close(r->wpg);
    rag_pg_close(r->jpg);
    if (r->lock_fd >= 0)
        close(r->lock_fd);   /* releases the flock */
    rag_free(r->jobs);
    wipe_free(r->url);
    rag_free(r->mirror);
    pthread_mutex_destroy(&r->mu);
    pthread_mutex_destroy(&r->follow_mu);
    rag_free(r);
}

const char *rag_replica_mirror(const rag_replica *r)
{
    return r->mirror;
}

const char *rag_replica_endpoint(const rag_replica *r)
{
    return r->endpoint;
}

struct rag_store *rag_replica_store(rag_replica *r)
{
    return r->store;
}

void rag_replica_state_get(rag_replica *r, rag_replica_state *out)
{
    pthread_mutex_lock(&r->mu);
    *out = r->st;
    pthread_mutex_unlock(&r->mu);
}

/* ---- follow ---------------------------------------------------------------------- */

static int follow_round(rag_replica *r, rag_err *err)
{
    int need_full = 0, n;
    int64_t head;
    if (rep_get_need_full(r)) {
        n = rep_full_copy(r, 1, err);
        return n < 0 ? n : 1;
    }
    n = rep_apply_pending(r, r->fpg, rag_index_db(r->fix), 0, &need_full, err);
    if (n < 0)
        return n;
    if (need_full) {
        int rc = rep_full_copy(r, 1, err);
        if (rc < 0) {
            rep_set_need_full(r, 1);
            return rc;
        }
        n++;
    }
    if (rag_pg_changes_head(r->fpg, &head, err) == RAG_OK) {
        pthread_mutex_lock(&r->mu);
        r->st.head_seq = head;
        pthread_mutex_unlock(&r->mu);
    }
    return n;
}

int rag_replica_follow(rag_replica *r, int wait_ms, rag_err *err)
{
    rag_err e = {0};
    int n;

    if (!err)
        err = &e;
    pthread_mutex_lock(&r->follow_mu);
    n = follow_round(r, err);
    if (n == 0 && wait_ms > 0) {
        char ch[64], payload[32];
        int w = rag_pg_wait_notify(r->fpg, wait_ms, ch, sizeof ch, payload, sizeof payload, err);
        if (w < 0)
            n = w;
        else if (w > 0) {
            /* drain what else is queued, then read the log */
            while (rag_pg_wait_notify(r->fpg, 0, ch, sizeof ch, payload, sizeof payload,
                                      NULL) == 1) {
            }
            n = follow_round(r, err);
        }
    }
    pthread_mutex_unlock(&r->follow_mu);
    if (n < 0)
        rep_set_state_err(r, n, err);
    else
        set_reachable(r);
    return n;
}

/* ---- jobs ------------------------------------------------------------------------ */

static int jobs_conn(rag_replica *r, rag_err *err)
{
    int rc;
    if (r->jpg)
        return RAG_OK;
    if ((rc = rag_pg_open(&r->jpg, r->url, &r->opts, err)) < 0)
        return rc;
    rc = rag_pg_listen(r->jpg, RAG_PG_JOBS_CHANNEL, err);
    if (rc < 0) {
        rag_pg_close(r->jpg);
        r->jpg = NULL;
    }
    return rc;
}

int rag_replica_job_enqueue(rag_replica *r, const char *key, const void *payload, size_t n,
                            int64_t *id, int *created, rag_err *err)
{
    int rc = jobs_conn(r, err);
    return rc < 0 ? rc : rag_pg_job_enqueue(r->jpg, key, payload, n, 0, id, created, err);
}

static void job_from_pg(rag_replica_job *job, const rag_pg_job *pj)
{
    job->id = pj->id;
    snprintf(job->key, sizeof job->key, "%s", pj->key);
    job->payload = pj->payload;   /* moved */
    job->n_payload = pj->n_payload;
    job->attempts = pj->attempts;
}

int rag_replica_job_claim(rag_replica *r, const char *owner, int lease_ms, rag_replica_job *job,
                          rag_err *err)
{
    rag_pg_job pj;
    int rc = jobs_conn(r, err);
    memset(job, 0, sizeof *job);
    if (rc < 0)
        return rc;
    rc = rag_pg_job_claim(r->jpg, owner, lease_ms, &pj, err);
    if (rc == 1)
        job_from_pg(job, &pj);
    return rc;
}

int rag_replica_job_renew(rag_replica *r, int64_t id, const char *owner, int lease_ms, rag_err *err)
{
    int rc = jobs_conn(r, err);
    return rc < 0 ? rc : rag_pg_job_renew(r->jpg, id, owner, lease_ms, err);
}

int rag_replica_job_complete_on_commit(rag_replica *r, int64_t id, const char *owner,
                                       rag_err *err)
{
    if (!r->wix)
        return rag_fail(err, RAG_EINVAL, "%s: job %lld: no writer attached", r->endpoint,
                        (long long)id);
    if (!owner || strlen(owner) >= sizeof r->jobs[0].owner)
        return rag_fail(err, RAG_EINVAL, "%s: job %lld: bad owner", r->endpoint, (long long)id);
    if (r->n_jobs == r->cap_jobs) {
        size_t cap = r->cap_jobs ? r->cap_jobs * 2 : 4;
        pending_job *j = rag_realloc(r->jobs, cap * sizeof *j);
        if (!j)
            return rag_fail(err, RAG_ENOMEM, "out of memory");
        r->jobs = j;
        r->cap_jobs = cap;
    }
    r->jobs[r->n_jobs].id = id;
    snprintf(r->jobs[r->n_jobs].owner, sizeof r->jobs[0].owner, "%s", owner);
    r->n_jobs++;
    return RAG_OK;
}

int rag_replica_job_fail(rag_replica *r, int64_t id, const char *owner, const char *why,
                         rag_err *err)
{
    int rc = jobs_conn(r, err);
    return rc < 0 ? rc : rag_pg_job_fail(r->jpg, id, owner, why, err);
}

int rag_replica_job_state(rag_replica *r, int64_t id, char state[16], int *attempts,
                          rag_err *err)
{
    int rc = jobs_conn(r, err);
    return rc < 0 ? rc : rag_pg_job_state(r->jpg, id, state, attempts, err);
}

int rag_replica_job_by_key(rag_replica *r, const char *key, rag_replica_job *job, rag_err *err)
{
    rag_pg_job pj;
    int rc = jobs_conn(r, err);
    memset(job, 0, sizeof *job);
    if (rc < 0)
        return rc;
    rc = rag_pg_job_by_key(r->jpg, key, &pj, err);
    if (rc == RAG_OK)
        job_from_pg(job, &pj);
    return rc;
}

void rag_replica_job_fini(rag_replica_job *job)
{
    if (job) {
        rag_free(job->payload);
        job->payload = NULL;
        job->n_payload = 0;
    }
}

int rag_replica_job_wait(rag_replica *r, int wait_ms, rag_err *err)
{
    char ch[64], payload[32];
    int rc = jobs_conn(r, err);
    if (rc < 0)
        return rc;
    rc = rag_pg_wait_notify(r->jpg, wait_ms, ch, sizeof ch, payload, sizeof payload, err);
    return rc < 0 ? rc : rc > 0;
}

/* ---- verify ---------------------------------------------------------------------- */

int rag_replica_verify(rag_replica *r, rag_replica_table_count *out, int max, int *n,
                       rag_err *err)
{
    sqlite3 *db;
    int rc, differ = 0, k = 0;
    char first[160] = "";

    if (n)
        *n = 0;
    pthread_mutex_lock(&r->follow_mu);
    db = rag_index_db(r->fix);
    rc = rag_pg_begin_read(r->fpg, err);
    if (rc == RAG_OK)
        rc = rep_db_exec(db, "verify", "BEGIN DEFERRED; SELECT count(*) FROM meta;", err);
    for (size_t i = 0; rc == RAG_OK && i < N_TABLES; i++) {
        const struct table *t = &rep_tables[i];
        rag_replica_table_count c;
        char sql[256];
        sqlite3_stmt *st;
        rag_pg_res *res;
        if (i == T_META)
            continue;   /* local keys differ by design */
        memset(&c, 0, sizeof c);
        snprintf(c.table, sizeof c.table, "%s", t->name);
        if (t->int_pk)
            snprintf(sql, sizeof sql, "SELECT count(*), coalesce(max(%s), 0) FROM %s", t->cols[0],
                     t->name);
        else
            snprintf(sql, sizeof sql, "SELECT count(*), 0 FROM %s", t->name);
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
            rc = rag_fail(err, RAG_EIO, "%s: verify %s: %s", r->mirror, t->name,
                          sqlite3_errmsg(db));
            break;
        }
        if (sqlite3_step(st) == SQLITE_ROW) {
            c.mirror_rows = sqlite3_column_int64(st, 0);
            c.mirror_max_id = sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
        if ((rc = rag_pg_exec(r->fpg, &res, sql, NULL, 0, 0, err)) < 0)
            break;
        c.pg_rows = rag_pg_res_i64(res, 0, 0);
        c.pg_max_id = rag_pg_res_i64(res, 0, 1);
        rag_pg_res_destroy(res);
        if (c.mirror_rows != c.pg_rows || c.mirror_max_id != c.pg_max_id) {
            if (!differ)
                snprintf(first, sizeof first,
                         "%s: %s: %lld rows (max id %lld) in the copy, %lld (max id %lld) in %s",
                         r->mirror, t->name, (long long)c.mirror_rows,
                         (long long)c.mirror_max_id, (long long)c.pg_rows,
                         (long long)c.pg_max_id, r->endpoint);
            differ = 1;
        }
        if (out && k < max)
            out[k] = c;
        k++;
    }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    rag_pg_rollback(r->fpg);
    pthread_mutex_unlock(&r->follow_mu);
    if (n)
        *n = k < max || !out ? k : max;
    if (rc < 0)
        return rc;
    if (differ) {
        rag_fail(err, 1, "%s", first);
        return 1;
    }
    return 0;
}
