/* docrag.h - the public C API of docrag: index documents, search them and
 * answer questions with citations.
 *
 * Two handles. A docrag_engine is opened once per process and shared by
 * every thread: configuration, models, the in-memory vector index, the
 * embed / rerank / LLM chains and usage accounting, all loaded once. A
 * docrag_session is cheap and belongs to one thread at a time: its own
 * read connection to the index and scratch. The command line uses one
 * session; `docrag serve` one per worker thread.
 *
 * Results come back as JSON text in the shapes of the command-line
 * contract (`docrag search --json`, `docrag ask --json`), so bindings need
 * no struct layouts (reals with 9 significant digits). Every function
 * returning int returns 0 on success or a negative docrag status
 * (DOCRAG_E*) and fills *err (err may be NULL).
 * JSON strings returned through char ** are the caller's: free them with
 * docrag_free.
 *
 * Index changes are visible to every session: chunks written through any
 * session (or by another process) are searchable by BM25 as soon as their
 * transaction commits; the in-memory vectors follow after
 * docrag_engine_refresh (called by docrag_index / docrag_document_delete
 * for their own changes, and by the server once a second for changes made
 * by other processes). One writer at a time: writes through sessions of one
 * engine queue on the engine's writer lock.
 *
 * Thread safety: docrag_engine_* and docrag_embed / docrag_rerank may be
 * called from any thread; a docrag_session by one thread at a time (and
 * an engine opened with single_mode serves one search at a time);
 * docrag_eval_* one at a time per engine; docrag_models_* from any thread.
 * docrag_log_set, docrag_log_set_level and docrag_tune_process change the
 * process: call them before threads start. Close every session before its
 * engine.
 */
#ifndef DOCRAG_H
#define DOCRAG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes (the library's own, unchanged across versions). */
enum {
    DOCRAG_OK = 0,
    DOCRAG_ENOMEM = -1,    /* allocation failed */
    DOCRAG_EIO = -2,       /* file or socket I/O failed */
    DOCRAG_EFORMAT = -3,   /* input is malformed */
    DOCRAG_ENOTFOUND = -4, /* file, key, document or chunk does not exist */
    DOCRAG_EINVAL = -5,    /* invalid argument or option value */
    DOCRAG_ELIMIT = -6,    /* input exceeds a configured limit */
    DOCRAG_EBACKEND = -7,  /* a model back-end or remote service failed */
    DOCRAG_ECANCELLED = -8 /* the caller's stream callback asked to stop */
};

typedef struct {
    int code;       /* 0, or a negative status (see docrag_status_name) */
    char msg[256];  /* names the file, key or endpoint involved */
} docrag_error;

typedef struct docrag_engine docrag_engine;
typedef struct docrag_session docrag_session;

/* ---- the engine ------------------------------------------------------------ */

typedef struct {
    const char *db_path;       /* NULL: the configured database ($DOCRAG_DB,
                                  db: in the config, ./docrag.db) */
    const char *config_path;   /* NULL: $DOCRAG_CONFIG, ./docrag.yaml, or
                                  profile defaults */
    const char *profile;       /* NULL: detected (SPACE_ID -> hf_spaces) */
    const char *const *sets;   /* "key=value" overrides, as --set */
    size_t n_sets;
    int read_only;             /* open an existing index for reading only:
                                  docrag_index and deletes fail */
    int quiet;                 /* log errors only */
    int verbose;               /* log debug messages */
    int scope;                 /* what to open: DOCRAG_SCOPE_* (0 = all) */
    int single_mode;           /* load only what searches in the configured
                                  search.mode (after sets) need: bm25 loads
                                  no embedder and no vectors. For a process
                                  that runs one kind of search (the command
                                  line): a search in another mode falls back
                                  to BM25 with a notice, docrag_index fails
                                  (DOCRAG_EINVAL), and the engine serves one
                                  search at a time */
    int write_usage;           /* with read_only: record usage, cost and
                                  budgets in the index file all the same (as
                                  `docrag ask` does), so a monthly budget
                                  holds across processes; without it a
                                  read-only engine reads the recorded totals
                                  and meters in memory */
} docrag_engine_opts;

/* docrag_engine_opts.scope: how much of the engine to open. Functions that
 * need a part that was not opened fail with DOCRAG_EINVAL. */
