/* replica.c - a PostgreSQL store of record with a local SQLite copy, the
 * mirror (contracts in replica.h; design in docs/postgres.md, "Replicas").
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
 *
 * The session extension is compiled into Debian's libsqlite3 (3.40); its
 * API is declared only with the two macros below.
 */
#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include "index/replica.h"

#include "index/index.h"
#include "index/pg_schema.h"
#include "index/store.h"
#include "index/store_pg.h"
#include "index/store_sqlite.h"

#include <sqlite3.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define FETCH_ROWS 2000        /* rows per cursor FETCH of a full copy */
#define CHANGES_BATCH 64       /* change-log rows read per round of follow */
#define FOLLOWER_BUSY_MS 2000  /* the follower waits this long for the writer */

/* ---- the replicated tables ------------------------------------------------
 *
 * Column names and order as in both schemas (index_store.c, pg_schema.c);
 * the primary key is the first n_pk columns. Types for the full copy's
 * binary results: i integer, t text, b blob/bytea, r real. In foreign-key
 * order (documents before pages, chunks, vectors): rows are inserted in
 * this order and deleted in the reverse one. */
struct table {
    const char *name;
    int n_cols, n_pk;
    const char *cols[12];
    const char *types;
    int int_pk;            /* the first key column is an integer (verify's max id) */
};

static const struct table tables[] = {
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
#define N_TABLES (sizeof tables / sizeof tables[0])
#define T_DOCUMENTS 0
#define T_VECTORS 3
#define T_BM25_DOCS 5
#define T_POSTINGS 6
#define T_GRAPH 8
#define T_META 9

/* Meta keys of the copy itself, never sent to PostgreSQL nor taken from it. */
static int local_key(const char *key, size_t n)
{
    static const char *const keys[] = {"change_seq", "pg_applied_seq", "pg_store_id",
                                       "schema_version"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strlen(keys[i]) == n && !memcmp(keys[i], key, n))
            return 1;
    return 0;
}

/* ---- the replica ------------------------------------------------------------ */

typedef struct {
    int64_t id;
    char owner[128];
} pending_job;

struct rag_replica {
    char *url;                 /* as given (may hold ${VAR}); owned, wiped on close */
    char *mirror;              /* owned */
    char endpoint[256];
    rag_pg_opts opts;
    int read_only;
    int lock_fd;
    char store_id[64];         /* PostgreSQL meta store_id */

    /* follower (open, follow, verify): follow_mu */
    pthread_mutex_t follow_mu;
    rag_pg *fpg;               /* LISTEN docrag_changes */
    rag_index *fix;            /* the follower's connection to the mirror */
    int need_full;             /* a gap or a conflict: the next follow copies (mu) */

    /* writer thread */
    rag_pg *wpg;
    rag_pg *jpg;               /* jobs (LISTEN docrag_jobs) */
    rag_store *store;          /* store_pg, for usage rows and the like */
    rag_index *wix;            /* attached writer; borrowed */
    sqlite3_session *sess;
    int64_t pending_seq;       /* logged by the open write, applied at its COMMIT */
    pending_job *jobs;
    size_t n_jobs, cap_jobs;

    pthread_mutex_t mu;        /* st */
    rag_replica_state st;
};

static int get_need_full(rag_replica *r)
{
    int v;
    pthread_mutex_lock(&r->mu);
    v = r->need_full;
    pthread_mutex_unlock(&r->mu);
    return v;
}

static void set_need_full(rag_replica *r, int v)
{
    pthread_mutex_lock(&r->mu);
    r->need_full = v;
    pthread_mutex_unlock(&r->mu);
}

static void set_state_err(rag_replica *r, int rc, const rag_err *err)
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

static int db_exec(sqlite3 *db, const char *what, const char *sql, rag_err *err)
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

static int meta_put(sqlite3 *db, const char *key, const char *value, rag_err *err)
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

static int meta_put_i64(sqlite3 *db, const char *key, int64_t v, rag_err *err)
{
    char s[24];
    snprintf(s, sizeof s, "%lld", (long long)v);
    return meta_put(db, key, s, err);
}

/* Integer meta value (0 when absent). */
static int64_t meta_i64(sqlite3 *db, const char *key)
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

static int bump_change_seq(sqlite3 *db, rag_err *err)
{
    return db_exec(db, "change_seq",
                   "INSERT INTO meta(key, value) VALUES('change_seq', '1')"
                   " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
                   err);
}

/* AUTOINCREMENT's counter of bm25_docs past every docno the copy knows,
 * deleted ones included: a changeset carries explicit docnos, and one
 * whose row came and went inside a single transaction leaves only its
 * bm25_deleted row, which a reused docno would collide with. */
static int fix_docno_sequence(sqlite3 *db, rag_err *err)
{
    return db_exec(db, "bm25 docno sequence",
                   "INSERT INTO sqlite_sequence(name, seq) SELECT 'bm25_docs', 0"
                   "  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'bm25_docs');"
                   "UPDATE sqlite_sequence SET seq = max(seq,"
                   "  (SELECT coalesce(max(docno), 0) FROM bm25_docs),"
                   "  (SELECT coalesce(max(docno), 0) FROM bm25_deleted))"
                   " WHERE name = 'bm25_docs';",
                   err);
}

/* ---- PostgreSQL helpers --------------------------------------------------------- */

static int pg_store_id(rag_pg *pg, char *out, size_t n_out, rag_err *err)
{
    rag_pg_res *res;
    int rc = rag_pg_exec(pg, &res, "SELECT value FROM meta WHERE key = 'store_id'", NULL, 0,
                         RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    out[0] = '\0';
    if (rag_pg_res_rows(res) > 0)
        snprintf(out, n_out, "%s", rag_pg_res_get(res, 0, 0));
    rag_pg_res_destroy(res);
    if (!out[0])
        return rag_fail(err, RAG_EFORMAT,
                        "%s: the store has no store_id (schema older than step 5: open it "
                        "once with a writer to migrate it)", rag_pg_endpoint(pg));
    return RAG_OK;
}

/* ---- full copy ------------------------------------------------------------------- */

static double get_f64_be(const unsigned char *p)
{
    uint64_t x = 0;
    double d;
    for (int i = 0; i < 8; i++)
        x = x << 8 | p[i];
    memcpy(&d, &x, sizeof d);
    return d;
}

/* Copy one table through a cursor of the open snapshot into db. */
static int copy_table(rag_pg *pg, sqlite3 *db, const struct table *t, rag_err *err)
{
    rag_buf sel = RAG_BUF_INIT, ins = RAG_BUF_INIT;
    sqlite3_stmt *st = NULL;
    int rc = RAG_OK;

    rc = rag_buf_printf(&sel, "DECLARE copy_%s BINARY NO SCROLL CURSOR FOR SELECT ", t->name);
    for (int i = 0; rc == RAG_OK && i < t->n_cols; i++)
        rc = rag_buf_printf(&sel, "%s%s", i ? ", " : "", t->cols[i]);
    if (rc == RAG_OK)
        rc = rag_buf_printf(&sel, " FROM %s", t->name);
    if (rc == RAG_OK && t->n_pk)
        rc = rag_buf_puts(&sel, " ORDER BY ");
    for (int i = 0; rc == RAG_OK && i < t->n_pk; i++)
        rc = rag_buf_printf(&sel, "%s%s", i ? ", " : "", t->cols[i]);
    if (rc == RAG_OK)
        rc = rag_buf_printf(&ins, "INSERT OR REPLACE INTO %s(", t->name);
    for (int i = 0; rc == RAG_OK && i < t->n_cols; i++)
        rc = rag_buf_printf(&ins, "%s%s", i ? ", " : "", t->cols[i]);
    if (rc == RAG_OK)
        rc = rag_buf_puts(&ins, ") VALUES(");
    for (int i = 0; rc == RAG_OK && i < t->n_cols; i++)
        rc = rag_buf_printf(&ins, "%s?%d", i ? ", " : "", i + 1);
    if (rc == RAG_OK)
        rc = rag_buf_puts(&ins, ")");
    if (rc < 0) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = rag_pg_exec(pg, NULL, sel.data, NULL, 0, 0, err)) < 0)
        goto done;
    if (sqlite3_prepare_v2(db, ins.data, -1, &st, NULL) != SQLITE_OK) {
        rc = rag_fail(err, RAG_EIO, "%s: %s: %s", sqlite3_db_filename(db, "main"), t->name,
                      sqlite3_errmsg(db));
        goto done;
    }
    for (;;) {
        char fetch[96];
        rag_pg_res *res;
        int n_rows;
        snprintf(fetch, sizeof fetch, "FETCH FORWARD %d FROM copy_%s", FETCH_ROWS, t->name);
        if ((rc = rag_pg_exec(pg, &res, fetch, NULL, 0, RAG_PG_BINARY, err)) < 0)
            goto done;
        n_rows = rag_pg_res_rows(res);
        for (int row = 0; row < n_rows && rc == RAG_OK; row++) {
            int skip = 0;
            for (int c = 0; c < t->n_cols; c++) {
                const char *v = rag_pg_res_get(res, row, c);
                int n = (int)rag_pg_res_len(res, row, c);
                if (rag_pg_res_is_null(res, row, c)) {
                    sqlite3_bind_null(st, c + 1);
                    continue;
                }
                switch (t->types[c]) {
                case 'i':
                    sqlite3_bind_int64(st, c + 1, rag_pg_res_i64(res, row, c));
                    break;
                case 'r':
                    sqlite3_bind_double(st, c + 1,
                                        n == 8 ? get_f64_be((const unsigned char *)v) : 0.0);
                    break;
                case 'b':
                    sqlite3_bind_blob(st, c + 1, n ? v : "", n, SQLITE_TRANSIENT);
                    break;
                default:
                    sqlite3_bind_text(st, c + 1, v, n, SQLITE_TRANSIENT);
                    break;
                }
            }
            if (t == &tables[T_META]) {
                const char *k = rag_pg_res_get(res, row, 0);
                skip = local_key(k, rag_pg_res_len(res, row, 0));
            }
            if (!skip && sqlite3_step(st) != SQLITE_DONE)
                rc = rag_fail(err, RAG_EIO, "%s: %s: %s", sqlite3_db_filename(db, "main"),
                              t->name, sqlite3_errmsg(db));
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
        }
        rag_pg_res_destroy(res);
        if (rc < 0 || n_rows < FETCH_ROWS)
            break;
    }
    if (rc == RAG_OK) {
        char close_sql[64];
        snprintf(close_sql, sizeof close_sql, "CLOSE copy_%s", t->name);
        rc = rag_pg_exec(pg, NULL, close_sql, NULL, 0, 0, err);
    }
done:
    sqlite3_finalize(st);
    rag_buf_fini(&sel);
    rag_buf_fini(&ins);
    return rc;
}

