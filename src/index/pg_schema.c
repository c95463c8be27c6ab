/* pg_schema.c - the PostgreSQL store's migration steps, change log and
 * job queue (contracts in pg_schema.h).
 *
 * Steps are appended, never edited: a database records the steps it has
 * run in schema_migrations, and a step runs once, in one transaction,
 * after pg_advisory_xact_lock(schema lock) and a re-read of the version
 * (another process may have migrated while this one waited).
 *
 * Types mirror the SQLite file so rows copy across unchanged: INTEGER ->
 * BIGINT (BIGSERIAL for ids), BLOB -> BYTEA (postings segments, vectors,
 * cache entries byte for byte), REAL -> DOUBLE PRECISION. bm25 terms sort
 * COLLATE "C", SQLite's BINARY order, so a merge walks them in the same
 * order on both back-ends.
 */
#include "index/pg_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* advisory lock keys (arbitrary, fixed) */
#define LOCK_SCHEMA "74521001"
#define LOCK_CHANGES RAG_PG_CHANGES_LOCK

struct step {
    int version;
    const char *name;
    const char *sql;
};

static const struct step steps[] = {
    {1, "documents, pages, chunks, postings, vectors, embedding cache, meta",
     "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
     "CREATE TABLE documents("
     "  id BIGSERIAL PRIMARY KEY, path TEXT UNIQUE NOT NULL, sha256 TEXT NOT NULL,"
     "  mtime BIGINT, title TEXT NOT NULL DEFAULT '', kind TEXT, n_pages INTEGER,"
     "  n_bytes BIGINT, added_at BIGINT);"
     "CREATE TABLE pages("
     "  doc_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
     "  page INTEGER NOT NULL, byte_start BIGINT, byte_end BIGINT,"
     "  PRIMARY KEY(doc_id, page));"
     "CREATE TABLE chunks("
     "  id BIGSERIAL PRIMARY KEY,"
     "  doc_id BIGINT NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
     "  ord INTEGER NOT NULL, page_start INTEGER, page_end INTEGER,"
     "  section TEXT NOT NULL DEFAULT '', byte_start BIGINT, byte_end BIGINT,"
     "  n_tokens INTEGER, text TEXT NOT NULL);"
     "CREATE INDEX chunks_doc ON chunks(doc_id, ord);"
     "CREATE TABLE vectors("
     "  chunk_id BIGINT PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,"
     "  model TEXT NOT NULL, dim INTEGER NOT NULL, data BYTEA NOT NULL);"
     "CREATE TABLE embed_cache("
     "  model TEXT NOT NULL, content_sha256 TEXT NOT NULL, data BYTEA NOT NULL,"
     "  PRIMARY KEY(model, content_sha256));"
     "CREATE TABLE bm25_docs("
     "  docno BIGSERIAL PRIMARY KEY, chunk_id BIGINT UNIQUE NOT NULL, dl INTEGER NOT NULL);"
     "CREATE TABLE bm25_postings("
     "  term TEXT COLLATE \"C\" NOT NULL, seg BIGINT NOT NULL, df INTEGER NOT NULL,"
     "  data BYTEA NOT NULL, PRIMARY KEY(term, seg));"
     "CREATE TABLE bm25_deleted(docno BIGINT PRIMARY KEY);"},
    {2, "graph edges and usage, ad hoc tables in SQLite",
     "CREATE TABLE graph_edges(src BIGINT NOT NULL, dst BIGINT NOT NULL,"
     "  w DOUBLE PRECISION NOT NULL, PRIMARY KEY(src, dst));"
     "CREATE TABLE usage("
     "  backend TEXT NOT NULL, month TEXT NOT NULL,"
     "  requests BIGINT NOT NULL DEFAULT 0, errors BIGINT NOT NULL DEFAULT 0,"
     "  retries BIGINT NOT NULL DEFAULT 0, fallbacks BIGINT NOT NULL DEFAULT 0,"
     "  tokens_in BIGINT NOT NULL DEFAULT 0, tokens_out BIGINT NOT NULL DEFAULT 0,"
     "  cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0, errors_by_class TEXT, hist TEXT,"
     "  PRIMARY KEY(backend, month));"},
    {3, "change log and ingestion job queue",
     "CREATE TABLE change_log("
     "  seq BIGSERIAL PRIMARY KEY, at TIMESTAMPTZ NOT NULL DEFAULT now(),"
     "  kind TEXT NOT NULL CHECK (kind IN ('put', 'remove', 'vectors', 'meta', 'optimize')),"
     "  doc_id BIGINT, path TEXT);"
     "CREATE TABLE jobs("
     "  id BIGSERIAL PRIMARY KEY, key TEXT UNIQUE NOT NULL, payload BYTEA,"
     "  state TEXT NOT NULL DEFAULT 'queued'"
     "    CHECK (state IN ('queued', 'running', 'done', 'failed')),"
     "  attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL DEFAULT 3,"
     "  owner TEXT, lease_until TIMESTAMPTZ,"
     "  created_at TIMESTAMPTZ NOT NULL DEFAULT now(), finished_at TIMESTAMPTZ, error TEXT);"
     "CREATE INDEX jobs_ready ON jobs(id) WHERE state IN ('queued', 'running');"},
    {4, "documents.version, doc_date, meta_rev (SQLite's step 2); graph changes in the log",
     "ALTER TABLE documents ADD COLUMN version TEXT NOT NULL DEFAULT '',"
     "  ADD COLUMN doc_date TEXT NOT NULL DEFAULT '',"
     "  ADD COLUMN meta_rev INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE change_log DROP CONSTRAINT change_log_kind_check;"
     "ALTER TABLE change_log ADD CONSTRAINT change_log_kind_check"
     "  CHECK (kind IN ('put', 'remove', 'vectors', 'meta', 'optimize', 'graph'));"},
    {5, "change_log.changeset (replicas replay it); meta store_id",
     "ALTER TABLE change_log ADD COLUMN changeset BYTEA;"
     "INSERT INTO meta(key, value) VALUES ('store_id', gen_random_uuid()::text)"
     "  ON CONFLICT (key) DO NOTHING;"},
};
#define N_STEPS (sizeof steps / sizeof steps[0])