enum {
    DOCRAG_SCOPE_ALL = 0,    /* everything below */
    DOCRAG_SCOPE_CONFIG = 1, /* the configuration only: no database is opened
                                or created (docrag_engine_config_show,
                                docrag_engine_db_path, docrag_eval_*) */
    DOCRAG_SCOPE_INDEX = 2,  /* the configuration, the index and usage, no
                                models or chains: sessions for documents,
                                pages, chunks and stats (search, ask and
                                index fail) */
    DOCRAG_SCOPE_MODELS = 3  /* the configuration and the embed / rerank
                                chains, no database (docrag_embed,
                                docrag_rerank) */
};

/* Zero every field. */
void docrag_engine_opts_init(docrag_engine_opts *o);

/* Load the configuration, open (creating unless read_only) the index, load
 * the models and vectors and build the back-end chains (less with a scope
 * or single_mode). A stage that cannot be built (no embedder, a missing
 * model folder) is not an error: its searches fall back to BM25 and say
 * why (in DOCRAG_SCOPE_MODELS, docrag_embed / docrag_rerank fail saying
 * why). db_path is applied as the last "db=" set, so the configuration
 * shows it as a command-line value. Caller owns *out. */
int docrag_engine_open(docrag_engine **out, const docrag_engine_opts *opts,
                       docrag_error *err);
void docrag_engine_close(docrag_engine *e);   /* NULL is a no-op */

/* Pick up index changes committed since the last refresh (by any session
 * or another process): reloads the vectors only when the file changed.
 * Cheap when nothing changed (one PRAGMA). Returns 1 if the index had
 * changed, 0 if not, or a negative status. */
int docrag_engine_refresh(docrag_engine *e, docrag_error *err);
/* A counter that moves whenever the engine sees the index change (its own
 * writes and refreshes that found one): a front end compares it with the
 * value it last saw to know when cached counts are stale. */
uint64_t docrag_engine_generation(docrag_engine *e);

/* What the engine serves: {"db","profile","documents","chunks","vectors",
 * "dense":{"available","reason","model","dim"},"rerank":{"available",
 * "model"},"llm":{"chain":[...],"extractive_only"},"read_only",
 * "breakers":{"llm"|"embed"|"rerank":{"NAME":"closed"|"open"|"half-open"}}}
 * (breakers: each chain's members with an HTTP endpoint) */
int docrag_engine_info(docrag_engine *e, char **json, docrag_error *err);

/* The effective configuration with secrets masked, as `config show --json`
 * prints it. */
int docrag_engine_config(docrag_engine *e, char **json, docrag_error *err);

/* docrag_engine_config_show flags. */
enum {
    DOCRAG_CONFIG_JSON = 1 << 0,   /* JSON instead of YAML */
    DOCRAG_CONFIG_ORIGIN = 1 << 1  /* say where each value came from (default,
                                      profile, FILE:LINE, DOCRAG_*, flag) */
};

/* The effective configuration with secrets masked, as `docrag config show`
 * prints it: YAML (which loads back as a config file) with the origins as
 * comments, or JSON, by flags. *text is the caller's (docrag_free). Works
 * in every scope. */
int docrag_engine_config_show(docrag_engine *e, unsigned flags, char **text,
                              docrag_error *err);

/* The database the engine serves (or, in DOCRAG_SCOPE_CONFIG, would open):
 * db_path, else $DOCRAG_DB / db: / ./docrag.db. Borrowed; valid until the
 * engine is closed. */
const char *docrag_engine_db_path(docrag_engine *e);

/* ---- the store: SQLite file or PostgreSQL replica (docs/scaling.md) ------ */

/* What the engine's store is and, for a postgres:// db, how far its local
 * copy follows the store of record. */
typedef struct {
    char backend[16];       /* "sqlite" or "postgres" */
    char endpoint[256];     /* postgres://USER@HOST:PORT/DB (never a password);
                               the file for sqlite */
    int64_t applied_seq;    /* postgres: the last change applied to the copy */
    int64_t head_seq;       /* postgres: the store's head when last seen */
    int reachable;          /* postgres: the last contact worked (sqlite: 1) */
    int64_t n_full_copies;  /* postgres: full copies of the store since open */
    int64_t n_changes_applied; /* postgres: changes applied since open */
    int64_t max_lag;        /* postgres.ready_max_lag */
    char local_copy[1024];  /* the SQLite file reads run on (the db itself,
                               or a replica's local copy) */
    char error[256];        /* the last error of the store ("" none) */
} docrag_store_state;