static void unlink_db(const char *path)
{
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
        char *p = rag_asprintf("%s%s", path, suffix[i]);
        if (p)
            unlink(p);
        rag_free(p);
    }
}

static int fsync_path(const char *path, int dir)
{
    int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR) | O_CLOEXEC);
    int rc;
    if (fd < 0)
        return -1;
    rc = fsync(fd);
    close(fd);
    return rc;
}

static int fsync_dir_of(const char *path)
{
    char *dir = rag_strdup(path), *slash;
    int rc;
    if (!dir)
        return -1;
    slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = '\0';
    rc = fsync_path(slash ? dir : ".", 1);
    rag_free(dir);
    return rc;
}

/* Build "<mirror>.new" from one snapshot of the store; *head gets the
 * snapshot's change-log head. old_change_seq: the copy's change_seq, which
 * the new copy passes. */
static int build_copy(rag_replica *r, const char *path, int64_t old_change_seq, int64_t *head,
                      rag_err *err)
{
    rag_index *nx = NULL;
    sqlite3 *db;
    char store_id[64];
    int rc, trig = 1;

    unlink_db(path);
    if ((rc = rag_index_open(&nx, path, 0, err)) < 0)
        return rc;
    db = rag_index_db(nx);
    if ((rc = rag_pg_begin_read(r->fpg, err)) < 0)
        goto done;
    rc = rag_pg_changes_head(r->fpg, head, err);
    if (rc == RAG_OK)
        rc = pg_store_id(r->fpg, store_id, sizeof store_id, err);
    if (rc == RAG_OK) {
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &trig);
        rc = db_exec(db, "full copy", "BEGIN IMMEDIATE", err);
    }
    for (size_t i = 0; rc == RAG_OK && i < N_TABLES; i++)
        rc = copy_table(r->fpg, db, &tables[i], err);
    rag_pg_rollback(r->fpg);   /* a read-only snapshot: nothing to commit */
    if (rc == RAG_OK)
        rc = db_exec(db, "full copy: FTS5", "INSERT INTO chunks_fts(chunks_fts) VALUES('rebuild')",
                     err);
    if (rc == RAG_OK)
        rc = fix_docno_sequence(db, err);
    if (rc == RAG_OK)
        rc = meta_put(db, "pg_store_id", store_id, err);
    if (rc == RAG_OK)
        rc = meta_put_i64(db, "pg_applied_seq", *head, err);
    if (rc == RAG_OK)
        rc = meta_put_i64(db, "change_seq", old_change_seq + 1, err);
    if (rc == RAG_OK)
        rc = db_exec(db, "full copy", "COMMIT", err);
    else
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 1, &trig);
    if (rc == RAG_OK)
        snprintf(r->store_id, sizeof r->store_id, "%s", store_id);
