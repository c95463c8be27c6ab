/* replica_copy.c - the replica's full copy of the store and the changesets
 * applied to the copy (replica_int.h; the design: replica.c). */
#include "replica_int.h"

#include "index/store_sqlite.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* ---- PostgreSQL helpers --------------------------------------------------------- */

int rep_pg_store_id(rag_pg *pg, char *out, size_t n_out, rag_err *err)
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
            if (t == &rep_tables[T_META]) {
                const char *k = rag_pg_res_get(res, row, 0);
                skip = rep_local_key(k, rag_pg_res_len(res, row, 0));
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
        rc = rep_pg_store_id(r->fpg, store_id, sizeof store_id, err);
    if (rc == RAG_OK) {
        sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, &trig);
        rc = rep_db_exec(db, "full copy", "BEGIN IMMEDIATE", err);
    }
    for (size_t i = 0; rc == RAG_OK && i < N_TABLES; i++)
        rc = copy_table(r->fpg, db, &rep_tables[i], err);
    rag_pg_rollback(r->fpg);   /* a read-only snapshot: nothing to commit */
    if (rc == RAG_OK)
        rc = rep_db_exec(db, "full copy: FTS5", "INSERT INTO chunks_fts(chunks_fts) VALUES('rebuild')",
                     err);
    if (rc == RAG_OK)
        rc = rep_fix_docno_sequence(db, err);
    if (rc == RAG_OK)
        rc = rep_meta_put(db, "pg_store_id", store_id, err);
    if (rc == RAG_OK)
        rc = rep_meta_put_i64(db, "pg_applied_seq", *head, err);
    if (rc == RAG_OK)
        rc = rep_meta_put_i64(db, "change_seq", old_change_seq + 1, err);
    if (rc == RAG_OK)
        rc = rep_db_exec(db, "full copy", "COMMIT", err);
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

int rep_open_follower_ix(rag_replica *r, rag_err *err)
{
    int rc = rag_index_open(&r->fix, r->mirror, 0, err);
    if (rc == RAG_OK)
        sqlite3_busy_timeout(rag_index_db(r->fix), FOLLOWER_BUSY_MS);
    return rc;
}

/* Copy the store whole. live = 0 (open): renamed over the mirror, which
 * nobody has open; live = 1: copied into the open mirror (backup API). */