/* Fill *out (any thread; cheap: no I/O). */
void docrag_engine_store_state(docrag_engine *e, docrag_store_state *out);
/* 1 when the store can serve: always for SQLite; for PostgreSQL, reachable
 * and the copy at most postgres.ready_max_lag changes behind the head.
 * 0 otherwise, with why (by endpoint) in why[0..n_why). */
int docrag_engine_store_ready(docrag_engine *e, char *why, size_t n_why);

/* Copy the SQLite index at src_path into the empty PostgreSQL store the
 * engine's db names (open the engine with DOCRAG_SCOPE_CONFIG): every row,
 * ids and postings kept, in one transaction; replicas following the store
 * take a full copy. *report (may be NULL): {"db" (the endpoint),"from",
 * "documents","chunks","pages"}. DOCRAG_EINVAL when db is not postgres:// or
 * the store has documents already. */
int docrag_store_import(docrag_engine *e, const char *src_path, char **report,
                        docrag_error *err);

/* ---- shared ingestion jobs (PostgreSQL store only) -------------------------
 * With a postgres:// db, uploads are jobs in the store (any replica may run
 * any job, a job whose worker died is retried after its lease); with a
 * SQLite db these return DOCRAG_EINVAL and a front end keeps its own queue.
 * Thread: one thread per engine calls them (the front end's ingest thread,
 * or a request thread under its own lock). */

/* 1 when the engine's store has the shared job queue. */
int docrag_engine_shared_jobs(docrag_engine *e);

typedef struct {
    int64_t id;
    char key[512];
    unsigned char *payload;   /* owned: docrag_job_fini frees it */
    size_t n_payload;
    int attempts;
} docrag_job;

/* Queue payload under key; the same key gives the same job (*created 0). */
int docrag_job_enqueue(docrag_engine *e, const char *key, const void *payload, size_t n,
                       int64_t *id, int *created, docrag_error *err);
/* Claim the oldest runnable job for owner with a lease of lease_ms: 1
 * claimed (*job filled), 0 none, < 0 error. */
int docrag_job_claim(docrag_engine *e, const char *owner, int lease_ms, docrag_job *job,
                     docrag_error *err);
/* Extend the lease; DOCRAG_ENOTFOUND when owner no longer holds it. */
int docrag_job_renew(docrag_engine *e, int64_t id, const char *owner, int lease_ms,
                     docrag_error *err);
int docrag_job_fail(docrag_engine *e, int64_t id, const char *owner, const char *why,
                    docrag_error *err);
/* state: "queued", "running", "done", "failed". */
int docrag_job_state(docrag_engine *e, int64_t id, char state[16], int *attempts,
                     docrag_error *err);
/* Wait up to wait_ms for a new job: 1 woken, 0 timeout, < 0 error. */
int docrag_job_wait(docrag_engine *e, int wait_ms, docrag_error *err);
/* The job queued under key, with its payload, whatever its state (an
 * upload's bytes stay in the store once its job is done, so a replica that
 * did not run it can make its own copy of the file). DOCRAG_ENOTFOUND when
 * there is none. */
int docrag_job_by_key(docrag_engine *e, const char *key, docrag_job *job, docrag_error *err);
void docrag_job_fini(docrag_job *job);   /* NULL: no-op */

/* Usage and cost per back-end this month and all time (rag_usage's JSON:
 * {"month","backends":{...}}). */
int docrag_engine_usage(docrag_engine *e, char **json, docrag_error *err);

/* The server.* settings (docs/configuration.md) for a front end that
 * serves the engine. Strings and lists are borrowed from the engine and
 * valid until it is closed; keys are real secrets ("role:key"): never
 * print them. */
typedef struct {
    const char *profile;
    const char *db_path;
    const char *host;
    int port;
    int workers;
    int max_queue;
    long max_json_body;
    long max_upload;
    long max_header_bytes;
    int timeout_s;
    double rate_limit;
    int rate_burst;
    int anonymous_read;          /* server.anonymous: read */
    const char *const *keys;     /* server.keys: "read:KEY" | "admin:KEY" */
    size_t n_keys;
    const char *const *cors_origins;
    size_t n_cors_origins;
    int metrics_public;
    const char *const *collections; /* "NAME=FILE" */
    size_t n_collections;
    const char *upload_dir;      /* NULL: DB.files */
    int shutdown_grace_ms;
    int max_batch;
    int sse_ping_s;
    int access_log;
    int stream_workers;          /* extra workers for requests that stream */
    int job_lease_ms;            /* PostgreSQL store: an ingestion job's lease */
} docrag_server_config;