done:
    rag_index_close(nx);   /* the last connection: checkpoints and drops -wal */
    if (rc < 0) {
        unlink_db(path);
        return rc;
    }
    if (fsync_path(path, 0) < 0)
        return rag_fail(err, RAG_EIO, "%s: fsync: %s", path, strerror(errno));
    return RAG_OK;
}

static int open_follower_ix(rag_replica *r, rag_err *err)
{
    int rc = rag_index_open(&r->fix, r->mirror, 0, err);
    if (rc == RAG_OK)
        sqlite3_busy_timeout(rag_index_db(r->fix), FOLLOWER_BUSY_MS);
    return rc;
}

/* Copy the store whole. live = 0 (open): renamed over the mirror, which
 * nobody has open; live = 1: copied into the open mirror (backup API). */
static int full_copy(rag_replica *r, int live, rag_err *err)
{
    char *tmp = rag_asprintf("%s.new", r->mirror);
    int64_t head = 0, old_seq = 0;
    double t0 = rag_now_ms();
    int rc;

    if (!tmp)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    if (r->fix)
        old_seq = meta_i64(rag_index_db(r->fix), "change_seq");
    rc = build_copy(r, tmp, old_seq, &head, err);
    if (rc == RAG_OK && !live) {
        rag_index_close(r->fix);
        r->fix = NULL;
        unlink_db(r->mirror);
        if (rename(tmp, r->mirror) < 0)
            rc = rag_fail(err, RAG_EIO, "%s: rename from %s: %s", r->mirror, tmp,
                          strerror(errno));
        else
            fsync_dir_of(r->mirror);
        if (rc == RAG_OK)
            rc = open_follower_ix(r, err);
    } else if (rc == RAG_OK) {
        sqlite3 *src = NULL;
        sqlite3_backup *b;
        rc = sqlite3_open_v2(tmp, &src, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK ? RAG_OK
             : rag_fail(err, RAG_EIO, "%s: cannot open: %s", tmp,
                        src ? sqlite3_errmsg(src) : "out of memory");
        b = rc == RAG_OK ? sqlite3_backup_init(rag_index_db(r->fix), "main", src, "main") : NULL;
        if (rc == RAG_OK && !b)
            rc = rag_fail(err, RAG_EIO, "%s: full copy: %s", r->mirror,
                          sqlite3_errmsg(rag_index_db(r->fix)));
        if (b) {
            int step = sqlite3_backup_step(b, -1);
            sqlite3_backup_finish(b);
            if (step != SQLITE_DONE)
                rc = rag_fail(err, RAG_EIO, "%s: full copy into the open mirror: %s", r->mirror,
                              sqlite3_errstr(step));
        }
        sqlite3_close(src);
        unlink_db(tmp);
    }
    rag_free(tmp);
    if (rc < 0)
        return rc;
    pthread_mutex_lock(&r->mu);
    r->need_full = 0;
    r->st.applied_seq = head;
    if (head > r->st.head_seq)
        r->st.head_seq = head;
    r->st.n_full_copies++;
    pthread_mutex_unlock(&r->mu);
    rag_log(RAG_LOG_INFO, "%s: full copy of %s at seq %lld (%.0f ms)", r->mirror, r->endpoint,
            (long long)head, rag_now_ms() - t0);
    return RAG_OK;
}

/* ---- applying a changeset to the copy ------------------------------------------ */

typedef struct {
    int64_t *v;
    size_t n, cap;
} id_set;

static int ids_add(id_set *s, int64_t id)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        int64_t *v = rag_realloc(s->v, cap * sizeof *v);
        if (!v)
            return RAG_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = id;
    return RAG_OK;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void ids_unique(id_set *s)
{
    size_t k = 0;
    if (!s->n)
        return;
    qsort(s->v, s->n, sizeof *s->v, cmp_i64);
    for (size_t i = 1; i < s->n; i++)
        if (s->v[i] != s->v[k])
            s->v[++k] = s->v[i];
    s->n = k + 1;
}

/* Chunks whose FTS5 rows a changeset touches: its chunk rows, and every
 * chunk of a document row it changes (the title is indexed). *vectors:
 * it changes vectors. Chunk ids of documents are added from db's state
 * (call before and after applying). */
static int touched_chunks(sqlite3 *db, const void *cs, int n_cs, id_set *chunks, int *vectors,
                          rag_err *err)
{
    sqlite3_changeset_iter *it;
    id_set docs = {0};
    int rc = RAG_OK;

    *vectors = 0;
    if (sqlite3changeset_start(&it, n_cs, (void *)cs) != SQLITE_OK)
        return rag_fail(err, RAG_EFORMAT, "damaged changeset");
    for (;;) {
        int step = rc == RAG_OK ? sqlite3changeset_next(it) : SQLITE_DONE;
        if (step != SQLITE_ROW) {
            if (step != SQLITE_DONE)
                rc = rag_fail(err, RAG_EFORMAT, "damaged changeset (%s)", sqlite3_errstr(step));
            break;
        }
        const char *tab;
        int n_col, op, indirect;
        sqlite3_value *v = NULL;
        sqlite3changeset_op(it, &tab, &n_col, &op, &indirect);
        if (!strcmp(tab, "vectors"))
            *vectors = 1;
        if (strcmp(tab, "chunks") && strcmp(tab, "documents"))
            continue;
        if (op == SQLITE_INSERT)
            sqlite3changeset_new(it, 0, &v);
        else
            sqlite3changeset_old(it, 0, &v);
        if (v)
            rc = ids_add(!strcmp(tab, "chunks") ? chunks : &docs, sqlite3_value_int64(v));
    }
    sqlite3changeset_finalize(it);
    if (rc == RAG_OK && docs.n) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(db, "SELECT id FROM chunks WHERE doc_id = ?1", -1, &st, NULL) !=
            SQLITE_OK) {
            rc = rag_fail(err, RAG_EIO, "chunks: %s", sqlite3_errmsg(db));
        } else {
            for (size_t i = 0; rc == RAG_OK && i < docs.n; i++) {
                sqlite3_bind_int64(st, 1, docs.v[i]);
                while (rc == RAG_OK && sqlite3_step(st) == SQLITE_ROW)
                    rc = ids_add(chunks, sqlite3_column_int64(st, 0));
                sqlite3_reset(st);
            }
            sqlite3_finalize(st);
        }
    }
    rag_free(docs.v);
    if (rc == RAG_ENOMEM)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    ids_unique(chunks);
    return rc;
}