int rep_full_copy(rag_replica *r, int live, rag_err *err)
{
    char *tmp = rag_asprintf("%s.new", r->mirror);
    int64_t head = 0, old_seq = 0;
    double t0 = rag_now_ms();
    int rc;

    if (!tmp)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    if (r->fix)
        old_seq = rep_meta_i64(rag_index_db(r->fix), "change_seq");
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
            rc = rep_open_follower_ix(r, err);
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

/* ---- the changeset's own structure, checked before SQLite reads it ----
 *
 * A changeset comes from the store's log, i.e. from outside this process,
 * and SQLite 3.40's iterator can spin on some malformed ones (a table
 * header that claims more columns than the bytes hold: fuzz_changeset).
 * So its format is walked here first (sqlite.org/sessionintro, "changeset
 * format"): table headers 'T', nCol, one primary-key byte per column (the
 * key's ordinal, 0 for others), the name and a NUL; then records: the op
 * (INSERT 18, UPDATE 23, DELETE 9), the indirect flag, and the old and/or
 * new values, each a type byte (0 undefined, 1 integer and 2 real of 8
 * bytes, 3 text and 4 blob with a varint length, 5 NULL) and its bytes.
 * Tables must be replicated ones with their own columns and key. */

typedef struct {
    const unsigned char *p, *end;
} cs_reader;

/* SQLite's varint (big-endian 7-bit groups, up to 9 bytes) as a length. */
static int cs_len(cs_reader *r, uint64_t *out)
{
    uint64_t v = 0;
    for (int i = 0; i < 9; i++) {
        if (r->p >= r->end)
            return -1;
        unsigned char b = *r->p++;
        if (i == 8) {
            v = (v << 8) | b;
            break;
        }
        v = (v << 7) | (b & 0x7f);
        if (!(b & 0x80))
            break;
    }
    *out = v;
    return 0;
}

static int cs_value(cs_reader *r, int undefined_ok)
{
    uint64_t n;
    if (r->p >= r->end)
        return -1;
    switch (*r->p++) {
    case 0:
        return undefined_ok ? 0 : -1;
    case 1:
    case 2:
        if (r->end - r->p < 8)
            return -1;
        r->p += 8;
        return 0;
    case 3:
    case 4:
        if (cs_len(r, &n) < 0 || n > (uint64_t)(r->end - r->p))
            return -1;
        r->p += n;
        return 0;
    case 5:
        return 0;
    default:
        return -1;
    }
}

/* NULL when cs is well formed, else what is wrong (static text). */
static const char *changeset_damage(const void *cs, size_t n)
{
    cs_reader r = {cs, (const unsigned char *)cs + n};
    const struct table *t = NULL;

    while (r.p < r.end) {
        unsigned char op = *r.p++;
        if (op == 'T') {
            uint64_t n_col;
            const unsigned char *name;
            t = NULL;
            if (cs_len(&r, &n_col) < 0 || n_col == 0 || n_col > (uint64_t)(r.end - r.p))
                return "a table header with a bad column count";
            for (uint64_t i = 0; i < n_col; i++)
                if (r.p[i] > n_col)
                    return "a table header with a bad key";
            name = r.p + n_col;
            const unsigned char *nul = memchr(name, 0, (size_t)(r.end - name));
            if (!nul)
                return "a table name without its end";
            for (size_t k = 0; k < N_TABLES && !t; k++)
                if (strlen(rep_tables[k].name) == (size_t)(nul - name) &&
                    !memcmp(rep_tables[k].name, name, (size_t)(nul - name)))
                    t = &rep_tables[k];
            if (!t)
                return "a table that is not replicated";
            if (n_col != (uint64_t)t->n_cols)
                return "a table with other columns than the copy's";
            for (int i = 0; i < t->n_cols; i++)
                if (r.p[i] != (i < t->n_pk ? i + 1 : 0))
                    return "a table with another primary key than the copy's";
            r.p = nul + 1;
            continue;
        }
        if (!t)
            return "a record before any table header";
        if (op != SQLITE_INSERT && op != SQLITE_UPDATE && op != SQLITE_DELETE)
            return "a record with an unknown operation";
        if (r.p >= r.end || *r.p > 1)
            return "a record with a bad indirect flag";
        r.p++;
        for (int rec = 0; rec < (op == SQLITE_UPDATE ? 2 : 1); rec++)
            for (int i = 0; i < t->n_cols; i++)
                if (cs_value(&r, op == SQLITE_UPDATE) < 0)
                    return "a record with a value cut short or of an unknown type";
    }
    return NULL;
}

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
        if (k && rep_local_key((const char *)sqlite3_value_text(k), (size_t)sqlite3_value_bytes(k)))
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
    {
        const char *why = changeset_damage(cs, n_cs);
        if (why) {
            *conflict = 1;
            return rag_fail(err, RAG_EFORMAT, "%s: change %lld: damaged changeset (%s)",
                            sqlite3_db_filename(db, "main"), (long long)seq, why);
        }
    }
    if ((rc = rep_db_exec(db, "follow", "SAVEPOINT replica_apply", err)) < 0)
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
        rc = rep_db_exec(db, "follow", "DELETE FROM vectors_int8", err);
    if (rc == RAG_OK)
        rc = rep_fix_docno_sequence(db, err);
    if (rc == RAG_OK)
        rc = rep_meta_put_i64(db, "pg_applied_seq", seq, err);
    if (rc == RAG_OK)
        rc = rep_bump_change_seq(db, err);
    if (rc == RAG_OK)
        rc = rep_db_exec(db, "follow", "RELEASE replica_apply", err);
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
    if ((rc = rep_db_exec(db, "apply", "BEGIN IMMEDIATE", err)) < 0)
        return rc;
    rc = apply_one(db, seq, cs, n, &conflict, err);
    if (rc == RAG_OK)
        rc = rep_db_exec(db, "apply", "COMMIT", err);
    if (rc < 0)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return conflict ? 1 : rc;
}

/* Apply the changes logged after the copy's pg_applied_seq, read on pg.
 * in_tx: db is inside the caller's write transaction (the writer's
 * catch-up); else each change is a transaction of its own, and BUSY (the
 * writer holds the file) ends the round quietly. *need_full: a change
 * without a changeset, or a conflict. Returns the number applied. */
int rep_apply_pending(rag_replica *r, rag_pg *pg, sqlite3 *db, int in_tx, int *need_full,
                         rag_err *err)
{
    rag_pg_change *ch = rag_malloc(CHANGES_BATCH * sizeof *ch);
    int n_applied = 0, rc = RAG_OK;

    *need_full = 0;
    if (!ch)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    for (;;) {
        int64_t applied = rep_meta_i64(db, "pg_applied_seq");
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
                if (rep_meta_i64(db, "pg_applied_seq") >= ch[i].seq) {
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
                    rc = rep_db_exec(db, "follow", "COMMIT", err);
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

