/* replica_int.h - internal to the replica (replica.c: open, state, follow,
 * jobs, verify; replica_copy.c: the full copy and applying changesets to
 * the copy; replica_write.c: write-through). The contracts are replica.h's;
 * the design is in replica.c's opening comment and docs/postgres.md.
 *
 * The session extension is compiled into Debian's libsqlite3 (3.40); its
 * API is declared only with the two macros below, so this header comes
 * first in each of the three files.
 */
#ifndef RAG_REPLICA_INT_H
#define RAG_REPLICA_INT_H

#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

#include "index/replica.h"

#include "index/index.h"
#include "index/pg_schema.h"
#include "index/store.h"

#include <pthread.h>
#include <stdint.h>

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

extern const struct table rep_tables[];
#define N_TABLES 10
#define T_DOCUMENTS 0
#define T_VECTORS 3
#define T_BM25_DOCS 5
#define T_POSTINGS 6
#define T_GRAPH 8
#define T_META 9

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

/* ---- shared by the three files: replica.c's ---------------------------- */

/* Meta keys of the copy itself, never sent to PostgreSQL nor taken from it. */
int rep_local_key(const char *key, size_t n);
int rep_get_need_full(rag_replica *r);
void rep_set_need_full(rag_replica *r, int v);
void rep_set_state_err(rag_replica *r, int rc, const rag_err *err);
int rep_db_exec(sqlite3 *db, const char *what, const char *sql, rag_err *err);
int rep_meta_put(sqlite3 *db, const char *key, const char *value, rag_err *err);
int rep_meta_put_i64(sqlite3 *db, const char *key, int64_t v, rag_err *err);
/* Integer meta value (0 when absent). */
int64_t rep_meta_i64(sqlite3 *db, const char *key);
int rep_bump_change_seq(sqlite3 *db, rag_err *err);
/* AUTOINCREMENT's counter of bm25_docs past every docno the copy knows,
 * deleted ones included: a changeset carries explicit docnos, and one
 * whose row came and went inside a single transaction leaves only its
 * bm25_deleted row, which a reused docno would collide with. */
int rep_fix_docno_sequence(sqlite3 *db, rag_err *err);
/* ---- replica_copy.c's ------------------------------------------------------ */

/* PostgreSQL meta store_id into out. */
int rep_pg_store_id(rag_pg *pg, char *out, size_t n_out, rag_err *err);
/* Open r->fix, the follower's connection to the mirror, if not open. */
int rep_open_follower_ix(rag_replica *r, rag_err *err);
/* Copy the store whole. live = 0 (open): renamed over the mirror, which
 * nobody has open; live = 1: copied into the open mirror (backup API). */
int rep_full_copy(rag_replica *r, int live, rag_err *err);
/* Apply the changes logged after the copy's pg_applied_seq, read on pg.
 * in_tx: db is inside the caller's write transaction (the writer's
 * catch-up); else each change is a transaction of its own, and BUSY (the
 * writer holds the file) ends the round quietly. *need_full: a change
 * without a changeset, or a conflict. Returns the number applied. */
int rep_apply_pending(rag_replica *r, rag_pg *pg, sqlite3 *db, int in_tx, int *need_full,
                      rag_err *err);

#endif
