/* index_store.c - the SQLite file: schema, documents, pages, chunks.
 *
 * chunks_fts is an external-content FTS5 table over the view
 * chunks_content (chunk text + section + document title), kept in step by
 * triggers on chunks. Deleting a document deletes its chunks first, while
 * the document row (and so the title the trigger must repeat to FTS5's
 * 'delete') still exists; there is no ON DELETE CASCADE for that reason.
 */
#include "index.h"

#include "bm25_index.h"
#include "fts5.h"
#include "store_sqlite.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* How long an opener or writer waits for another connection's lock. */
#define BUSY_TIMEOUT_MS 10000

struct rag_index {
    sqlite3 *db;
    char *path;
    int immutable;         /* read-only storage, read with immutable=1 */
    int in_tx;
    int n_read;            /* nesting depth of rag_index_read_begin */
    rag_analyzer *an;      /* BM25 analysis of chunks and queries */
    bm25_writer *bw;       /* pending postings; NULL when read-only */
    rag_store *store;      /* the storage interface over db (store_sqlite.c) */
    int seq_bumped;        /* the open transaction advanced meta change_seq */
    double *bm25_acc;      /* rag_index_bm25_scratch: n_scratch scores, all 0 */
    uint32_t *bm25_touched;
    size_t n_scratch;
    void *bm25_post;       /* rag_index_bm25_postbuf */
    size_t n_post_bytes;
    const rag_index_tx_hooks *hooks;   /* borrowed; NULL: none (rag_index_set_tx_hooks) */
    void *hooks_ctx;
    int hooked_tx;         /* the open transaction's begin hook succeeded */
};

/* ---- schema: numbered steps -----------------------------------------------
 *
 * migrations[i] takes a database at version i to version i + 1 (version 0
 * is an empty file). A writer applies the steps it lacks in one write
 * transaction at open, so an index made by an older docrag is upgraded in
 * place, all steps or none; a reader reads any version from 1 up (what it
 * reads is in every version; tables added later are looked for first).
 * A new step is appended, never edited: released files hold the old ones.
 */