void docrag_engine_server_config(docrag_engine *e, docrag_server_config *out);

/* ---- sessions -------------------------------------------------------------- */

/* A session on e (one thread at a time). Caller owns *out. */
int docrag_session_open(docrag_session **out, docrag_engine *e, docrag_error *err);
void docrag_session_close(docrag_session *s);   /* NULL is a no-op */

/* How a session renders the JSON of docrag_search, docrag_ask (its reply
 * and the sources of a stream) and docrag_chunk. 0 (the default): every
 * "doc" is the stored path, reals have 9 significant digits.
 * DOCRAG_OUT_PUBLIC: as `docrag serve` shows results to its clients: each
 * "doc" is the base name of its path (a server does not reveal where its
 * files live) and reals have 6 significant digits. */
#define DOCRAG_OUT_PUBLIC 1u
void docrag_session_set_output(docrag_session *s, unsigned flags);

/* What the last docrag_search or docrag_ask on a session measured, as its
 * JSON's "timings_ms" says it (keys in that order, at most 16) and whether
 * the answer was refused: for a front end that counts stages without
 * parsing the JSON again. Cleared when such a call starts. */
typedef struct {
    size_t n_stages;
    struct {
        char name[24];
        double ms;
    } stages[16];
    int refused;
} docrag_call_info;
void docrag_session_last_call(const docrag_session *s, docrag_call_info *out);

/* ---- search ---------------------------------------------------------------- */

/* The most results one search returns (k), for every front end. */
#define DOCRAG_K_MAX 1000

typedef struct {
    const char *mode;   /* "bm25" | "dense" | "hybrid"; NULL: search.mode */
    int k;              /* results, 1..DOCRAG_K_MAX; 0: search.k (ask: answer.context_chunks) */
    const char *doc;    /* only documents whose path, or base name as shown
                           in results, matches this glob; NULL: any */
    int page_min;       /* chunks overlapping [page_min, page_max] only; */
    int page_max;       /* 0 = unbounded */
    int rerank;         /* -1: as configured; 0: skip the rerank stage */
} docrag_search_opts;

/* Defaults: mode NULL, k 0, doc NULL, pages 0, rerank -1. */
void docrag_search_opts_init(docrag_search_opts *o);

/* Parse a page range as the command line and the server take it: "N" (one
 * page), "A-B" or "A-" (from A on), 1-based, A <= B <= 1000000, into
 * *page_min / *page_max (0 = unbounded). DOCRAG_EINVAL for anything else. */
int docrag_parse_pages(const char *text, int *page_min, int *page_max);

/* Top chunks for query, as `search --json`:
 * {"query","results":[{"rank","score","chunk_id","doc","title","version",
 * "page_start","page_end","section","text","stages"}],"mode","timings_ms",
 * "notice"?}. opts may be NULL (defaults). DOCRAG_EINVAL names a bad
 * option (unknown mode, k out of range). */
int docrag_search(docrag_session *s, const char *query, const docrag_search_opts *opts,
                  char **json, docrag_error *err);

/* ---- ask ------------------------------------------------------------------- */

/* Streaming callbacks, all optional, called on the asking thread in this
 * order: on_sources once (after retrieval and the gate, before any text),
 * then on_delta with each piece of the answer (LLM tokens, or the
 * extractive answer's sentences), with on_abandon when a back-end fails
 * midway (the text streamed so far is void; the next back-end starts over).
 * A nonzero return from on_sources or on_delta, or from is_cancelled (polled
 * while a remote back-end is waited on), stops the answer: the upstream
 * request is closed and docrag_ask fails with DOCRAG_ECANCELLED. */
typedef struct {
    /* {"sources":[{"n","chunk_id","doc","title","version","page_start","page_end",
     * "section","text","score","stages"}],"mode","notice"?}: the chunks the
     * answer may cite, numbered as the prompt numbers them: streamed LLM
     * text cites these numbers. The final answer (the returned JSON) has
     * its citations renumbered 1..k in order of use; each carries
     * "n_given", its source's n, and "chunk_id". */
    int (*on_sources)(void *ctx, const char *sources_json);
    int (*on_delta)(void *ctx, const char *text, size_t n_bytes);
    void (*on_abandon)(void *ctx, const char *backend, const char *why);
    int (*is_cancelled)(void *ctx);
    void *ctx;
} docrag_stream;