/* FTS5 rows of chunks from their current state: 'delete' (del = 1) or insert. */
static int fts_rows(sqlite3 *db, const id_set *chunks, int del, rag_err *err)
{
    sqlite3_stmt *st;
    int rc = RAG_OK;
    const char *sql =
        del ? "INSERT INTO chunks_fts(chunks_fts, rowid, text, section, title)"
              " SELECT 'delete', id, text, section, title FROM chunks_content WHERE id = ?1"
            : "INSERT INTO chunks_fts(rowid, text, section, title)"
              " SELECT id, text, section, title FROM chunks_content WHERE id = ?1";
    if (!chunks->n)
        return RAG_OK;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "FTS5: %s", sqlite3_errmsg(db));
    for (size_t i = 0; rc == RAG_OK && i < chunks->n; i++) {
        sqlite3_bind_int64(st, 1, chunks->v[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = rag_fail(err, RAG_EIO, "FTS5: chunk %lld: %s", (long long)chunks->v[i],
                          sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    return rc;
}

typedef struct {
    int conflict;          /* a conflict that needs a full copy */
    char what[160];
} apply_ctx;

static int on_conflict(void *arg, int kind, sqlite3_changeset_iter *it)
{
    apply_ctx *a = arg;
    const char *tab;
    int n_col, op, indirect;
    sqlite3_value *k = NULL;

    sqlite3changeset_op(it, &tab, &n_col, &op, &indirect);
    if (!strcmp(tab, "meta")) {
        if (op == SQLITE_INSERT)
            sqlite3changeset_new(it, 0, &k);
        else
            sqlite3changeset_old(it, 0, &k);
        if (k && local_key((const char *)sqlite3_value_text(k), (size_t)sqlite3_value_bytes(k)))
            return SQLITE_CHANGESET_OMIT;
        if (kind == SQLITE_CHANGESET_DATA || kind == SQLITE_CHANGESET_CONFLICT)
            return SQLITE_CHANGESET_REPLACE;   /* the store of record's value wins */
    }
    if (kind == SQLITE_CHANGESET_NOTFOUND && op == SQLITE_DELETE)
        return SQLITE_CHANGESET_OMIT;          /* gone already */
    a->conflict = 1;
    snprintf(a->what, sizeof a->what, "%s %s of a row in %s",
             kind == SQLITE_CHANGESET_DATA       ? "a conflicting"
             : kind == SQLITE_CHANGESET_NOTFOUND ? "a missing row for the"
             : kind == SQLITE_CHANGESET_CONFLICT ? "a duplicate key for the"
                                                 : "a constraint failing on the",
             op == SQLITE_INSERT ? "insert" : op == SQLITE_DELETE ? "delete" : "update", tab);
    return SQLITE_CHANGESET_ABORT;
}

/* Apply change seq (its changeset cs) to db inside its open transaction,
 * with pg_applied_seq and change_seq. *conflict: the copy differs from
 * what the change was made on (a full copy is needed; nothing applied). */
static int apply_one(sqlite3 *db, int64_t seq, const void *cs, size_t n_cs, int *conflict,
                     rag_err *err)
{
    id_set chunks = {0};
    apply_ctx a = {0};
    int vectors = 0, trig = 1, rc;

    *conflict = 0;
    if (n_cs > INT32_MAX)
        return rag_fail(err, RAG_ELIMIT, "change %lld: changeset too large", (long long)seq);
    if ((rc = db_exec(db, "follow", "SAVEPOINT replica_apply", err)) < 0)
        return rc;
    rc = touched_chunks(db, cs, (int)n_cs, &chunks, &vectors, err);
    if (rc == RAG_EFORMAT) {
        *conflict = 1;
        rag_err_prefix(err, "%s: change %lld", sqlite3_db_filename(db, "main"), (long long)seq);
    }
    if (rc == RAG_OK)
        rc = fts_rows(db, &chunks, 1, err);
    if (rc == RAG_OK) {
        int sr;
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &trig);
        sr = sqlite3changeset_apply(db, (int)n_cs, (void *)cs, NULL, on_conflict, &a);
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 1, &trig);
        if (a.conflict) {
            *conflict = 1;
            rc = rag_fail(err, RAG_EFORMAT, "%s: change %lld: %s",
                          sqlite3_db_filename(db, "main"), (long long)seq, a.what);
        } else if (sr != SQLITE_OK) {
            /* a damaged changeset, or one that does not fit this copy: copy whole */
            *conflict = 1;
            rc = rag_fail(err, RAG_EFORMAT, "%s: change %lld cannot be applied: %s",
                          sqlite3_db_filename(db, "main"), (long long)seq, sqlite3_errstr(sr));
        }
    }
    if (rc == RAG_OK) {
        /* chunks of the documents as they are now */
        int v2;
        rc = touched_chunks(db, cs, (int)n_cs, &chunks, &v2, err);
    }
    if (rc == RAG_OK)
        rc = fts_rows(db, &chunks, 0, err);
    if (rc == RAG_OK && vectors)
        rc = db_exec(db, "follow", "DELETE FROM vectors_int8", err);
    if (rc == RAG_OK)
        rc = fix_docno_sequence(db, err);
    if (rc == RAG_OK)
        rc = meta_put_i64(db, "pg_applied_seq", seq, err);
    if (rc == RAG_OK)
        rc = bump_change_seq(db, err);
    if (rc == RAG_OK)
        rc = db_exec(db, "follow", "RELEASE replica_apply", err);
    else {
        sqlite3_exec(db, "ROLLBACK TO replica_apply", NULL, NULL, NULL);
        sqlite3_exec(db, "RELEASE replica_apply", NULL, NULL, NULL);
    }
    rag_free(chunks.v);
    return rc;
}

int rag_replica_apply_changeset(struct rag_index *ix, int64_t seq, const void *cs, size_t n,
                                rag_err *err)
{
    sqlite3 *db = rag_index_db(ix);
    int conflict = 0, rc;
    if (rag_index_in_tx(ix))
        return rag_fail(err, RAG_EINVAL, "%s: a changeset applied inside a transaction",
                        rag_index_path(ix));
    if ((rc = db_exec(db, "apply", "BEGIN IMMEDIATE", err)) < 0)
        return rc;
    rc = apply_one(db, seq, cs, n, &conflict, err);
    if (rc == RAG_OK)
        rc = db_exec(db, "apply", "COMMIT", err);
    if (rc < 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return conflict ? 1 : rc;
}

/* Apply the changes logged after the copy's pg_applied_seq, read on pg.
 * in_tx: db is inside the caller's write transaction (the writer's
 * catch-up); else each change is a transaction of its own, and BUSY (the
 * writer holds the file) ends the round quietly. *need_full: a change
 * without a changeset, or a conflict. Returns the number applied. */
static int apply_pending(rag_replica *r, rag_pg *pg, sqlite3 *db, int in_tx, int *need_full,
                         rag_err *err)
{
    rag_pg_change *ch = rag_malloc(CHANGES_BATCH * sizeof *ch);
    int n_applied = 0, rc = RAG_OK;

    *need_full = 0;
    if (!ch)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    for (;;) {
        int64_t applied = meta_i64(db, "pg_applied_seq");
        size_t n = 0;
        rc = rag_pg_changes_since(pg, applied, ch, CHANGES_BATCH, &n, err);
        if (rc < 0 || n == 0)
            break;
        for (size_t i = 0; i < n && rc == RAG_OK; i++) {
            unsigned char *cs = NULL;
            size_t n_cs = 0;
            int conflict = 0;
            if (ch[i].n_changeset < 0) {
                *need_full = 1;
                rag_log(RAG_LOG_INFO, "%s: change %lld of %s has no changeset: full copy",
                        r->mirror, (long long)ch[i].seq, r->endpoint);
                break;
            }
            if ((rc = rag_pg_change_changeset(pg, ch[i].seq, &cs, &n_cs, err)) < 0)
                break;
            if (rc == 0) {
                *need_full = 1;
                rc = RAG_OK;
                break;
            }
            rc = RAG_OK;
            if (!in_tx) {
                int b = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
                if ((b & 0xff) == SQLITE_BUSY) {
                    rag_free(cs);
                    goto out;   /* the writer has the file: next round */
                }
                if (b != SQLITE_OK) {
                    rc = rag_fail(err, RAG_EIO, "%s: %s", r->mirror, sqlite3_errmsg(db));
                    rag_free(cs);
                    break;
                }
                if (meta_i64(db, "pg_applied_seq") >= ch[i].seq) {
                    /* the writer applied it meanwhile */
                    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
                    rag_free(cs);
                    continue;
                }
            }
            rc = apply_one(db, ch[i].seq, cs, n_cs, &conflict, err);
            rag_free(cs);
            if (!in_tx) {
                if (rc == RAG_OK)
                    rc = db_exec(db, "follow", "COMMIT", err);
                if (rc < 0)
                    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            }
            if (conflict) {
                rag_log(RAG_LOG_WARN, "%s: full copy: %s", r->mirror, err ? err->msg : "");
                *need_full = 1;
                rc = RAG_OK;
                break;
            }
            if (rc == RAG_OK) {
                n_applied++;
                pthread_mutex_lock(&r->mu);
                if (ch[i].seq > r->st.applied_seq)   /* the writer may be ahead already */
                    r->st.applied_seq = ch[i].seq;
                if (ch[i].seq > r->st.head_seq)
                    r->st.head_seq = ch[i].seq;
                r->st.n_applied++;
                pthread_mutex_unlock(&r->mu);
            }
        }
        if (rc < 0 || *need_full || n < CHANGES_BATCH)
            break;
    }
out:
    rag_free(ch);
    return rc < 0 ? rc : n_applied;
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
        if ((rc = open_follower_ix(r, err)) < 0)
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
        rc = apply_pending(r, r->fpg, rag_index_db(r->fix), 0, &need_full, err);
        if (rc < 0)
            return rc;
        pthread_mutex_lock(&r->mu);
        r->st.applied_seq = meta_i64(rag_index_db(r->fix), "pg_applied_seq");
        pthread_mutex_unlock(&r->mu);
    }
    if (need_full)
        return full_copy(r, 0, err);
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
    if ((rc = pg_store_id(r->fpg, r->store_id, sizeof r->store_id, err)) < 0)
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
    if (get_need_full(r)) {
        n = full_copy(r, 1, err);
        return n < 0 ? n : 1;
    }
    n = apply_pending(r, r->fpg, rag_index_db(r->fix), 0, &need_full, err);
    if (n < 0)
        return n;
    if (need_full) {
        int rc = full_copy(r, 1, err);
        if (rc < 0) {
            set_need_full(r, 1);
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
        set_state_err(r, n, err);
    else
        set_reachable(r);
    return n;
}

/* ---- write-through ------------------------------------------------------------- */

/* The SQL value of v as a statement parameter; num: scratch for numbers. */
static void value_param(sqlite3_value *v, rag_pg_param *p, char num[32])
{
    switch (v ? sqlite3_value_type(v) : SQLITE_NULL) {
    case SQLITE_INTEGER:
        snprintf(num, 32, "%lld", (long long)sqlite3_value_int64(v));
        *p = (rag_pg_param){num, 0, 0};
        break;
    case SQLITE_FLOAT:
        snprintf(num, 32, "%.17g", sqlite3_value_double(v));
        *p = (rag_pg_param){num, 0, 0};
        break;
    case SQLITE_TEXT:
        *p = (rag_pg_param){sqlite3_value_text(v), 0, 0};
        break;
    case SQLITE_BLOB: {
        int n = sqlite3_value_bytes(v);
        const void *b = sqlite3_value_blob(v);
        *p = (rag_pg_param){n && b ? b : "", n, 1};
        break;
    }
    default:
        *p = (rag_pg_param){NULL, 0, 0};
        break;
    }
}

typedef struct {
    char kind[16];
    int64_t doc_id;
    char path[512];
    int seen[N_TABLES];
    int doc_insert, doc_delete;
} change_summary;

/* Column i of the row a change leaves (an update's unchanged columns:
 * their old values). */
static sqlite3_value *col_value(sqlite3_changeset_iter *it, int op, int i)
{
    sqlite3_value *v = NULL;
    if (op != SQLITE_DELETE)
        sqlite3changeset_new(it, i, &v);
    if (!v && op != SQLITE_INSERT)
        sqlite3changeset_old(it, i, &v);
    return v;
}

/* One UPDATE of table t to PostgreSQL (the changed columns). */
static int pg_update(rag_replica *r, const struct table *t, sqlite3_changeset_iter *it,
                     rag_err *err)
{
    rag_pg_param p[24];
    char num[24][32];
    rag_buf sql = RAG_BUF_INIT;
    rag_pg_res *res = NULL;
    int n_p = 0, n_set = 0, rc = RAG_OK;

    rc = rag_buf_printf(&sql, "UPDATE %s SET ", t->name);
    for (int i = t->n_pk; rc == RAG_OK && i < t->n_cols; i++) {
        sqlite3_value *v = NULL;
        sqlite3changeset_new(it, i, &v);
        if (!v)
            continue;   /* unchanged */
        value_param(v, &p[n_p], num[n_p]);
        n_p++;
        rc = rag_buf_printf(&sql, "%s%s = $%d", n_set++ ? ", " : "", t->cols[i], n_p);
    }
    if (rc == RAG_OK)
        rc = rag_buf_puts(&sql, " WHERE ");
    for (int i = 0; rc == RAG_OK && i < t->n_pk; i++) {
        sqlite3_value *v = NULL;
        sqlite3changeset_old(it, i, &v);
        value_param(v, &p[n_p], num[n_p]);
        n_p++;
        rc = rag_buf_printf(&sql, "%s%s = $%d", i ? " AND " : "", t->cols[i], n_p);
    }
    if (n_set == 0) {
        rag_buf_fini(&sql);
        return RAG_OK;
    }
    if (rc < 0) {
        rag_buf_fini(&sql);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    rc = rag_pg_exec(r->wpg, &res, sql.data, p, n_p, 0, err);
    if (rc < 0)
        rag_err_prefix(err, "write-through to %s", t->name);
    if (rc == RAG_OK && rag_pg_res_affected(res) != 1)
        rc = rag_fail(err, RAG_EBACKEND,
                      "%s: write-through: the row updated in %s is not in PostgreSQL (the "
                      "copy was not at the store's state)",
                      r->endpoint, t->name);
    rag_pg_res_destroy(res);
    rag_buf_fini(&sql);
    return rc;
}

/* ---- batched statements: many rows of one table in one round trip ---- */

#define BATCH_MAX_PARAMS 20000
#define BATCH_MAX_BYTES (8u << 20)

typedef struct {
    rag_replica *r;
    const struct table *t;
    int deletes;           /* DELETE ... WHERE key IN (...); else an upsert */
    rag_pg_param *p;       /* BATCH_MAX_PARAMS */
    int n_p, n_rows;
    size_t n_bytes;
    rag_arena *a;          /* the values: an iterator's are gone at its next row */
} batch;

static int batch_init(batch *b, rag_replica *r, rag_err *err)
{
    memset(b, 0, sizeof *b);
    b->r = r;
    b->p = rag_malloc(BATCH_MAX_PARAMS * sizeof *b->p);
    b->a = rag_arena_create(1 << 16);
    if (!b->p || !b->a) {
        rag_free(b->p);
        rag_arena_destroy(b->a);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    return RAG_OK;
}

static void batch_fini(batch *b)
{
    rag_free(b->p);
    rag_arena_destroy(b->a);
}

/* Append v as the next parameter, copied into the arena. */
static int batch_value(batch *b, sqlite3_value *v)
{
    char num[32];
    rag_pg_param *p = &b->p[b->n_p++];
    const void *src = NULL;
    size_t n = 0;
    int binary = 0;
    char *copy;

    switch (v ? sqlite3_value_type(v) : SQLITE_NULL) {
    case SQLITE_INTEGER:
        n = (size_t)snprintf(num, sizeof num, "%lld", (long long)sqlite3_value_int64(v));
        src = num;
        break;
    case SQLITE_FLOAT:
        n = (size_t)snprintf(num, sizeof num, "%.17g", sqlite3_value_double(v));
        src = num;
        break;
    case SQLITE_TEXT:
        src = sqlite3_value_text(v);
        n = (size_t)sqlite3_value_bytes(v);
        break;
    case SQLITE_BLOB:
        src = sqlite3_value_blob(v);
        n = (size_t)sqlite3_value_bytes(v);
        binary = 1;
        break;
    default:
        *p = (rag_pg_param){NULL, 0, 0};
        return RAG_OK;
    }
    if (!(copy = rag_arena_alloc(b->a, n + 1)))
        return RAG_ENOMEM;
    if (n)
        memcpy(copy, src, n);
    copy[n] = '\0';
    b->n_bytes += n + 1;
    *p = (rag_pg_param){copy, (int)n, binary};
    return RAG_OK;
}

static int batch_flush(batch *b, rag_err *err)
{
    const struct table *t = b->t;
    rag_buf sql = RAG_BUF_INIT;
    int rc = RAG_OK, k = 0;

    if (b->n_rows == 0)
        return RAG_OK;
    if (b->deletes) {
        rc = rag_buf_printf(&sql, "DELETE FROM %s WHERE (", t->name);
        for (int i = 0; rc == RAG_OK && i < t->n_pk; i++)
            rc = rag_buf_printf(&sql, "%s%s", i ? ", " : "", t->cols[i]);
        if (rc == RAG_OK)
            rc = rag_buf_puts(&sql, ") IN (");
        for (int row = 0; rc == RAG_OK && row < b->n_rows; row++) {
            rc = rag_buf_puts(&sql, row ? ", (" : "(");
            for (int i = 0; rc == RAG_OK && i < t->n_pk; i++)
                rc = rag_buf_printf(&sql, "%s$%d", i ? ", " : "", ++k);
            if (rc == RAG_OK)
                rc = rag_buf_putc(&sql, ')');
        }
        if (rc == RAG_OK)
            rc = rag_buf_putc(&sql, ')');
    } else {
        rc = rag_buf_printf(&sql, "INSERT INTO %s(", t->name);
        for (int i = 0; rc == RAG_OK && i < t->n_cols; i++)
            rc = rag_buf_printf(&sql, "%s%s", i ? ", " : "", t->cols[i]);
        if (rc == RAG_OK)
            rc = rag_buf_puts(&sql, ") VALUES ");
        for (int row = 0; rc == RAG_OK && row < b->n_rows; row++) {
            rc = rag_buf_puts(&sql, row ? ", (" : "(");
            for (int i = 0; rc == RAG_OK && i < t->n_cols; i++)
                rc = rag_buf_printf(&sql, "%s$%d", i ? ", " : "", ++k);
            if (rc == RAG_OK)
                rc = rag_buf_putc(&sql, ')');
        }
        if (rc == RAG_OK)
            rc = rag_buf_puts(&sql, " ON CONFLICT (");
        for (int i = 0; rc == RAG_OK && i < t->n_pk; i++)
            rc = rag_buf_printf(&sql, "%s%s", i ? ", " : "", t->cols[i]);
        if (rc == RAG_OK)
            rc = rag_buf_puts(&sql, t->n_pk == t->n_cols ? ") DO NOTHING" : ") DO UPDATE SET ");
        for (int i = t->n_pk; rc == RAG_OK && i < t->n_cols; i++)
            rc = rag_buf_printf(&sql, "%s%s = excluded.%s", i > t->n_pk ? ", " : "", t->cols[i],
                                t->cols[i]);
    }
    if (rc < 0)
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    else if ((rc = rag_pg_exec(b->r->wpg, NULL, sql.data, b->p, b->n_p, 0, err)) < 0)
        rag_err_prefix(err, "write-through to %s (%d rows)", t->name, b->n_rows);
    rag_buf_fini(&sql);
    b->n_p = b->n_rows = 0;
    b->n_bytes = 0;
    rag_arena_destroy(b->a);
    b->a = rag_arena_create(1 << 16);
    if (rc == RAG_OK && !b->a)
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
    return rc;
}

/* Add the row of change it (op) to the batch of table t. */
static int batch_add(batch *b, const struct table *t, int deletes, sqlite3_changeset_iter *it,
                     int op, rag_err *err)
{
    int n = deletes ? t->n_pk : t->n_cols, rc = RAG_OK;
    if (b->t != t || b->deletes != deletes || b->n_p + n > BATCH_MAX_PARAMS ||
        b->n_bytes > BATCH_MAX_BYTES) {
        if ((rc = batch_flush(b, err)) < 0)
            return rc;
        b->t = t;
        b->deletes = deletes;
    }
    for (int i = 0; rc == RAG_OK && i < n; i++)
        rc = batch_value(b, col_value(it, op, i));
    if (rc < 0)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    b->n_rows++;
    return RAG_OK;
}

/* Apply changeset cs to the PostgreSQL tables (inside the open
 * transaction of wpg): deletes in reverse table order, then inserts and
 * updates in table order (foreign keys). Fills *sum. */
static int pg_apply(rag_replica *r, const void *cs, int n_cs, change_summary *sum, rag_err *err)
{
    batch b;
    int rc = batch_init(&b, r, err);
    memset(sum, 0, sizeof *sum);
    if (rc < 0)
        return rc;
    for (int pass = 0; pass < 2 * (int)N_TABLES && rc == RAG_OK; pass++) {
        int deletes = pass < (int)N_TABLES;
        size_t ti = deletes ? N_TABLES - 1 - (size_t)pass : (size_t)pass - N_TABLES;
        const struct table *t = &tables[ti];
        sqlite3_changeset_iter *it;
        if (sqlite3changeset_start(&it, n_cs, (void *)cs) != SQLITE_OK)
            return rag_fail(err, RAG_EFORMAT, "%s: damaged changeset", r->mirror);
        while (rc == RAG_OK && sqlite3changeset_next(it) == SQLITE_ROW) {
            const char *tab;
            int n_col, op, indirect;
            sqlite3_value *k = NULL;
            sqlite3changeset_op(it, &tab, &n_col, &op, &indirect);
            if (strcmp(tab, t->name) || (op == SQLITE_DELETE) != deletes)
                continue;
            if (n_col != t->n_cols) {
                rc = rag_fail(err, RAG_EFORMAT, "%s: %s has %d columns, expected %d",
                              r->mirror, tab, n_col, t->n_cols);
                break;
            }
            if (ti == T_META) {
                if (op == SQLITE_INSERT)
                    sqlite3changeset_new(it, 0, &k);
                else
                    sqlite3changeset_old(it, 0, &k);
                if (k && local_key((const char *)sqlite3_value_text(k),
                                   (size_t)sqlite3_value_bytes(k)))
                    continue;
            }
            sum->seen[ti] = 1;
            if (ti == T_DOCUMENTS) {
                sqlite3_value *v = NULL;
                if (op == SQLITE_DELETE) {
                    sum->doc_delete = 1;
                    sqlite3changeset_old(it, 1, &v);
                } else {
                    sum->doc_insert = 1;
                    sqlite3changeset_new(it, 1, &v);
                    if (!v)
                        sqlite3changeset_old(it, 1, &v);
                }
                if (v && sqlite3_value_type(v) == SQLITE_TEXT &&
                    (!sum->path[0] || op != SQLITE_DELETE))
                    snprintf(sum->path, sizeof sum->path, "%s", sqlite3_value_text(v));
                v = NULL;
                if (op == SQLITE_DELETE)
                    sqlite3changeset_old(it, 0, &v);
                else if (sqlite3changeset_new(it, 0, &v) != SQLITE_OK || !v)
                    sqlite3changeset_old(it, 0, &v);
                if (v && (!sum->doc_id || op != SQLITE_DELETE))
                    sum->doc_id = sqlite3_value_int64(v);
            }
            if (op == SQLITE_UPDATE && ti != T_META) {
                /* rare (a document id reused): its own statement, in order */
                if ((rc = batch_flush(&b, err)) == RAG_OK)
                    rc = pg_update(r, t, it, err);
            } else {
                rc = batch_add(&b, t, deletes, it, op, err);
            }
        }
        sqlite3changeset_finalize(it);
        if (rc == RAG_OK)
            rc = batch_flush(&b, err);
    }
    batch_fini(&b);
    snprintf(sum->kind, sizeof sum->kind, "%s",
             sum->doc_insert                 ? "put"
             : sum->doc_delete               ? "remove"
             : sum->seen[T_VECTORS]          ? "vectors"
             : sum->seen[T_GRAPH]            ? "graph"
             : sum->seen[T_POSTINGS] && !sum->seen[T_BM25_DOCS] ? "optimize"
                                             : "meta");
    return rc;
}

static int hook_begin(void *ctx, rag_index *ix, rag_err *err)
{
    rag_replica *r = ctx;
    sqlite3 *db = rag_index_db(ix);
    int need_full = 0, rc;

    if (get_need_full(r))
        return rag_fail(err, RAG_EIO,
                        "%s: the local copy of %s needs a full copy first (the follower makes "
                        "it); nothing written",
                        r->mirror, r->endpoint);
    if ((rc = rag_pg_begin(r->wpg, err)) < 0)
        goto fail;
    /* the change-log lock, to COMMIT: one writer across every replica, and
     * no change logged by anyone while this one writes */
    rc = rag_pg_exec_sql(r->wpg, "SELECT pg_advisory_xact_lock(" RAG_PG_CHANGES_LOCK ")", err);
    if (rc == RAG_OK)
        rc = apply_pending(r, r->wpg, db, 1, &need_full, err);
    if (rc >= 0 && need_full) {
        set_need_full(r, 1);
        rc = rag_fail(err, RAG_EIO,
                      "%s: the local copy of %s is behind a change it cannot replay: it needs a "
                      "full copy (the follower makes it); nothing written",
                      r->mirror, r->endpoint);
    }
    if (rc >= 0) {
        rc = sqlite3session_create(db, "main", &r->sess) == SQLITE_OK ? RAG_OK : RAG_ENOMEM;
        for (size_t i = 0; rc == RAG_OK && i < N_TABLES; i++)
            if (sqlite3session_attach(r->sess, tables[i].name) != SQLITE_OK)
                rc = RAG_EIO;
        if (rc < 0)
            rc = rag_fail(err, rc, "%s: cannot record the changes (session): %s", r->mirror,
                          sqlite3_errmsg(db));
    }
    if (rc >= 0)
        return RAG_OK;
fail:
    if (r->sess) {
        sqlite3session_delete(r->sess);
        r->sess = NULL;
    }
    rag_pg_rollback(r->wpg);
    set_state_err(r, rc, err);
    return rc;
}

static int hook_precommit(void *ctx, rag_index *ix, rag_err *err)
{
    rag_replica *r = ctx;
    sqlite3 *db = rag_index_db(ix);
    void *cs = NULL;
    int n_cs = 0, rc;
    int64_t seq = 0;

    if (!r->sess)
        return rag_fail(err, RAG_EINVAL, "%s: commit without a recorded begin", r->mirror);
    rc = sqlite3session_changeset(r->sess, &n_cs, &cs) == SQLITE_OK
             ? RAG_OK
             : rag_fail(err, RAG_ENOMEM, "%s: cannot take the changes (session)", r->mirror);
    sqlite3session_delete(r->sess);
    r->sess = NULL;
    if (rc == RAG_OK && n_cs > 0) {
        change_summary sum;
        rc = pg_apply(r, cs, n_cs, &sum, err);
        if (rc == RAG_OK)
            rc = rag_pg_change_log_cs(r->wpg, sum.kind, sum.doc_id, sum.path, cs, (size_t)n_cs,
                                      &seq, err);
    }
    for (size_t i = 0; rc == RAG_OK && i < r->n_jobs; i++)
        rc = rag_pg_job_complete(r->wpg, r->jobs[i].id, r->jobs[i].owner, err);
    if (rc == RAG_OK && seq)
        rc = meta_put_i64(db, "pg_applied_seq", seq, err);
    if (rc == RAG_OK)
        rc = rag_pg_commit(r->wpg, err);
    else
        rag_pg_rollback(r->wpg);
    sqlite3_free(cs);
    r->n_jobs = 0;
    if (rc < 0) {
        set_state_err(r, rc, err);
        return rc;
    }
    r->pending_seq = seq;
    return RAG_OK;
}

static void hook_end(void *ctx, rag_index *ix, int committed)
{
    rag_replica *r = ctx;
    (void)ix;
    if (r->sess) {
        sqlite3session_delete(r->sess);
        r->sess = NULL;
    }
    rag_pg_rollback(r->wpg);   /* no-op when committed or gone */
    r->n_jobs = 0;
    if (committed && r->pending_seq) {
        pthread_mutex_lock(&r->mu);
        if (r->pending_seq > r->st.applied_seq)
            r->st.applied_seq = r->pending_seq;
        if (r->pending_seq > r->st.head_seq)
            r->st.head_seq = r->pending_seq;
        r->st.reachable = 1;
        r->st.error[0] = '\0';
        pthread_mutex_unlock(&r->mu);
    }
    r->pending_seq = 0;
}

static void hook_detach(void *ctx, rag_index *ix)
{
    rag_replica *r = ctx;
    if (r->wix == ix)
        r->wix = NULL;
}

static const rag_index_tx_hooks write_through = {
    .begin = hook_begin,
    .precommit = hook_precommit,
    .end = hook_end,
    .detach = hook_detach,
};

int rag_replica_attach(rag_replica *r, struct rag_index *ix, rag_err *err)
{
    int rc;
    if (r->read_only)
        return rag_fail(err, RAG_EINVAL, "%s: a read-only replica has no writer", r->endpoint);
    if (!ix)
        return rag_fail(err, RAG_EINVAL, "%s: no index to attach", r->endpoint);
    if (r->wix && r->wix != ix)
        return rag_fail(err, RAG_EINVAL, "%s: a writer is attached already", r->endpoint);
    if (strcmp(rag_index_path(ix), r->mirror))
        return rag_fail(err, RAG_EINVAL, "%s: the writer is open on %s, not on the local copy %s",
                        r->endpoint, rag_index_path(ix), r->mirror);
    if (!r->wpg && (rc = rag_pg_open(&r->wpg, r->url, &r->opts, err)) < 0)
        return rc;
    if ((rc = rag_index_set_tx_hooks(ix, &write_through, r, err)) < 0)
        return rc;
    r->wix = ix;
    return RAG_OK;
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

int rag_replica_job_claim(rag_replica *r, const char *owner, int lease_ms, rag_replica_job *job,
                          rag_err *err)
{
    rag_pg_job pj;
    int rc = jobs_conn(r, err);
    memset(job, 0, sizeof *job);
    if (rc < 0)
        return rc;
    rc = rag_pg_job_claim(r->jpg, owner, lease_ms, &pj, err);
    if (rc == 1) {
        job->id = pj.id;
        snprintf(job->key, sizeof job->key, "%s", pj.key);
        job->payload = pj.payload;
        job->n_payload = pj.n_payload;
        job->attempts = pj.attempts;
    }
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
        rc = db_exec(db, "verify", "BEGIN DEFERRED; SELECT count(*) FROM meta;", err);
    for (size_t i = 0; rc == RAG_OK && i < N_TABLES; i++) {
        const struct table *t = &tables[i];
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