static const char schema_v1_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS documents("
    "  id INTEGER PRIMARY KEY, path TEXT UNIQUE NOT NULL, sha256 TEXT NOT NULL,"
    "  mtime INTEGER, title TEXT NOT NULL DEFAULT '', kind TEXT, n_pages INTEGER,"
    "  n_bytes INTEGER, added_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS pages("
    "  doc_id INTEGER NOT NULL, page INTEGER NOT NULL, byte_start INTEGER,"
    "  byte_end INTEGER, PRIMARY KEY(doc_id, page)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS chunks("
    "  id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL, ord INTEGER NOT NULL,"
    "  page_start INTEGER, page_end INTEGER, section TEXT NOT NULL DEFAULT '',"
    "  byte_start INTEGER, byte_end INTEGER, n_tokens INTEGER, text TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ord);"
    "CREATE TABLE IF NOT EXISTS vectors("
    "  chunk_id INTEGER PRIMARY KEY, model TEXT NOT NULL, dim INTEGER NOT NULL,"
    "  data BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS embed_cache("
    "  model TEXT NOT NULL, content_sha256 TEXT NOT NULL, data BLOB NOT NULL,"
    "  PRIMARY KEY(model, content_sha256)) WITHOUT ROWID;"
    "CREATE VIEW IF NOT EXISTS chunks_content AS"
    "  SELECT c.id AS id, c.text AS text, c.section AS section, d.title AS title"
    "  FROM chunks c JOIN documents d ON d.id = c.doc_id;"
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5("
    "  text, section, title, content='chunks_content', content_rowid='id',"
    "  tokenize='docrag');"
    "CREATE TRIGGER IF NOT EXISTS chunks_ai AFTER INSERT ON chunks BEGIN"
    "  INSERT INTO chunks_fts(rowid, text, section, title) VALUES(new.id, new.text,"
    "    new.section, (SELECT title FROM documents WHERE id = new.doc_id));"
    "END;"
    "CREATE TRIGGER IF NOT EXISTS chunks_ad AFTER DELETE ON chunks BEGIN"
    "  INSERT INTO chunks_fts(chunks_fts, rowid, text, section, title)"
    "  VALUES('delete', old.id, old.text, old.section,"
    "    (SELECT title FROM documents WHERE id = old.doc_id));"
    "  DELETE FROM vectors WHERE chunk_id = old.id;"
    "END;"
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_vocab USING fts5vocab(chunks_fts, 'row');"
    "CREATE TABLE IF NOT EXISTS bm25_docs("
    "  docno INTEGER PRIMARY KEY AUTOINCREMENT, chunk_id INTEGER UNIQUE NOT NULL,"
    "  dl INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS bm25_postings("
    "  term TEXT NOT NULL, seg INTEGER NOT NULL, df INTEGER NOT NULL, data BLOB NOT NULL,"
    "  PRIMARY KEY(term, seg)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS bm25_deleted(docno INTEGER PRIMARY KEY);";

/* 2: documents get version, doc_date (what the document states, "" when
 * nothing) and meta_rev (the title/version extractor that filled the row;
 * 0 = before titles were extracted, so the indexer re-reads such a file
 * even though its sha256 is unchanged). */
static const char schema_v2_sql[] =
    "ALTER TABLE documents ADD COLUMN version TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE documents ADD COLUMN doc_date TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE documents ADD COLUMN meta_rev INTEGER NOT NULL DEFAULT 0;";

/* 3: usage rows and graph edges, which were created ad hoc by their
 * modules (usage.c at open, graph_build.c at the first build) before. */
static const char schema_v3_sql[] =
    "CREATE TABLE IF NOT EXISTS usage ("
    " backend TEXT NOT NULL, month TEXT NOT NULL,"
    " requests INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,"
    " retries INTEGER NOT NULL DEFAULT 0, fallbacks INTEGER NOT NULL DEFAULT 0,"
    " tokens_in INTEGER NOT NULL DEFAULT 0, tokens_out INTEGER NOT NULL DEFAULT 0,"
    " cost_usd REAL NOT NULL DEFAULT 0, errors_by_class TEXT, hist TEXT,"
    " PRIMARY KEY (backend, month));"
    "CREATE TABLE IF NOT EXISTS graph_edges(src INTEGER NOT NULL, dst INTEGER NOT NULL,"
    " w REAL NOT NULL, PRIMARY KEY(src, dst)) WITHOUT ROWID;";

/* 4: the int8 form of the vectors as the vector load computes it
 * (vector_index.h, "stored int8 copy"), one row per model, so a start
 * reads it instead of quantising every float row; any change of the
 * vectors table deletes it (the triggers: a writer of any version keeps it
 * honest), the embedding pass writes it again. vectors_model makes the
 * per-model counts an index scan instead of a walk over every blob. */
static const char schema_v4_sql[] =
    "CREATE INDEX IF NOT EXISTS vectors_model ON vectors(model, dim);"
    "CREATE TABLE IF NOT EXISTS vectors_int8("
    "  model TEXT PRIMARY KEY, dim INTEGER NOT NULL, n INTEGER NOT NULL,"
    "  layout INTEGER NOT NULL, checksum INTEGER NOT NULL,"
    "  ids BLOB NOT NULL, rows BLOB NOT NULL, scales BLOB NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS vectors_int8_ai AFTER INSERT ON vectors BEGIN"
    "  DELETE FROM vectors_int8;"
    "END;"
    "CREATE TRIGGER IF NOT EXISTS vectors_int8_au AFTER UPDATE ON vectors BEGIN"
    "  DELETE FROM vectors_int8;"
    "END;"
    "CREATE TRIGGER IF NOT EXISTS vectors_int8_ad AFTER DELETE ON vectors BEGIN"
    "  DELETE FROM vectors_int8;"
    "END;";

static const struct {
    int to;              /* the version this step makes */
    const char *what;    /* for messages */
    const char *sql;
} migrations[] = {
    {1, "documents, pages, chunks, FTS5, postings, vectors, embedding cache", schema_v1_sql},
    {2, "documents.version, doc_date, meta_rev", schema_v2_sql},
    {3, "usage and graph_edges tables", schema_v3_sql},
    {4, "the stored int8 vectors (vectors_int8) and the vectors_model index", schema_v4_sql},
};

_Static_assert(sizeof migrations / sizeof migrations[0] == RAG_INDEX_SCHEMA_VERSION,
               "one migration step per schema version");

/* Apply the steps after version, inside the caller's write transaction. */
static int migrate(rag_index *ix, int version, rag_err *err);

static int db_fail(rag_index *ix, rag_err *err, const char *what)
{
    return rag_fail(err, RAG_EIO, "%s: %s: %s", ix->path, what,
                    sqlite3_errmsg(ix->db));
}

static int exec(rag_index *ix, const char *sql, rag_err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(ix->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        rag_fail(err, RAG_EIO, "%s: %s", ix->path, msg ? msg : "sqlite error");
        sqlite3_free(msg);
        return RAG_EIO;
    }
    return RAG_OK;
}

/* What the file holds: *n_objects rows in sqlite_master (0 = an empty or
 * new database) and *version, meta's schema_version (0 when absent). */
static int read_schema(rag_index *ix, int *n_objects, int *version, rag_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc;

    *n_objects = 0;
    *version = 0;
    rc = sqlite3_prepare_v2(ix->db, "SELECT count(*), count(CASE WHEN type = 'table'"
                            " AND name = 'meta' THEN 1 END) FROM sqlite_master", -1, &st,
                            NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        int has_meta = sqlite3_column_int(st, 1);
        *n_objects = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        st = NULL;
        if (!has_meta)
            return RAG_OK;
        rc = sqlite3_prepare_v2(ix->db,
                                "SELECT value FROM meta WHERE key = 'schema_version'", -1,
                                &st, NULL);
        if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
            *version = sqlite3_column_int(st, 0);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE)
        return RAG_OK;
    if ((rc & 0xff) == SQLITE_NOTADB)
        return rag_fail(err, RAG_EFORMAT, "%s: not an SQLite database", ix->path);
    return rag_fail(err, RAG_EIO, "%s: %s", ix->path, sqlite3_errmsg(ix->db));
}

/* "a, b, c" of the first tables in the file, for messages. */
static void table_names(rag_index *ix, char *buf, size_t n_buf)
{
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    int k = 0;

    buf[0] = '\0';
    if (sqlite3_prepare_v2(ix->db, "SELECT name FROM sqlite_master WHERE type = 'table'"
                           " ORDER BY name LIMIT 6", -1, &st, NULL) != SQLITE_OK)
        return;
    while (sqlite3_step(st) == SQLITE_ROW && n + 1 < n_buf) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        int w = snprintf(buf + n, n_buf - n, "%s%s", k ? ", " : "",
                         k == 5 ? "..." : name ? name : "?");
        if (w < 0)
            break;
        n += (size_t)w < n_buf - n ? (size_t)w : n_buf - n - 1;
        k++;
    }
    sqlite3_finalize(st);
}

static int not_ours(rag_index *ix, int n_objects, rag_err *err)
{
    char names[160];
    if (n_objects == 0)
        return rag_fail(err, RAG_EFORMAT, "%s: empty database, not a docrag index yet "
                        "(run 'docrag index' first)", ix->path);
    table_names(ix, names, sizeof names);
    return rag_fail(err, RAG_EFORMAT, "%s: not a docrag index: it is another "
                    "application's SQLite database (tables: %s); docrag does not "
                    "write into it", ix->path, names[0] ? names : "none");
}

static int newer_schema(rag_index *ix, int version, rag_err *err)
{
    return rag_fail(err, RAG_EFORMAT,
                    "%s: schema version %d is newer than this docrag (%d)",
                    ix->path, version, RAG_INDEX_SCHEMA_VERSION);
}

/* Our schema is there, or (writers) the database is empty and gets it.
 * A database that holds anything else is another application's: never
 * written to. The check is repeated inside the write transaction, so two
 * processes creating one file agree. */
/* exec, waiting out SQLITE_BUSY that came back without the busy handler.
 * SQLite returns it at once, as a deadlock guard, when this connection
 * holds a read lock and needs a write lock another connection has: the
 * journal-mode switch of a second opener while the first creates the
 * schema does exactly that (r10). Such a statement ends its implicit
 * transaction and drops its locks, so retrying after a pause is safe. */
static int exec_busy(rag_index *ix, const char *sql, rag_err *err)
{
    double t0 = rag_now_ms();
    int pause_ms = 1;

    for (;;) {
        char *msg = NULL;
        int rc = sqlite3_exec(ix->db, sql, NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            return RAG_OK;
        if ((rc & 0xff) == SQLITE_BUSY && sqlite3_get_autocommit(ix->db) &&
            rag_now_ms() - t0 < BUSY_TIMEOUT_MS) {
            sqlite3_free(msg);
            sqlite3_sleep(pause_ms);
            pause_ms = pause_ms < 32 ? pause_ms * 2 : 50;
            continue;
        }
        rag_fail(err, RAG_EIO, "%s: %s", ix->path, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return RAG_EIO;
    }
}

/* A reader of a file of an older schema (it cannot upgrade it) sees the
 * current one: temporary views shadow the old tables with the columns a
 * newer schema added, at their defaults. Nothing is written to the file.
 * (Tables added later, usage and graph_edges, are looked for before they
 * are read: store_sqlite.c.) */
static int shadow_old_schema(rag_index *ix, int version, rag_err *err)
{
    if (version < 2)
        return exec(ix, "CREATE TEMP VIEW documents AS SELECT *, '' AS version,"
                    " '' AS doc_date, 0 AS meta_rev FROM main.documents;", err);
    return RAG_OK;
}

static int check_schema(rag_index *ix, unsigned flags, rag_err *err)
{
    int n_objects, version, rc;

    if ((rc = read_schema(ix, &n_objects, &version, err)) < 0)
        return rc;
    if (version > RAG_INDEX_SCHEMA_VERSION)
        return newer_schema(ix, version, err);
    if (version == RAG_INDEX_SCHEMA_VERSION)
        return RAG_OK;
    if (version >= RAG_INDEX_SCHEMA_OLDEST && (flags & RAG_INDEX_READ_ONLY))
        return shadow_old_schema(ix, version, err);   /* a reader never upgrades */
    if (version == 0 && ((flags & RAG_INDEX_READ_ONLY) || n_objects > 0))
        return not_ours(ix, n_objects, err);
    if (exec_busy(ix, "BEGIN IMMEDIATE", err) < 0)
        return RAG_EIO;
    rc = read_schema(ix, &n_objects, &version, err);
    if (rc == RAG_OK && version > RAG_INDEX_SCHEMA_VERSION)
        rc = newer_schema(ix, version, err);
    else if (rc == RAG_OK && version == 0 && n_objects > 0)
        rc = not_ours(ix, n_objects, err);
    else if (rc == RAG_OK && version != RAG_INDEX_SCHEMA_VERSION)
        rc = migrate(ix, version, err);
    if (rc < 0) {
        sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return exec(ix, "COMMIT", err);
}

static int migrate(rag_index *ix, int version, rag_err *err)
{
    for (size_t i = (size_t)version; i < sizeof migrations / sizeof migrations[0]; i++) {
        char sql[96];
        int rc = exec(ix, migrations[i].sql, err);
        if (rc == RAG_OK) {
            snprintf(sql, sizeof sql,
                     "INSERT OR REPLACE INTO meta VALUES('schema_version','%d')",
                     migrations[i].to);
            rc = exec(ix, sql, err);
        }
        if (rc < 0) {
            rag_err_prefix(err, "schema version %d -> %d (%s)", migrations[i].to - 1,
                           migrations[i].to, migrations[i].what);
            return rc;
        }
        if (version > 0)
            rag_log(RAG_LOG_INFO, "%s: schema upgraded to version %d (%s)", ix->path,
                    migrations[i].to, migrations[i].what);
    }
    return RAG_OK;
}

/* path + suffix exists (and, with writable, can be written). */
static int sibling_ok(const char *path, const char *suffix, int writable)
{
    char *p = rag_asprintf("%s%s", path, suffix);
    int ok = p && access(p, writable ? W_OK : F_OK) == 0;
    rag_free(p);
    return ok;
}

const char *rag_index_read_only_storage(const char *path)
{
    struct statvfs vfs;
    struct stat st;
    char *dir, *slash;
    int dir_ok;

    if (!path || stat(path, &st) != 0)
        return NULL;
    if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
        return "a read-only mount";
    if (access(path, W_OK) != 0)
        return errno == EROFS ? "a read-only mount" : "the file is not writable";
    dir = rag_strdup(path);
    if (!dir)
        return NULL;
    slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir] = '\0';
    dir_ok = access(slash ? dir : ".", W_OK | X_OK) == 0;
    rag_free(dir);
    if (!dir_ok && !(sibling_ok(path, "-wal", 1) && sibling_ok(path, "-shm", 1)))
        return "its folder is not writable";
    return NULL;
}

/* A first read: SQLite opens lazily, so this is where a reader finds out
 * whether it can set up the WAL index. */
static int probe_read(sqlite3 *db)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st) == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(db);
    sqlite3_finalize(st);
    return rc;
}

/* "file:" URI of path with immutable=1 (bytes outside [A-Za-z0-9/._~-]
 * percent-encoded). NULL on OOM. */
static char *immutable_uri(const char *path)
{
    rag_buf b = RAG_BUF_INIT;
    int rc = rag_buf_puts(&b, "file:");
    for (const unsigned char *p = (const unsigned char *)path; *p && rc == RAG_OK; p++) {
        char esc[4];
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("/._~-", *p)) {
            rc = rag_buf_putc(&b, (char)*p);
        } else {
            snprintf(esc, sizeof esc, "%%%02X", *p);
            rc = rag_buf_puts(&b, esc);
        }
    }
    if (rc == RAG_OK)
        rc = rag_buf_puts(&b, "?immutable=1");
    if (rc < 0) {
        rag_buf_fini(&b);
        return NULL;
    }
    return rag_buf_take(&b);
}