typedef struct {
    docrag_search_opts search;   /* retrieval; k = chunks given to the answer */
    const docrag_stream *stream; /* NULL: no streaming */
} docrag_ask_opts;

void docrag_ask_opts_init(docrag_ask_opts *o);

/* Answer a question, as `ask --json`: {"question","answer","citations":[{"n",
 * "n_given","chunk_id","doc","title","version","page_start","page_end","section"}],
 * "dropped_citations","confidence","refused","backend","model"?,"notice"?,
 * "search_notice"?,"usage"?,"timings_ms"}. n numbers the citations of the
 * answer text; n_given is the number the back-end wrote, the source's
 * number in on_sources (what a streamed answer shows). search_notice says
 * why retrieval fell back. Refusals are answers ("refused": true). opts
 * may be NULL. */
int docrag_ask(docrag_session *s, const char *question, const docrag_ask_opts *opts,
               char **json, docrag_error *err);

/* ---- indexing -------------------------------------------------------------- */

typedef struct {
    int keep_vanished;   /* keep stored documents whose file is gone */
    int no_embed;        /* skip the embedding pass */
    /* stage "file" (path, files done, files total), "embed" (path NULL,
     * chunks done, chunks total), "graph" (NULL, 0, 1 then 1, 1) */
    void (*on_progress)(void *ctx, const char *stage, const char *path, const char *action,
                        size_t n_done, size_t n_total);
    void (*on_error)(void *ctx, const char *path, const char *message);
    void *ctx;
    /* PostgreSQL store: the shared job (docrag_job_claim) this run does;
     * it is completed in the same transaction as the first document
     * written, or at the end when nothing had to be written (the document
     * was there), so a job's document is written exactly once. 0: none. */
    int64_t job_id;
    const char *job_owner;
} docrag_index_opts;

void docrag_index_opts_init(docrag_index_opts *o);

/* Index files and folders incrementally, the whole pipeline of `docrag
 * index`: files (unchanged ones skipped by sha256), the embedding pass,
 * the chunk graph when graph boosting is on; then the engine's vectors are
 * refreshed. *report_json (may be NULL) gets `index --json`'s object:
 * {"db","files","added","updated","unchanged","removed","failed","chunks",
 * "pages","seconds","errors":[{"path","error"}],"documents":[{"id","path",
 * "action"}],"embed"?:{"model","dim","embedded","cached","failed","error"?}}.
 * A file that fails is reported and counted, not an error; an embedding
 * pass that stops is reported in "embed". Fails only for errors of the
 * database (and DOCRAG_EINVAL on a read-only engine). */
int docrag_index(docrag_session *s, const char *const *paths, size_t n_paths,
                 const docrag_index_opts *opts, char **report_json, docrag_error *err);

/* ---- documents ------------------------------------------------------------- */

/* {"documents":[{"id","name","path","title","kind","pages","chunks",
 * "vectors","sha256","bytes","added","status","version","date"}]} ordered by
 * id; version and date as the document states them ("" when it does not). */
int docrag_documents(docrag_session *s, char **json, docrag_error *err);
/* One document of that list. DOCRAG_ENOTFOUND. */
int docrag_document(docrag_session *s, int64_t doc_id, char **json, docrag_error *err);
/* The id of the document with this content hash (hex sha256): 1 and *id,
 * or 0 if none. */
int docrag_document_by_sha(docrag_session *s, const char *sha256_hex, int64_t *doc_id,
                           docrag_error *err);
/* The stored path of the original file (caller frees with docrag_free). */
int docrag_document_path(docrag_session *s, int64_t doc_id, char **path,
                         docrag_error *err);
/* {"document_id","doc","title","page","pages","text"}: the extracted text
 * of one 1-based page. DOCRAG_ENOTFOUND for no such document or page. */
int docrag_page(docrag_session *s, int64_t doc_id, int page, char **json,
                docrag_error *err);
/* docrag_page's object with "kind" (the document's: "pdf", "markdown",
 * "html", "text"), "chunk_id" (when given) and "highlights":[{"start",
 * "end"}]: byte offsets into "text" (UTF-8) of the part of chunk_id that
 * lies on this page; [] when chunk_id is 0 or the chunk is on other pages
 * (a chunk spanning pages has a part on each). For any kind of document:
 * for Markdown, HTML and text, the page text with the passage highlighted
 * is what a viewer shows. DOCRAG_ENOTFOUND for no such document, page or
 * chunk; DOCRAG_EINVAL for a chunk of another document. */