/* ---- schema ---------------------------------------------------------------- */

static int fail_at(rag_pg *pg, rag_err *err, int code, const char *what)
{
    return rag_fail(err, code, "%s: %s", rag_pg_endpoint(pg), what);
}

static int one_int(rag_pg *pg, const char *sql, const rag_pg_param *p, int n_p, int64_t *v,
                   rag_err *err)
{
    rag_pg_res *r;
    int rc = rag_pg_exec(pg, &r, sql, p, n_p, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    *v = rag_pg_res_rows(r) > 0 ? rag_pg_res_i64(r, 0, 0) : 0;
    rag_pg_res_destroy(r);
    return RAG_OK;
}

/* Version from schema_migrations; 0 when the table is absent. *foreign
 * is set when the schema holds tables but not ours. */
static int read_version(rag_pg *pg, int *version, int *foreign, rag_err *err)
{
    int64_t kind, v = 0;
    int rc;
    *version = 0;
    *foreign = 0;
    /* one statement, one snapshot: asked in two, a migrator committing step
     * 1 in between (schema_migrations and documents at once) would make an
     * empty database look foreign */
    rc = one_int(pg, "SELECT CASE WHEN bool_or(tablename = 'schema_migrations') THEN 1"
                     " WHEN bool_or(tablename IN ('documents', 'chunks', 'meta')) THEN 2"
                     " ELSE 0 END FROM pg_tables WHERE schemaname = current_schema()",
                 NULL, 0, &kind, err);
    if (rc == RAG_OK && kind != 1) {
        *foreign = kind == 2;
        return rc;
    }
    if (rc == RAG_OK)
        rc = one_int(pg, "SELECT coalesce(max(version), 0) FROM schema_migrations", NULL, 0, &v,
                     err);
    *version = (int)v;
    return rc;
}

int rag_pg_schema_version(rag_pg *pg, int *version, rag_err *err)
{
    int foreign;
    return read_version(pg, version, &foreign, err);
}

static int newer(rag_pg *pg, int version, rag_err *err)
{
    return rag_fail(err, RAG_EFORMAT, "%s: schema version %d is newer than this docrag (%d)",
                    rag_pg_endpoint(pg), version, RAG_PG_SCHEMA_VERSION);
}

static int apply_step(rag_pg *pg, const struct step *s, rag_err *err)
{
    char num[16];
    rag_pg_param p[2];
    int version, foreign, rc;

    if ((rc = rag_pg_begin(pg, err)) < 0)
        return rc;
    rc = rag_pg_exec_sql(pg, "SELECT pg_advisory_xact_lock(" LOCK_SCHEMA ")", err);
    if (rc == RAG_OK)
        rc = read_version(pg, &version, &foreign, err);
    if (rc == RAG_OK && version >= s->version) {
        /* another process got here first */
        rag_pg_rollback(pg);
        return RAG_OK;
    }
    if (rc == RAG_OK && version == 0)
        rc = rag_pg_exec_sql(pg, "CREATE TABLE IF NOT EXISTS schema_migrations(version INTEGER PRIMARY KEY,"
                                 " name TEXT NOT NULL,"
                                 " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                             err);
    if (rc == RAG_OK && version != s->version - 1)
        rc = rag_fail(err, RAG_EFORMAT, "%s: schema at version %d, cannot apply step %d",
                      rag_pg_endpoint(pg), version, s->version);
    if (rc == RAG_OK && (rc = rag_pg_exec_sql(pg, s->sql, err)) < 0)
        rag_err_prefix(err, "schema step %d", s->version);
    snprintf(num, sizeof num, "%d", s->version);
    p[0] = (rag_pg_param){num, 0, 0};
    p[1] = (rag_pg_param){s->name, 0, 0};
    if (rc == RAG_OK)
        rc = rag_pg_exec(pg, NULL, "INSERT INTO schema_migrations(version, name) VALUES ($1, $2)",
                         p, 2, 0, err);
    if (rc == RAG_OK)
        rc = rag_pg_exec(pg, NULL,
                         "INSERT INTO meta(key, value) VALUES ('schema_version', $1)"
                         " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                         p, 1, 0, err);
    if (rc < 0) {
        rag_pg_rollback(pg);
        return rc;
    }
    rc = rag_pg_commit(pg, err);
    if (rc == RAG_OK)
        rag_log(RAG_LOG_INFO, "%s: schema step %d applied (%s)", rag_pg_endpoint(pg), s->version,
                s->name);
    return rc;
}

int rag_pg_schema_migrate_to(rag_pg *pg, int target, int *from, rag_err *err)
{
    int version, foreign, rc;
    if (from)
        *from = 0;
    if (rag_pg_in_tx(pg))
        return fail_at(pg, err, RAG_EINVAL, "schema migration inside a transaction");
    if ((rc = read_version(pg, &version, &foreign, err)) < 0)
        return rc;
    if (from)
        *from = version;
    if (foreign)
        return fail_at(pg, err, RAG_EFORMAT,
                       "has tables named like docrag's (documents, chunks, meta) but no "
                       "schema_migrations: not a docrag database");
    if (version > RAG_PG_SCHEMA_VERSION)
        return newer(pg, version, err);
    for (size_t i = 0; i < N_STEPS; i++) {
        if (steps[i].version <= version || steps[i].version > target)
            continue;
        if ((rc = apply_step(pg, &steps[i], err)) < 0)
            return rc;
    }
    /* a concurrent newer docrag may have migrated past us meanwhile */
    if ((rc = read_version(pg, &version, &foreign, err)) < 0)
        return rc;
    return version > RAG_PG_SCHEMA_VERSION ? newer(pg, version, err) : RAG_OK;
}

int rag_pg_schema_migrate(rag_pg *pg, int *from, rag_err *err)
{
    return rag_pg_schema_migrate_to(pg, RAG_PG_SCHEMA_VERSION, from, err);
}

/* ---- change log -------------------------------------------------------------- */

int rag_pg_change_log(rag_pg *pg, const char *kind, int64_t doc_id, const char *path,
                      int64_t *seq, rag_err *err)
{
    return rag_pg_change_log_cs(pg, kind, doc_id, path, NULL, 0, seq, err);
}

int rag_pg_change_log_cs(rag_pg *pg, const char *kind, int64_t doc_id, const char *path,
                         const void *changeset, size_t n_changeset, int64_t *seq, rag_err *err)
{
    char id[24];
    rag_pg_param p[4];
    rag_pg_res *r;
    int rc;
    if (!rag_pg_in_tx(pg))
        return fail_at(pg, err, RAG_EINVAL, "change log written outside a transaction");
    snprintf(id, sizeof id, "%lld", (long long)doc_id);
    p[0] = (rag_pg_param){kind, 0, 0};
    p[1] = (rag_pg_param){doc_id ? id : NULL, 0, 0};
    p[2] = (rag_pg_param){path && *path ? path : NULL, 0, 0};
    /* a NULL changeset makes followers copy the store whole */
    if (n_changeset > RAG_PG_CHANGESET_MAX)
        changeset = NULL;
    p[3] = (rag_pg_param){changeset && n_changeset ? changeset : NULL, (int)n_changeset, 1};
    /* one round trip: the lock (held to COMMIT, so the seq drawn after it
     * cannot be overtaken; the row is read from the lock's CTE, so the lock
     * comes first), the row, its announcement */
    rc = rag_pg_exec(pg, &r,
                     "WITH lock AS (SELECT pg_advisory_xact_lock(" LOCK_CHANGES ")),"
                     " ins AS (INSERT INTO change_log(kind, doc_id, path, changeset)"
                     "  SELECT $1, $2::bigint, $3, $4::bytea FROM lock RETURNING seq)"
                     " SELECT seq, pg_notify('" RAG_PG_CHANGES_CHANNEL "', seq::text) FROM ins",
                     p, 4, 0, err);
    if (rc < 0)
        return rc;
    if (rag_pg_res_rows(r) != 1) {
        rag_pg_res_destroy(r);
        return fail_at(pg, err, RAG_EBACKEND, "change log: no row written");
    }
    if (seq)
        *seq = rag_pg_res_i64(r, 0, 0);
    rag_pg_res_destroy(r);
    return RAG_OK;
}

int rag_pg_changes_since(rag_pg *pg, int64_t after, rag_pg_change *out, size_t max,
                         size_t *n_out, rag_err *err)
{
    char a[24], m[24];
    rag_pg_param p[2];
    rag_pg_res *r;
    int rc;
    *n_out = 0;
    snprintf(a, sizeof a, "%lld", (long long)after);
    snprintf(m, sizeof m, "%zu", max);
    p[0] = (rag_pg_param){a, 0, 0};
    p[1] = (rag_pg_param){m, 0, 0};
    rc = rag_pg_exec(pg, &r,
                     "SELECT seq, kind, coalesce(doc_id, 0), coalesce(path, ''),"
                     " coalesce(length(changeset), -1) FROM change_log"
                     " WHERE seq > $1 ORDER BY seq LIMIT $2",
                     p, 2, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    for (int i = 0; i < rag_pg_res_rows(r) && (size_t)i < max; i++) {
        rag_pg_change *c = &out[i];
        c->seq = rag_pg_res_i64(r, i, 0);
        snprintf(c->kind, sizeof c->kind, "%s", rag_pg_res_get(r, i, 1));
        c->doc_id = rag_pg_res_i64(r, i, 2);
        snprintf(c->path, sizeof c->path, "%s", rag_pg_res_get(r, i, 3));
        c->n_changeset = rag_pg_res_i64(r, i, 4);
        (*n_out)++;
    }
    rag_pg_res_destroy(r);
    return RAG_OK;
}

int rag_pg_change_changeset(rag_pg *pg, int64_t seq, unsigned char **out, size_t *n_out,
                            rag_err *err)
{
    char a[24];
    rag_pg_param p[1];
    rag_pg_res *r;
    int rc;
    *out = NULL;
    *n_out = 0;
    snprintf(a, sizeof a, "%lld", (long long)seq);
    p[0] = (rag_pg_param){a, 0, 0};
    rc = rag_pg_exec(pg, &r, "SELECT changeset FROM change_log WHERE seq = $1", p, 1,
                     RAG_PG_RETRY | RAG_PG_BINARY, err);
    if (rc < 0)
        return rc;
    if (rag_pg_res_rows(r) == 0 || rag_pg_res_is_null(r, 0, 0)) {
        rag_pg_res_destroy(r);
        return 0;
    }
    *n_out = rag_pg_res_len(r, 0, 0);
    *out = rag_malloc(*n_out ? *n_out : 1);
    if (!*out) {
        rag_pg_res_destroy(r);
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory for change %lld (%zu bytes)",
                        rag_pg_endpoint(pg), (long long)seq, *n_out);
    }
    memcpy(*out, rag_pg_res_get(r, 0, 0), *n_out);
    rag_pg_res_destroy(r);
    return 1;
}

int rag_pg_changes_head(rag_pg *pg, int64_t *seq, rag_err *err)
{
    return one_int(pg, "SELECT coalesce(max(seq), 0) FROM change_log", NULL, 0, seq, err);
}

/* ---- jobs ------------------------------------------------------------------------ */

int rag_pg_job_enqueue(rag_pg *pg, const char *key, const void *payload, size_t n_payload,
                       int max_attempts, int64_t *id, int *created, rag_err *err)
{
    char ma[16];
    rag_pg_param p[3];
    rag_pg_res *r;
    int rc;
    if (created)
        *created = 0;
    *id = 0;
    if (!key || !*key)
        return fail_at(pg, err, RAG_EINVAL, "a job needs a key");
    if (n_payload > 0x7fffffff)
        return fail_at(pg, err, RAG_ELIMIT, "job payload too large");
    snprintf(ma, sizeof ma, "%d", max_attempts > 0 ? max_attempts : 3);
    p[0] = (rag_pg_param){key, 0, 0};
    p[1] = (rag_pg_param){payload, (int)n_payload, 1};
    p[2] = (rag_pg_param){ma, 0, 0};
    rc = rag_pg_exec(pg, &r,
                     "WITH ins AS (INSERT INTO jobs(key, payload, max_attempts)"
                     "  VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING RETURNING id),"
                     " note AS (SELECT pg_notify('" RAG_PG_JOBS_CHANNEL "', id::text) FROM ins)"
                     " SELECT id, 1 FROM ins, (SELECT count(*) FROM note) n"
                     " UNION ALL SELECT id, 0 FROM jobs WHERE key = $1"
                     "  AND NOT EXISTS (SELECT 1 FROM ins)",
                     p, 3, 0, err);
    if (rc < 0)
        return rc;
    if (rag_pg_res_rows(r) != 1) {
        rag_pg_res_destroy(r);
        return fail_at(pg, err, RAG_EBACKEND, "job enqueue returned no row");
    }
    *id = rag_pg_res_i64(r, 0, 0);
    if (created)
        *created = (int)rag_pg_res_i64(r, 0, 1);
    rag_pg_res_destroy(r);
    return RAG_OK;
}

/* job from row 0 of r: id, key, payload (binary, may be NULL), attempts. */
static int job_row(rag_pg *pg, const rag_pg_res *r, rag_pg_job *job, rag_err *err)
{
    job->id = rag_pg_res_i64(r, 0, 0);
    snprintf(job->key, sizeof job->key, "%.*s", (int)rag_pg_res_len(r, 0, 1),
             rag_pg_res_get(r, 0, 1));
    job->attempts = (int)rag_pg_res_i64(r, 0, 3);
    if (!rag_pg_res_is_null(r, 0, 2)) {
        job->n_payload = rag_pg_res_len(r, 0, 2);
        job->payload = rag_malloc(job->n_payload + 1);
        if (!job->payload)
            return rag_fail(err, RAG_ENOMEM, "%s: out of memory", rag_pg_endpoint(pg));
        memcpy(job->payload, rag_pg_res_get(r, 0, 2), job->n_payload);
        job->payload[job->n_payload] = 0;
    }
    return RAG_OK;
}

int rag_pg_job_claim(rag_pg *pg, const char *owner, int lease_ms, rag_pg_job *job,
                     rag_err *err)
{
    char ms[16];
    rag_pg_param p[2];
    rag_pg_res *r;
    int rc;
    memset(job, 0, sizeof *job);
    rc = rag_pg_exec_sql(pg,
                         "UPDATE jobs SET state = 'failed', finished_at = now(), owner = NULL,"
                         " lease_until = NULL,"
                         " error = coalesce(error, 'lease expired on the last attempt')"
                         " WHERE state = 'running' AND lease_until < now()"
                         " AND attempts >= max_attempts",
                         err);
    if (rc < 0)
        return rc;
    snprintf(ms, sizeof ms, "%d", lease_ms > 0 ? lease_ms : 1);
    p[0] = (rag_pg_param){owner, 0, 0};
    p[1] = (rag_pg_param){ms, 0, 0};
    /* not RAG_PG_RETRY: a lost claim may have taken the job; its lease
     * expires and another claim gets it */
    rc = rag_pg_exec(pg, &r,
                     "UPDATE jobs SET state = 'running', owner = $1, attempts = attempts + 1,"
                     " lease_until = now() + make_interval(secs => $2::double precision / 1000)"
                     " WHERE id = (SELECT id FROM jobs"
                     "  WHERE (state = 'queued' OR (state = 'running' AND lease_until < now()))"
                     "  AND attempts < max_attempts"
                     "  ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)"
                     " RETURNING id, key, payload, attempts",
                     p, 2, RAG_PG_BINARY, err);
    if (rc < 0)
        return rc;
    if (rag_pg_res_rows(r) == 0) {
        rag_pg_res_destroy(r);
        return 0;
    }
    rc = job_row(pg, r, job, err);
    rag_pg_res_destroy(r);
    return rc < 0 ? rc : 1;
}

/* Run an UPDATE on job id held by owner; RAG_ENOTFOUND when no row matched. */
static int owned_update(rag_pg *pg, const char *sql, int64_t id, const char *owner,
                        const char *arg, const char *what, rag_err *err)
{
    char sid[24];
    rag_pg_param p[3];
    rag_pg_res *r;
    int64_t n;
    int rc;
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    p[0] = (rag_pg_param){sid, 0, 0};
    p[1] = (rag_pg_param){owner, 0, 0};
    p[2] = (rag_pg_param){arg, 0, 0};
    rc = rag_pg_exec(pg, &r, sql, p, arg ? 3 : 2, 0, err);
    if (rc < 0)
        return rc;
    n = rag_pg_res_affected(r);
    rag_pg_res_destroy(r);
    if (n == 0)
        return rag_fail(err, RAG_ENOTFOUND,
                        "%s: job %lld: %s: %s no longer holds its lease (expired and taken by "
                        "another worker, or finished)",
                        rag_pg_endpoint(pg), (long long)id, what, owner);
    return RAG_OK;
}

int rag_pg_job_renew(rag_pg *pg, int64_t id, const char *owner, int lease_ms, rag_err *err)
{
    char ms[16];
    snprintf(ms, sizeof ms, "%d", lease_ms > 0 ? lease_ms : 1);
    return owned_update(pg,
                        "UPDATE jobs SET lease_until = now() +"
                        " make_interval(secs => $3::double precision / 1000)"
                        " WHERE id = $1 AND owner = $2 AND state = 'running'",
                        id, owner, ms, "renew", err);
}

int rag_pg_job_complete(rag_pg *pg, int64_t id, const char *owner, rag_err *err)
{
    return owned_update(pg,
                        "UPDATE jobs SET state = 'done', finished_at = now(), owner = NULL,"
                        " lease_until = NULL, error = NULL"
                        " WHERE id = $1 AND owner = $2 AND state = 'running'",
                        id, owner, NULL, "complete", err);
}

int rag_pg_job_fail(rag_pg *pg, int64_t id, const char *owner, const char *why, rag_err *err)
{
    return owned_update(pg,
                        "UPDATE jobs SET owner = NULL, lease_until = NULL, error = $3,"
                        " state = CASE WHEN attempts >= max_attempts THEN 'failed'"
                        "  ELSE 'queued' END,"
                        " finished_at = CASE WHEN attempts >= max_attempts THEN now() END"
                        " WHERE id = $1 AND owner = $2 AND state = 'running'",
                        id, owner, why ? why : "", "fail", err);
}

int rag_pg_job_state(rag_pg *pg, int64_t id, char state[16], int *attempts, rag_err *err)
{
    char sid[24];
    rag_pg_param p[1];
    rag_pg_res *r;
    int rc;
    snprintf(sid, sizeof sid, "%lld", (long long)id);
    p[0] = (rag_pg_param){sid, 0, 0};
    rc = rag_pg_exec(pg, &r, "SELECT state, attempts FROM jobs WHERE id = $1", p, 1,
                     RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    if (rag_pg_res_rows(r) == 0) {
        rag_pg_res_destroy(r);
        return rag_fail(err, RAG_ENOTFOUND, "%s: no job %lld", rag_pg_endpoint(pg),
                        (long long)id);
    }
    snprintf(state, 16, "%s", rag_pg_res_get(r, 0, 0));
    if (attempts)
        *attempts = (int)rag_pg_res_i64(r, 0, 1);
    rag_pg_res_destroy(r);
    return RAG_OK;
}

int rag_pg_job_by_key(rag_pg *pg, const char *key, rag_pg_job *job, rag_err *err)
{
    rag_pg_param p[1];
    rag_pg_res *r;
    int rc;
    memset(job, 0, sizeof *job);
    p[0] = (rag_pg_param){key, 0, 0};
    rc = rag_pg_exec(pg, &r, "SELECT id, key, payload, attempts FROM jobs WHERE key = $1",
                     p, 1, RAG_PG_BINARY | RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    if (rag_pg_res_rows(r) == 0 || rag_pg_res_is_null(r, 0, 2)) {
        rag_pg_res_destroy(r);
        return rag_fail(err, RAG_ENOTFOUND, "%s: no job with a payload under that key",
                        rag_pg_endpoint(pg));
    }
    rc = job_row(pg, r, job, err);
    rag_pg_res_destroy(r);
    return rc;
}

void rag_pg_job_fini(rag_pg_job *job)
{
    if (job) {
        rag_free(job->payload);
        job->payload = NULL;
        job->n_payload = 0;
    }
}
