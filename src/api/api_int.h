/* api_int.h - private to src/api: the engine and session behind
 * include/docrag.h, shared by engine.c (lifetime, refresh, info),
 * api_query.c (search, ask), api_index.c (writes), api_docs.c (reads),
 * api_check.c (docrag_check), engine_replica.c and api_store.c (a
 * postgres:// db).
 *
 * Who owns what. The engine owns everything loaded once per process: the
 * config, the shared retriever (embedder and reranker behind locks, the
 * vector index behind a rwlock), the LLM chain (read-only, thread-safe),
 * usage accounting (thread-safe, on a connection of its own) and three
 * connections of its own: `ix` (read-write unless read_only; the retriever
 * loads vectors and the graph through it), `watch` (only asks SQLite
 * whether the file changed) and the usage connection. A session owns one
 * read-only connection (with its analyzer) and nothing else. Writes open a
 * writer connection for their duration under write_mu.
 *
 * For a postgres:// db the engine also owns a replica (engine_replica.c,
 * api_store.c): every connection above opens its local copy (local_db),
 * the writer is attached to it (writes go through to PostgreSQL), a
 * follower thread applies other replicas' changes and refreshes, usage
 * rows go to PostgreSQL, and the shared job calls run under jobs_mu.
 */
#ifndef RAG_API_INT_H
#define RAG_API_INT_H

#include "docrag.h"

#include "config/config.h"
#include "core/core.h"
#include "generate/generate.h"
#include "index/index.h"
#include "index/store.h"
#include "llm/llm.h"
#include "obs/obs.h"
#include "retrieve/retrieve.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>

struct docrag_engine {
    rag_config *cfg;
    int scope;                  /* DOCRAG_SCOPE_*: which of the below exist */
    rag_index *ix;
    rag_index *watch;
    rag_index *usage_ix;        /* usage rows' own connection; NULL: usage in memory */
    rag_usage *usage;
    rag_retriever *retriever;   /* NULL outside DOCRAG_SCOPE_ALL */
    rag_llm_chain *chain;
    /* DOCRAG_SCOPE_MODELS: the chains on their own (locked), or why not */
    rag_embedder *embedder;
    rag_reranker *reranker;
    char embed_reason[256];
    char rerank_reason[256];
    rag_search_mode mode;       /* search.mode */
    int read_only;
    int single_mode;            /* retriever opened for `mode` only */
    int read_only_storage;      /* read_only because the file cannot be written */
    char read_only_why[160];    /* why (rag_index_read_only_storage) */
    pthread_mutex_t write_mu;   /* one writer at a time */
    pthread_mutex_t refresh_mu; /* one refresh at a time */
    _Atomic int64_t usage_synced_ms; /* rag_now_ms of the last rag_usage_sync */
    _Atomic int usage_sync_failing;  /* said once until a sync succeeds */
    _Atomic uint64_t generation;/* +1 per change seen (docrag_engine_generation) */
    int64_t data_version;       /* `watch`'s change_seq (store.h) at the last
                                   refresh (under refresh_mu) */
    /* The SQLite file every connection above opens: the db itself, or,
     * for a postgres:// db, the replica's local copy (engine_replica.c). */
    char *local_db;             /* owned */
    char *db_shown;             /* owned: the db as messages and reports name
                                   it (the endpoint, never a password) */
    struct rag_replica *replica;/* NULL for a SQLite db */
    pthread_t follow_th;        /* calls rag_replica_follow, then refreshes */
    int follow_started;         /* under refresh_mu */
    _Atomic int follow_stop;
    pthread_mutex_t jobs_mu;    /* the replica's job calls, one at a time */
};

struct docrag_session {
    docrag_engine *e;           /* borrowed */
    rag_index *ix;              /* owned, read-only */
    unsigned out_flags;         /* DOCRAG_OUT_* */
    docrag_call_info last;      /* of the last search or ask */
};

/* Copy err into the public error (may be NULL); returns err->code. */
int api_err(docrag_error *out, const rag_err *err);
/* Dump o (stealing the reference) into *out, compact, reals with 9
 * significant digits; RAG_ENOMEM if either is NULL. */
int api_take_json(json_t *o, char **out, rag_err *err);
/* api_take_json as session s renders (its DOCRAG_OUT_* flags); with
 * record, s->last gets o's timings_ms and refused first. */
int api_session_json(docrag_session *s, json_t *o, int record, char **out, rag_err *err);
/* The search options in internal form: mode, k, filters. RAG_EINVAL names
 * the bad field. def_k is used when o->k is 0. */
int api_search_opts(rag_search_opts *so, const docrag_engine *e,
                    const docrag_search_opts *o, size_t def_k, char *glob, size_t n_glob,
                    rag_err *err);
/* Reload the engine's vectors if the index file changed since the last
 * refresh (force: reload anyway): 1 if it did, 0 if nothing changed. */
int api_refresh(docrag_engine *e, int force, rag_err *err);
/* RAG_OK if e was opened with the parts `scope` names (DOCRAG_SCOPE_INDEX:
 * a database; DOCRAG_SCOPE_ALL: the retrieval pipeline too), else
 * RAG_EINVAL naming what is missing. */
int api_need(const docrag_engine *e, int scope, rag_err *err);
/* A document's row and one page's span of its text (api_docs.c). */
typedef struct {
    char *path;                 /* owned */
    char *title;                /* owned */
    char kind[16];              /* "pdf", "markdown", "html", "text" */
    int64_t n_pages;
    int64_t byte_start, byte_end;
} api_page_info;
/* RAG_ENOTFOUND names a missing document or page; release with
 * api_page_info_fini (done on error). */
int api_page_row(rag_index *ix, int64_t doc_id, int page, api_page_info *pi, rag_err *err);
void api_page_info_fini(api_page_info *pi);
/* The chunk to highlight on a page of doc_id: RAG_ENOTFOUND if there is
 * none, RAG_EINVAL if it belongs to another document. row is the
 * caller's (rag_chunk_row_fini; zeroed on error). */
int api_highlight_chunk(rag_index *ix, int64_t doc_id, int64_t chunk_id, rag_chunk_row *row,
                        rag_err *err);

/* ---- engine_replica.c: a postgres:// db ---------------------------------- */

/* Set e->local_db and e->db_shown for the configured db; for a postgres://
 * one, open the replica (its local copy brought up to the store's head). */
int api_store_open(docrag_engine *e, rag_err *err);
/* Stop the follower, close the replica (after every connection to the copy
 * is closed). */
void api_store_stop(docrag_engine *e);
void api_store_close(docrag_engine *e);
/* Start the follower thread once (a long-lived front end: the first
 * docrag_engine_refresh). No-op for SQLite. */
void api_store_follow_start(docrag_engine *e);
/* A writer on the engine's index: the SQLite file, or the local copy
 * attached to the replica so that every write goes through to PostgreSQL. */
int api_writer_open(docrag_engine *e, rag_index **w, rag_err *err);
/* The usage store of a replica engine (PostgreSQL: one budget for every
 * replica), or NULL. */
rag_store *api_store_usage(docrag_engine *e);

/* The embedder / reranker docrag_embed and docrag_rerank use (borrowed,
 * NULL if none). */
rag_embedder *api_embedder(docrag_engine *e);
rag_reranker *api_reranker(docrag_engine *e);

#endif