int docrag_page_highlight(docrag_session *s, int64_t doc_id, int page, int64_t chunk_id,
                          char **json, docrag_error *err);

/* ---- page images (the cited page viewer) ----------------------------------- */

typedef struct {
    double scale;              /* image pixels per PDF point (72 dpi), 0.25..4;
                                  0: 1.5 */
    int64_t highlight_chunk;   /* draw boxes over this chunk's text on the
                                  page; 0: none */
    const char *file;          /* read the PDF from here instead of the
                                  document's recorded path: a copy of the
                                  same bytes (a replica's own copy of an
                                  upload another replica indexed); NULL:
                                  the recorded path */
} docrag_page_image_opts;

/* Zero every field (scale 1.5, no highlight, the recorded file). */
void docrag_page_image_opts_init(docrag_page_image_opts *o);

/* Page `page` (1-based) of PDF document doc_id rendered by MuPDF as a PNG
 * (*png, *n_png: the caller's, free with docrag_free), the page's box
 * times the scale rounded out to whole pixels, at most 4096 a side. With
 * highlight_chunk, semi-transparent yellow boxes cover the characters of
 * the part of the chunk's text that lies on this page, one box per run of
 * characters on a line: the PDF is extracted again exactly as it was
 * indexed, recording the character behind every byte of text, so the
 * chunk's byte offsets lead to its characters' positions (no text
 * search). A chunk on other pages draws no box. *info_json (may be NULL)
 * gets {"document_id","page","scale","width","height","chunk_id"?,
 * "boxes":[{"x","y","w","h"}]}, the boxes in pixels of the image (top-left
 * origin), exactly the pixels tinted. Errors: DOCRAG_ENOTFOUND for no such
 * document, page or chunk, or an original file that is gone;
 * DOCRAG_EINVAL for a document that is not a PDF (docrag_page_highlight
 * gives its page text with the passage), a chunk of another document, a
 * scale out of range; DOCRAG_ELIMIT for an image over 4096 pixels wide
 * or tall; DOCRAG_EFORMAT when the file no longer gives the text that was
 * indexed (it or the ingest options changed: re-index it) or cannot be
 * rendered. Messages name the document by id, never by path. Rendering
 * takes tens of milliseconds; a highlight adds one extraction pass over
 * the whole PDF (running headers are found across all its pages). */
int docrag_page_png(docrag_session *s, int64_t doc_id, int page,
                    const docrag_page_image_opts *opts, unsigned char **png, size_t *n_png,
                    char **info_json, docrag_error *err);

/* {"chunk_id","document_id","doc","title","page_start","page_end","section",
 * "byte_start","byte_end","text"}. DOCRAG_ENOTFOUND. */
int docrag_chunk(docrag_session *s, int64_t chunk_id, char **json, docrag_error *err);
/* Remove a document with its chunks and vectors (one transaction), then
 * refresh the engine. DOCRAG_ENOTFOUND. */
int docrag_document_delete(docrag_session *s, int64_t doc_id, docrag_error *err);

/* `stats --json`: counts, sizes, the embedding model and cache, usage. */
int docrag_stats(docrag_session *s, char **json, docrag_error *err);

/* Check the index: SQLite's integrity_check and docrag's own invariants
 * (every chunk's document exists, pages cover chunks, BM25 postings decode
 * and match the chunks, counts are not negative, vectors have the model and
 * dimension of the index, FTS5 has a row per chunk; docs/check.md). On one
 * snapshot, on the session's read-only connection (read-only storage is
 * fine); reads everything, so seconds on a large index. *report_json gets
 * {"db","ok","n_problems","problems":[{"check","message"}],"unlisted",
 * "checked":{"documents","pages","chunks","vectors","terms","postings"}}
 * whenever the check ran: DOCRAG_OK if no problem was found,
 * DOCRAG_EFORMAT if some were (err names how many and the first). Other
 * codes: the check could not run (*report_json NULL). */
int docrag_check(docrag_session *s, char **report_json, docrag_error *err);

/* ---- models ---------------------------------------------------------------- */