static void db_setup(sqlite3 *db)
{
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(db, 1);
}

/* Open path for reading. On read-only storage a WAL database cannot get
 * its -shm file, and SQLite answers SQLITE_READONLY or SQLITE_CANTOPEN at
 * the first read; then, unless a -wal file holds changes the main file
 * lacks (an immutable reader would not see them), read it as immutable:
 * nothing can write there anyway. */
static int open_reader(rag_index *ix, rag_err *err)
{
    const char *ro;
    char *uri;
    int rc, prim;

    rc = sqlite3_open_v2(ix->path, &ix->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc == SQLITE_OK) {
        db_setup(ix->db);
        rc = probe_read(ix->db);
    }
    if (rc == SQLITE_OK)
        return RAG_OK;
    prim = rc & 0xff;
    ro = rag_index_read_only_storage(ix->path);
    if ((prim != SQLITE_READONLY && prim != SQLITE_CANTOPEN) || !ro) {
        if (prim == SQLITE_NOTADB)
            return rag_fail(err, RAG_EFORMAT, "%s: not an SQLite database", ix->path);
        return rag_fail(err, RAG_EIO, "%s: cannot open: %s", ix->path,
                        ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
    }
    {
        char *wal = rag_asprintf("%s-wal", ix->path);
        struct stat st;
        int pending = wal && stat(wal, &st) == 0 && st.st_size > 0;
        rag_free(wal);
        if (pending)
            return rag_fail(err, RAG_EIO, "%s: cannot read it on %s: its -wal file "
                            "holds changes not yet written into it (open it once where "
                            "it is writable, e.g. 'docrag stats', to merge them)",
                            ix->path, ro);
    }
    sqlite3_close(ix->db);
    ix->db = NULL;
    uri = immutable_uri(ix->path);
    if (!uri)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", ix->path);
    rc = sqlite3_open_v2(uri, &ix->db,
                         SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI, NULL);
    rag_free(uri);
    if (rc == SQLITE_OK) {
        db_setup(ix->db);
        rc = probe_read(ix->db);
    }
    if (rc != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "%s: cannot open (%s): %s", ix->path, ro,
                        ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
    ix->immutable = 1;
    rag_log(RAG_LOG_DEBUG, "%s: on %s: read as immutable", ix->path, ro);
    return RAG_OK;
}

/* Open path for writing (creating it), or a private in-memory database. */
static int open_writer(rag_index *ix, unsigned flags, rag_err *err)
{
    const char *ro = (flags & RAG_INDEX_MEMORY) ? NULL : rag_index_read_only_storage(ix->path);
    int rc;

    if (ro)
        return rag_fail(err, RAG_EIO, "%s: cannot write the index here: %s (search, ask, "
                        "stats and check can read it)", ix->path, ro);
    rc = sqlite3_open_v2(ix->path, &ix->db,
                         SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "%s: cannot open: %s", ix->path,
                        ix->db ? sqlite3_errmsg(ix->db) : "out of memory");
    db_setup(ix->db);
    return RAG_OK;
}

int rag_index_open(rag_index **out, const char *path, unsigned flags, rag_err *err)
{
    rag_index *ix;
    int rc;

    *out = NULL;
    ix = rag_calloc(1, sizeof *ix);
    if (!ix)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
    ix->path = rag_strdup(flags & RAG_INDEX_MEMORY ? ":memory:" : path);
    if (!ix->path) {
        rag_free(ix);
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
    }
    if ((flags & RAG_INDEX_READ_ONLY) && !(flags & RAG_INDEX_MEMORY)) {
        struct stat st;
        if (stat(path, &st) != 0) {
            rc = errno == ENOENT
                     ? rag_fail(err, RAG_ENOTFOUND,
                                "%s: no index here (run 'docrag index' first)", path)
                     : rag_fail(err, RAG_EIO, "%s: cannot access: %s", path,
                                strerror(errno));
            rag_free(ix->path);
            rag_free(ix);
            return rc;
        }
        rc = open_reader(ix, err);
    } else {
        rc = open_writer(ix, flags, err);
    }
    if (rc < 0) {
        rag_index_close(ix);
        return rc;
    }
    rc = rag_fts5_register(ix->db, err);
    if (rc == RAG_OK)
        rc = rag_analyzer_create(&ix->an, err);
    if (rc == RAG_OK && !(flags & RAG_INDEX_READ_ONLY))
        rc = bm25_writer_create(&ix->bw, err);
    /* Look before touching: another application's database is refused
     * before the journal-mode switch, which would rewrite its header. */
    if (rc == RAG_OK && !(flags & RAG_INDEX_READ_ONLY)) {
        int n_objects, version;
        rc = read_schema(ix, &n_objects, &version, err);
        if (rc == RAG_OK && version > RAG_INDEX_SCHEMA_VERSION)
            rc = newer_schema(ix, version, err);
        else if (rc == RAG_OK && version == 0 && n_objects > 0)
            rc = not_ours(ix, n_objects, err);
    }
    if (rc == RAG_OK && !(flags & RAG_INDEX_READ_ONLY))
        rc = exec_busy(ix, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", err);
    /* Page cache: 64 MB while writing (index builds touch FTS5 and postings
     * pages over and over); 4 MB for readers, which mostly read a query's
     * postings and k rows once and are served by the OS page cache anyway
     * (BM25 p50 on 185k chunks: 1.91 ms with 64 MB, 1.45-2.06 ms with 4 MB;
     * whole-process RSS of bench/hybrid.sh 213 -> 201 MB). */
    if (rc == RAG_OK)
        rc = exec(ix, flags & RAG_INDEX_READ_ONLY
                          ? "PRAGMA cache_size=-4096; PRAGMA temp_store=MEMORY;"
                          : "PRAGMA cache_size=-65536; PRAGMA temp_store=MEMORY;", err);
    if (rc == RAG_OK)
        rc = check_schema(ix, flags, err);
    if (rc == RAG_OK)
        rc = rag_store_sqlite_create(&ix->store, ix, ix->db,
                                     (flags & RAG_INDEX_READ_ONLY) || ix->immutable, err);
    if (rc < 0) {
        if (err && !strstr(err->msg, ix->path))
            rag_err_prefix(err, "%s", ix->path);
        rag_index_close(ix);
        return rc;
    }
    *out = ix;
    return RAG_OK;
}

void rag_index_close(rag_index *ix)
{
    if (!ix)
        return;
    if (ix->in_tx)
        rag_index_rollback(ix);
    rag_index_set_tx_hooks(ix, NULL, NULL, NULL);
    if (ix->store)
        ix->store->ops->close(ix->store);
    sqlite3_close_v2(ix->db);
    bm25_writer_destroy(ix->bw);
    rag_analyzer_destroy(ix->an);
    rag_free(ix->bm25_acc);
    rag_free(ix->bm25_touched);
    rag_free(ix->bm25_post);
    rag_free(ix->path);
    rag_free(ix);
}

sqlite3 *rag_index_db(rag_index *ix)
{
    return ix->db;
}

int rag_index_sqlite_changed(rag_index *ix, rag_err *err)
{
    int rc;
    if (ix->in_tx && ix->seq_bumped)
        return RAG_OK;
    rc = exec(ix, "INSERT INTO meta(key, value) VALUES('change_seq', '1')"
                  " ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1", err);
    if (rc == RAG_OK && ix->in_tx)
        ix->seq_bumped = 1;
    return rc;
}

rag_store *rag_index_store(rag_index *ix)
{
    return ix->store;
}

const char *rag_index_path(const rag_index *ix)
{
    return ix->path;
}

int rag_index_read_begin(rag_index *ix, rag_err *err)
{
    int rc;
    if (ix->in_tx || ix->n_read++ > 0)
        return RAG_OK;   /* already inside a snapshot (or a write) */
    /* A deferred transaction takes its WAL snapshot at the first read:
     * read the schema cookie now so the snapshot starts here. */
    rc = exec(ix, "BEGIN DEFERRED; PRAGMA schema_version;", err);
    if (rc < 0)
        ix->n_read = 0;
    return rc;
}

void rag_index_read_end(rag_index *ix)
{
    if (ix->in_tx || ix->n_read == 0)
        return;
    if (--ix->n_read == 0)
        exec(ix, "COMMIT", NULL);
}

int rag_index_set_tx_hooks(rag_index *ix, const rag_index_tx_hooks *hooks, void *ctx,
                           rag_err *err)
{
    const rag_index_tx_hooks *old = ix->hooks;
    void *old_ctx = ix->hooks_ctx;
    if (ix->in_tx)
        return rag_fail(err, RAG_EINVAL, "%s: write hooks changed inside a transaction",
                        ix->path);
    ix->hooks = hooks;
    ix->hooks_ctx = hooks ? ctx : NULL;
    if (old && old->detach)
        old->detach(old_ctx, ix);
    return RAG_OK;
}

int rag_index_in_tx(const rag_index *ix)
{
    return ix->in_tx;
}

int rag_index_begin(rag_index *ix, rag_err *err)
{
    int rc = exec(ix, "BEGIN IMMEDIATE", err);
    if (rc == RAG_OK) {
        ix->in_tx = 1;
        ix->seq_bumped = 0;
        ix->hooked_tx = 0;
    }
    if (rc == RAG_OK && ix->hooks && ix->hooks->begin) {
        rc = ix->hooks->begin(ix->hooks_ctx, ix, err);
        if (rc < 0) {
            sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
            ix->in_tx = 0;
            return rc;
        }
        ix->hooked_tx = 1;
    }
    return rc;
}

/* Tell the hooks how the transaction their begin accepted ended. */
static void hooks_end(rag_index *ix, int committed)
{
    if (ix->hooked_tx && ix->hooks && ix->hooks->end)
        ix->hooks->end(ix->hooks_ctx, ix, committed);
    ix->hooked_tx = 0;
}

int rag_index_commit(rag_index *ix, rag_err *err)
{
    int rc = ix->bw ? bm25_flush(ix->bw, ix->db, err) : RAG_OK;
    if (rc == RAG_OK && ix->hooked_tx && ix->hooks->precommit)
        rc = ix->hooks->precommit(ix->hooks_ctx, ix, err);
    if (rc < 0) {
        rag_index_rollback(ix);
        return rc;
    }
    rc = exec(ix, "COMMIT", err);
    if (rc == RAG_OK) {
        ix->in_tx = 0;
        ix->seq_bumped = 0;
        hooks_end(ix, 1);
    } else if (ix->hooked_tx) {
        /* the hooks made their side of it; this side is gone */
        rag_index_rollback(ix);
    }
    return rc;
}

void rag_index_rollback(rag_index *ix)
{
    sqlite3_exec(ix->db, "ROLLBACK", NULL, NULL, NULL);
    if (ix->bw)
        bm25_discard(ix->bw);
    ix->in_tx = 0;
    ix->seq_bumped = 0;
    hooks_end(ix, 0);
}

int rag_index_auto_begin(rag_index *ix, int *own, rag_err *err)
{
    *own = 0;
    if (ix->in_tx || !ix->hooks)
        return RAG_OK;
    *own = 1;
    return rag_index_begin(ix, err);
}

int rag_index_auto_end(rag_index *ix, int own, int rc, rag_err *err)
{
    int c;
    if (!own)
        return rc;
    if (rc < 0) {
        rag_index_rollback(ix);
        return rc;
    }
    c = rag_index_commit(ix, err);
    return c < 0 ? c : rc;
}

int rag_index_optimize(rag_index *ix, rag_err *err)
{
    int own_tx = !ix->in_tx;
    int rc;

    if (own_tx && (rc = rag_index_begin(ix, err)) < 0)
        return rc;
    rc = exec(ix, "INSERT INTO chunks_fts(chunks_fts) VALUES('optimize')", err);
    if (rc == RAG_OK)
        rc = bm25_merge(ix->db, err);
    if (own_tx) {
        if (rc == RAG_OK)
            rc = rag_index_commit(ix, err);
        else
            rag_index_rollback(ix);
    }
    return rc;
}

int64_t rag_index_segments(rag_index *ix)
{
    return bm25_segment_count(ix->db);
}

/* Delete a document's chunks (FTS rows via trigger), pages and row. */
static int delete_doc_rows(rag_index *ix, int64_t doc_id, rag_err *err)
{
    static const char *const sql[] = {
        "DELETE FROM chunks WHERE doc_id = ?1",
        "DELETE FROM pages WHERE doc_id = ?1",
        "DELETE FROM documents WHERE id = ?1",
    };
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(ix->db, "SELECT id FROM chunks WHERE doc_id = ?1", -1, &q,
                           NULL) != SQLITE_OK)
        return db_fail(ix, err, "delete");
    sqlite3_bind_int64(q, 1, doc_id);
    while (sqlite3_step(q) == SQLITE_ROW) {
        int rc = bm25_delete_chunk(ix->bw, ix->db, sqlite3_column_int64(q, 0), err);
        if (rc < 0) {
            sqlite3_finalize(q);
            return rc;
        }
    }
    sqlite3_finalize(q);
    for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++) {
        sqlite3_stmt *st;
        int rc;
        if (sqlite3_prepare_v2(ix->db, sql[i], -1, &st, NULL) != SQLITE_OK)
            return db_fail(ix, err, "delete");
        sqlite3_bind_int64(st, 1, doc_id);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            return db_fail(ix, err, "delete");
    }
    return RAG_OK;
}

static int64_t find_doc_id(rag_index *ix, const char *path)
{
    sqlite3_stmt *st;
    int64_t id = 0;
    if (sqlite3_prepare_v2(ix->db, "SELECT id FROM documents WHERE path = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return id;
}

static int insert_rows(rag_index *ix, const rag_doc_meta *meta, const rag_doc *doc,
                       const rag_chunks *chunks, rag_err *err)
{
    sqlite3_stmt *st = NULL;
    int64_t doc_id;
    int rc;

    if (sqlite3_prepare_v2(ix->db,
            "INSERT INTO documents(path, sha256, mtime, title, kind, n_pages, n_bytes,"
            " added_at, version, doc_date, meta_rev) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,"
            "?11)", -1, &st, NULL) != SQLITE_OK)
        return db_fail(ix, err, "insert document");
    sqlite3_bind_text(st, 1, meta->path, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, meta->sha256, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, meta->mtime);
    sqlite3_bind_text(st, 4, doc->title ? doc->title : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, rag_doc_kind_name(doc->kind), -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, (int64_t)doc->n_pages);
    sqlite3_bind_int64(st, 7, meta->n_bytes);
    sqlite3_bind_int64(st, 8, (int64_t)time(NULL));
    sqlite3_bind_text(st, 9, doc->version ? doc->version : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, doc->date ? doc->date : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 11, RAG_DOC_META_REV);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(ix, err, "insert document");
    doc_id = sqlite3_last_insert_rowid(ix->db);

    if (sqlite3_prepare_v2(ix->db, "INSERT INTO pages VALUES(?1,?2,?3,?4)", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(ix, err, "insert page");
    for (size_t i = 0; i < doc->n_pages; i++) {
        sqlite3_bind_int64(st, 1, doc_id);
        sqlite3_bind_int(st, 2, doc->pages[i].page);
        sqlite3_bind_int64(st, 3, (int64_t)doc->pages[i].byte_start);
        sqlite3_bind_int64(st, 4, (int64_t)doc->pages[i].byte_end);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            sqlite3_finalize(st);
            return db_fail(ix, err, "insert page");
        }
    }
    sqlite3_finalize(st);

    if (sqlite3_prepare_v2(ix->db,
            "INSERT INTO chunks(id, doc_id, ord, page_start, page_end, section,"
            " byte_start, byte_end, n_tokens, text) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
            -1, &st, NULL) != SQLITE_OK)
        return db_fail(ix, err, "insert chunk");
    for (size_t i = 0; i < chunks->n; i++) {
        const rag_chunk *c = &chunks->items[i];
        sqlite3_bind_int64(st, 1, c->id);
        sqlite3_bind_int64(st, 2, doc_id);
        sqlite3_bind_int(st, 3, c->ord);
        sqlite3_bind_int(st, 4, c->page_start);
        sqlite3_bind_int(st, 5, c->page_end);
        sqlite3_bind_text(st, 6, c->section ? c->section : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 7, (int64_t)c->byte_start);
        sqlite3_bind_int64(st, 8, (int64_t)c->byte_end);
        sqlite3_bind_int(st, 9, c->n_tokens);
        sqlite3_bind_text(st, 10, c->text, (int)c->text_bytes, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) {
            rc = rag_fail(err, RAG_EIO, "%s: chunk %d of %s: %s", ix->path, c->ord,
                          meta->path, sqlite3_errmsg(ix->db));
            sqlite3_finalize(st);
            return rc;
        }
        rc = bm25_add_chunk(ix->bw, ix->db, ix->an, c->id, c->text, c->section,
                            doc->title, err);
        if (rc < 0) {
            sqlite3_finalize(st);
            return rc;
        }
    }
    sqlite3_finalize(st);
    return RAG_OK;
}

int rag_index_put_doc(rag_index *ix, const rag_doc_meta *meta, const rag_doc *doc,
                      const rag_chunks *chunks, rag_err *err)
{
    int own_tx = !ix->in_tx;
    int64_t old;
    int rc;

    if (own_tx && (rc = rag_index_begin(ix, err)) < 0)
        return rc;
    old = find_doc_id(ix, meta->path);
    rc = old < 0 ? db_fail(ix, err, "lookup") : RAG_OK;
    if (rc == RAG_OK && old > 0)
        rc = delete_doc_rows(ix, old, err);
    if (rc == RAG_OK)
        rc = insert_rows(ix, meta, doc, chunks, err);
    if (rc == RAG_OK)
        rc = rag_index_sqlite_changed(ix, err);
    if (own_tx) {
        if (rc == RAG_OK)
            rc = rag_index_commit(ix, err);
        if (rc < 0)
            rag_index_rollback(ix);
    }
    return rc;
}

int rag_index_doc_state(rag_index *ix, const char *path, char hex[65], int *meta_rev,
                        rag_err *err)
{
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(ix->db, "SELECT sha256, meta_rev FROM documents WHERE path = ?1",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ix, err, "lookup");
    sqlite3_bind_text(st, 1, path, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const unsigned char *s = sqlite3_column_text(st, 0);
        snprintf(hex, 65, "%s", s ? (const char *)s : "");
        if (meta_rev)
            *meta_rev = sqlite3_column_int(st, 1);
        found = 1;
    }
    sqlite3_finalize(st);
    return found;
}

int rag_index_doc_sha(rag_index *ix, const char *path, char hex[65], rag_err *err)
{
    return rag_index_doc_state(ix, path, hex, NULL, err);
}

int rag_index_remove_doc(rag_index *ix, const char *path, rag_err *err)
{
    int own_tx = !ix->in_tx;
    int64_t id;
    int rc;

    if (own_tx && (rc = rag_index_begin(ix, err)) < 0)
        return rc;
    id = find_doc_id(ix, path);
    rc = id < 0 ? db_fail(ix, err, "lookup") : RAG_OK;
    if (rc == RAG_OK && id > 0)
        rc = delete_doc_rows(ix, id, err);
    if (rc == RAG_OK && id > 0)
        rc = rag_index_sqlite_changed(ix, err);
    if (own_tx) {
        if (rc == RAG_OK)
            rc = rag_index_commit(ix, err);
        if (rc < 0)
            rag_index_rollback(ix);
    }
    return rc < 0 ? rc : id > 0;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return rag_strdup(s ? (const char *)s : "");
}

int rag_index_chunk_beside(rag_index *ix, int64_t chunk_id, int delta, rag_chunk_row *row,
                           rag_err *err)
{
    sqlite3_stmt *st;
    int64_t id;
    int rc;

    memset(row, 0, sizeof *row);
    if (sqlite3_prepare_v2(ix->db,
            "SELECT b.id FROM chunks c JOIN chunks b ON b.doc_id = c.doc_id"
            " AND b.ord = c.ord + ?2 WHERE c.id = ?1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(ix, err, "read the chunk beside");
    sqlite3_bind_int64(st, 1, chunk_id);
    sqlite3_bind_int(st, 2, delta);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            return rag_fail(err, RAG_ENOTFOUND, "%s: no chunk %+d from %lld", ix->path, delta,
                            (long long)chunk_id);
        return db_fail(ix, err, "read the chunk beside");
    }
    id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rag_index_get_chunk(ix, id, row, err);
}

int rag_index_get_chunk(rag_index *ix, int64_t chunk_id, rag_chunk_row *row,
                        rag_err *err)
{
    sqlite3_stmt *st;
    int rc;

    memset(row, 0, sizeof *row);
    if (sqlite3_prepare_v2(ix->db,
            "SELECT c.doc_id, d.path, d.title, c.page_start, c.page_end, c.section,"
            " c.byte_start, c.byte_end, c.text, d.version, d.doc_date FROM chunks c"
            " JOIN documents d"
            " ON d.id = c.doc_id WHERE c.id = ?1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(ix, err, "read chunk");
    sqlite3_bind_int64(st, 1, chunk_id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
            return rag_fail(err, RAG_ENOTFOUND, "%s: no chunk %lld", ix->path,
                            (long long)chunk_id);
        return db_fail(ix, err, "read chunk");
    }
    row->chunk_id = chunk_id;
    row->doc_id = sqlite3_column_int64(st, 0);
    row->doc = col_dup(st, 1);
    row->title = col_dup(st, 2);
    row->page_start = sqlite3_column_int(st, 3);
    row->page_end = sqlite3_column_int(st, 4);
    row->section = col_dup(st, 5);
    row->byte_start = sqlite3_column_int64(st, 6);
    row->byte_end = sqlite3_column_int64(st, 7);
    row->text = col_dup(st, 8);
    row->version = col_dup(st, 9);
    row->date = col_dup(st, 10);
    sqlite3_finalize(st);
    if (!row->doc || !row->title || !row->section || !row->text || !row->version ||
        !row->date) {
        rag_chunk_row_fini(row);
        return rag_fail(err, RAG_ENOMEM, "out of memory reading chunk");
    }
    return RAG_OK;
}

void rag_chunk_row_fini(rag_chunk_row *row)
{
    rag_free(row->doc);
    rag_free(row->title);
    rag_free(row->version);
    rag_free(row->date);
    rag_free(row->section);
    rag_free(row->text);
    memset(row, 0, sizeof *row);
}

int rag_index_page_at(rag_index *ix, int64_t doc_id, int64_t at, rag_err *err)
{
    sqlite3_stmt *st;
    int page = 0;
    if (sqlite3_prepare_v2(ix->db,
            "SELECT page FROM pages WHERE doc_id = ?1 AND byte_start <= ?2"
            " ORDER BY page DESC LIMIT 1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(ix, err, "read pages");
    sqlite3_bind_int64(st, 1, doc_id);
    sqlite3_bind_int64(st, 2, at);
    if (sqlite3_step(st) == SQLITE_ROW)
        page = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return page;
}

static int64_t count(rag_index *ix, const char *sql)
{
    sqlite3_stmt *st;
    int64_t n = 0;
    if (sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

int64_t rag_index_n_chunks(rag_index *ix)
{
    return count(ix, "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta"
                     " WHERE key = 'bm25_n_docs'), 0)");
}

/* count() for stats: the first failure is kept with SQLite's own message
 * (read before the statement is finalized, which resets it to "not an
 * error"). */
static int64_t stat_count(rag_index *ix, const char *sql, rag_err *err, int *failed)
{
    sqlite3_stmt *st = NULL;
    int64_t n = 0;
    int rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && !*failed) {
        *failed = 1;
        rag_fail(err, RAG_EIO, "%s: stats: %s (a damaged index? run 'docrag check')",
                 ix->path, sqlite3_errmsg(ix->db));
    }
    sqlite3_finalize(st);
    return n;
}

int rag_index_counts_get(rag_index *ix, rag_index_stats *out, rag_err *err)
{
    int failed = 0;

    memset(out, 0, sizeof *out);
    out->n_documents = stat_count(ix, "SELECT count(*) FROM documents", err, &failed);
    out->n_chunks = stat_count(ix, "SELECT count(*) FROM chunks", err, &failed);
    out->n_pages = stat_count(ix, "SELECT count(*) FROM pages", err, &failed);
    return failed ? (err ? err->code : RAG_EIO) : RAG_OK;
}

int rag_index_stats_get(rag_index *ix, rag_index_stats *out, rag_err *err)
{
    sqlite3_stmt *st;
    int failed = 0;

    memset(out, 0, sizeof *out);
    out->n_documents = stat_count(ix, "SELECT count(*) FROM documents", err, &failed);
    out->n_chunks = stat_count(ix, "SELECT count(*) FROM chunks", err, &failed);
    out->n_pages = stat_count(ix, "SELECT count(*) FROM pages", err, &failed);
    out->n_text_bytes = stat_count(ix, "SELECT coalesce(sum(length(CAST(text AS BLOB))),0)"
                                   " FROM chunks", err, &failed);
    out->n_vectors = stat_count(ix, "SELECT count(*) FROM vectors", err, &failed);
    out->n_cache_entries = stat_count(ix, "SELECT count(*) FROM embed_cache", err, &failed);
    if (failed)
        return err ? err->code : RAG_EIO;
    out->db_bytes = count(ix, "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()");
    out->schema_version = (int)count(ix, "SELECT value FROM meta WHERE key='schema_version'");
    out->embed_dim = count(ix, "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta"
                               " WHERE key = 'embed_dim'), 0)");
    out->n_cache_lookups = count(ix, "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM"
                                     " meta WHERE key = 'embed_cache_lookups'), 0)");
    out->n_cache_hits = count(ix, "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta"
                                  " WHERE key = 'embed_cache_hits'), 0)");
    if (sqlite3_prepare_v2(ix->db, "SELECT value FROM meta WHERE key='embed_model'", -1,
                           &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
            snprintf(out->embed_model, sizeof out->embed_model, "%s",
                     (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
    }
    if (sqlite3_prepare_v2(ix->db, "SELECT kind, count(*) FROM documents GROUP BY kind"
                           " ORDER BY kind", -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW && out->n_kinds < 8) {
            const unsigned char *k = sqlite3_column_text(st, 0);
            snprintf(out->kinds[out->n_kinds].kind, sizeof out->kinds[0].kind, "%s",
                     k ? (const char *)k : "?");
            out->kinds[out->n_kinds++].n = sqlite3_column_int64(st, 1);
        }
        sqlite3_finalize(st);
    }
    return RAG_OK;
}

int rag_index_meta_get(rag_index *ix, const char *key, char *buf, size_t n_buf,
                       rag_err *err)
{
    sqlite3_stmt *st;
    int rc, found = 0;
    if (n_buf)
        buf[0] = '\0';
    if (sqlite3_prepare_v2(ix->db, "SELECT value FROM meta WHERE key = ?1", -1, &st,
                           NULL) != SQLITE_OK)
        return db_fail(ix, err, "read meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        if (n_buf)
            snprintf(buf, n_buf, "%s", v ? (const char *)v : "");
        found = 1;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(ix, err, "read meta");
    return found;
}

int rag_index_meta_set(rag_index *ix, const char *key, const char *value, rag_err *err)
{
    sqlite3_stmt *st;
    int own, rc;
    if (ix->hooks && !ix->in_tx) {
        if ((rc = rag_index_auto_begin(ix, &own, err)) < 0)
            return rc;
        return rag_index_auto_end(ix, own, rag_index_meta_set(ix, key, value, err), err);
    }
    if (sqlite3_prepare_v2(ix->db, "INSERT OR REPLACE INTO meta(key, value) VALUES(?1, ?2)",
                           -1, &st, NULL) != SQLITE_OK)
        return db_fail(ix, err, "write meta");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(ix, err, "write meta");
    return RAG_OK;
}

int rag_index_term_docs(rag_index *ix, const char *term, int64_t *n_docs, rag_err *err)
{
    sqlite3_stmt *st;
    *n_docs = 0;
    if (sqlite3_prepare_v2(ix->db, "SELECT coalesce(sum(df), 0) FROM bm25_postings"
                           " WHERE term = ?1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(ix, err, "read postings");
    sqlite3_bind_text(st, 1, term, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        *n_docs = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return RAG_OK;
}

rag_analyzer *rag_index_analyzer(rag_index *ix)
{
    return ix->an;
}

int rag_index_bm25_scratch(rag_index *ix, size_t n, double **acc, uint32_t **touched,
                           rag_err *err)
{
    if (n > ix->n_scratch) {
        /* grown as the index grows: a quarter more than asked for */
        size_t want = n + n / 4;
        double *a = rag_calloc(want, sizeof *a);
        uint32_t *t = rag_malloc(want * sizeof *t);
        if (!a || !t) {
            rag_free(a);
            rag_free(t);
            return rag_fail(err, RAG_ENOMEM, "out of memory for %zu BM25 scores", n);
        }
        rag_free(ix->bm25_acc);
        rag_free(ix->bm25_touched);
        ix->bm25_acc = a;
        ix->bm25_touched = t;
        ix->n_scratch = want;
    }
    *acc = ix->bm25_acc;
    *touched = ix->bm25_touched;
    return RAG_OK;
}

void *rag_index_bm25_postbuf(rag_index *ix, size_t n_bytes, size_t *cap_bytes, rag_err *err)
{
    if (n_bytes > ix->n_post_bytes) {
        size_t want = ix->n_post_bytes ? ix->n_post_bytes : 64 << 10;
        void *p;
        while (want < n_bytes)
            want = want > SIZE_MAX / 2 ? n_bytes : want * 2;
        if (!(p = rag_realloc(ix->bm25_post, want))) {
            rag_fail(err, RAG_ENOMEM, "out of memory reading postings (%zu bytes)", n_bytes);
            return NULL;
        }
        ix->bm25_post = p;
        ix->n_post_bytes = want;
    }
    *cap_bytes = ix->n_post_bytes;
    return ix->bm25_post;
}