/* Embed n texts with the configured embedder (chains.embed): out gets
 * n * docrag_embed_dim floats. DOCRAG_ENOTFOUND when none is configured.
 * Any thread; calls are serialised on the model. */
int docrag_embed(docrag_engine *e, const char *const *texts, size_t n_texts, float *out,
                 docrag_error *err);
/* 0 without an embedder (or when a remote one cannot tell yet). */
size_t docrag_embed_dim(docrag_engine *e);
/* The embedder's model id, or NULL without one. Borrowed. */
const char *docrag_embed_model(docrag_engine *e);
/* Score n passages against query with the configured reranker
 * (chains.rerank), higher is better. DOCRAG_ENOTFOUND when none. */
int docrag_rerank(docrag_engine *e, const char *query, const char *const *passages,
                  size_t n_passages, float *scores, docrag_error *err);
const char *docrag_rerank_model(docrag_engine *e);

/* ---- evaluation ------------------------------------------------------------ */

/* Retrieval evaluation (docs/evaluation.md), on any engine (the
 * configuration's chunking, chains and search.* settings are used; a
 * DOCRAG_SCOPE_CONFIG engine is enough: each run builds an index of its
 * own). One evaluation at a time per engine. */
typedef struct {
    const char *mode;      /* "bm25" | "dense" | "hybrid" | "hybrid+rerank";
                              NULL: bm25. A mode that cannot run falls back
                              with "notice" */
    const char *run_path;  /* BEIR: write a TREC run file here; NULL: none */
    const char *db_path;   /* QA: index the documents into this database
                              (kept; unchanged files are reused); NULL: a
                              temporary in-memory index */
    int k;                 /* QA: results read per question, 1..1000; 0: 10 */
} docrag_eval_opts;

void docrag_eval_opts_init(docrag_eval_opts *o);

/* A BEIR-layout collection in dir (corpus.jsonl, queries.jsonl,
 * qrels/test.tsv): {"ndcg@10","recall@100","mrr@10","queries","docs",
 * "chunks","mode","mode_used","index_seconds","query_seconds","embed"?,
 * "notice"?}. Errors name the file and line. */
int docrag_eval_beir(docrag_engine *e, const char *dir, const docrag_eval_opts *opts,
                     char **json, docrag_error *err);

/* A QA file (JSON lines: id, question, doc, pages, evidence) over the
 * documents in docs_dir: {"page-hit@1","page-hit@5","page-hit@10","mrr@10",
 * "questions","docs","chunks","mode","mode_used","rerank_requested",
 * "reranked","notice","k","query_seconds","questions_hit":[{"id",
 * "first_hit"}],"index":{"added","updated","unchanged","removed","failed"},
 * "embed"?,"misses":[{"id","doc","page","question"}]}; first_hit 0 is a
 * miss. Errors name the file and line, or the expected document missing
 * from docs_dir. */
int docrag_eval_qa(docrag_engine *e, const char *qa_path, const char *docs_dir,
                   const docrag_eval_opts *opts, char **json, docrag_error *err);

/* Check a QA file's evidence against the text extracted from its pages:
 * {"questions","pages","problems":[{"line","id","message"}]}. Problems are
 * findings, not errors. */
int docrag_eval_qa_check(docrag_engine *e, const char *qa_path, const char *docs_dir,
                         char **json, docrag_error *err);

/* The answer-quality eval (docs/evaluation.md): every question of an
 * answers file (JSON lines: id, kind, question, sources, nuggets, or
 * "answerable": false) asked through docrag_ask on s, so it scores whatever
 * answers (extractive, or the configured LLM chain). With docs_dir, the
 * folder is indexed into s's database first (docrag_index; unchanged files
 * are skipped); every expected document must then be in the index.
 * opts: mode ("bm25" | "dense" | "hybrid"; NULL: search.mode) and k
 * (chunks given to each answer; 0: answer.context_chunks); db_path and
 * run_path are not used. JSON: {"questions","answerable","unanswerable",
 * "mode","k","all_nuggets","nugget_recall","false_refusal",
 * "refused_unanswerable","sentences","junk","duplicate",
 * "junk_or_duplicate","auc","backends":{NAME:n},"by_kind":[{"kind","n",
 * "all_nuggets","nugget_recall","refused"}],"results":[{"id","kind",
 * "answerable","refused","confidence","backend","nuggets","nuggets_held",
 * "missing":[...],"sentences","junk":[{"kind","text"}],"duplicates",
 * "answer"}],"misses":[{"id","kind","question","why"}],"index"?:{...},
 * "notice"?}. Rates are in [0,1]; "auc" is null when every question is
 * right or every one wrong. Errors name the file and line. */
int docrag_eval_answers(docrag_session *s, const char *answers_path, const char *docs_dir,
                        const docrag_eval_opts *opts, char **json, docrag_error *err);

/* Check an answers file's nuggets against the text extracted from their
 * sources' pages in docs_dir: {"questions","nuggets","problems":[{"line",
 * "id","message"}]}. Problems are findings, not errors. */
int docrag_eval_answers_check(docrag_engine *e, const char *answers_path,
                              const char *docs_dir, char **json, docrag_error *err);

/* ---- model folders --------------------------------------------------------- */

/* Model folders from the Hugging Face Hub ($HF_ENDPOINT or
 * https://huggingface.co; $HF_TOKEN is sent when set). No engine needed;
 * any thread. */
typedef struct {
    const char *dir;       /* the models root; NULL: $DOCRAG_MODELS, else
                              ./models (where the profiles' local model is
                              read from). Model ID lives in ROOT/ID */
    const char *revision;  /* NULL: "main" */
    /* Download progress (may be NULL): file name, bytes so far, total
     * (-1 unknown). Called on the pulling thread. */
    void (*on_progress)(void *ctx, const char *file, int64_t n_done_bytes,
                        int64_t n_total_bytes);
    void *ctx;
    /* Optional: an engine (any scope, DOCRAG_SCOPE_CONFIG is enough) whose
     * configuration gives the pull's limits (models.pull_timeout_s,
     * models.pull_idle_s, models.pull_max_retry_after_s); NULL: the
     * defaults of those keys. Borrowed. */
    docrag_engine *config;
} docrag_models_opts;

void docrag_models_opts_init(docrag_models_opts *o);

/* Pull the sentence-transformers folder model_id ("org/name"), resuming
 * partial files and checking sizes and hashes: {"id","dir","files",
 * "downloaded","missing_optional","bytes"} (bytes transferred now).
 * DOCRAG_ENOTFOUND names a required file the repository lacks. */
int docrag_models_pull(const char *model_id, const docrag_models_opts *opts, char **json,
                       docrag_error *err);

/* The model folders under the root (ROOT/name and ROOT/org/name holding a
 * config.json), by id: {"root","models":[{"id","architecture","bytes",
 * "complete"}]}; complete is false while weights are missing or partial. */
int docrag_models_list(const docrag_models_opts *opts, char **json, docrag_error *err);

/* ---- logging --------------------------------------------------------------- */

enum {
    DOCRAG_LOG_DEBUG = 0,
    DOCRAG_LOG_INFO = 1,
    DOCRAG_LOG_WARN = 2,
    DOCRAG_LOG_ERROR = 3
};

/* Where the library's log lines go: fn gets each line at or above the
 * level (no trailing newline); NULL restores the default, "docrag: LEVEL:
 * message" on stderr. Process-wide: set it before engines are opened and
 * threads start; fn may then be called from any thread. */
typedef void (*docrag_log_fn)(void *ctx, int level, const char *msg);
void docrag_log_set(docrag_log_fn fn, void *ctx);
/* Drop lines below level (default DOCRAG_LOG_INFO). docrag_engine_open
 * sets it from quiet / verbose, else from log_level in the configuration. */
void docrag_log_set_level(int level);

/* ---- misc ------------------------------------------------------------------ */

/* Tune the process for a long-lived engine, first thing in main (before
 * threads start): with glibc, blocks of 1 MB and more (model tensors,
 * activations, vector matrices) come from mmap and go back to the system
 * when freed, so the RSS stays what is in use. A no-op elsewhere. */
void docrag_tune_process(void);

void docrag_free(void *p);
/* Text safe to print on a terminal, for names and paths that come from
 * anywhere ("name\e[2J.txt"): s copied into out (n_out > 0 bytes,
 * NUL-terminated, cut at a character boundary) with control characters
 * (C0, DEL, C1) and bytes that are not UTF-8 written as \xNN / \u00NN
 * escapes. Error messages (docrag_error) are already made so. Returns the
 * length written. */
size_t docrag_visible(char *out, size_t n_out, const char *s);
const char *docrag_status_name(int code);
const char *docrag_version(void);

#ifdef __cplusplus
}
#endif

#endif
