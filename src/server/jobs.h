/* jobs.h - private to src/server: ingestion jobs for uploads.
 *
 * An upload is saved to the collection's upload folder first (written to a
 * temporary name, synced, renamed: a file is there whole or not at all),
 * then queued as a job. One ingest thread runs jobs in order through
 * docrag_index on a session of its own, so searches keep being served by
 * the workers; the engine's writer lock makes it the one writer. Each job
 * keeps its progress events; GET /v1/jobs/{id}/events replays them and
 * follows live ones (the job pushes to its subscribed streams). Jobs are
 * kept in memory, the last 256.
 */
#ifndef RAG_SRV_JOBS_H
#define RAG_SRV_JOBS_H

#include "srv.h"

typedef struct srv_jobs srv_jobs;

int srv_jobs_create(srv_jobs **out, srv *s, docrag_error *err);
/* Finish the running job, drop queued ones (marked failed: shutdown). */
void srv_jobs_stop(srv_jobs *j);
void srv_jobs_destroy(srv_jobs *j);
/* 1 when no job runs or waits. */
int srv_jobs_idle(srv_jobs *j);

/* Queue files already saved under coll's upload folder; docs is the 202's
 * "documents" array (stolen), with one {"name","path",...} object per file
 * in paths order. id gets the job id. RAG_ELIMIT when 64 jobs wait. */
int srv_jobs_submit(srv_jobs *j, srv_coll *coll, char **paths, size_t n_paths, json_t *docs,
                    char id[40], docrag_error *err);
/* {"id","status","collection","documents","created","started"?,"finished"?,
 * "error"?,"report"?}; NULL if there is no such job. */
json_t *srv_jobs_get(srv_jobs *j, const char *id);
/* Stream the job's events to r (already started as SSE): past ones now,
 * later ones as they happen, then `done` or `error`, then the stream ends.
 * 0, or -1 if there is no such job (nothing sent). */
int srv_jobs_follow(srv_jobs *j, const char *id, srv_req *r);

/* ---- shared jobs (a collection on a PostgreSQL store) ---------------------
 * An upload to such a collection is a job in the store (docrag_job_enqueue,
 * key "upload:SHA256"), its payload the header line {"name","sha256"} and
 * the file's bytes, so any replica may run it. Every replica runs a second
 * ingest thread that claims these jobs (a lease of server.job_lease_ms,
 * renewed while it works), writes the file to its own upload folder and
 * indexes it with the completion in the document's transaction; a replica
 * killed meanwhile leaves the job to another once the lease ends. Their ids
 * are "pg_N"; GET /v1/jobs/pg_N reads the state from the store. */

/* The payload of a shared upload job (caller owns *out: rag_free): the
 * header line {"name","sha256"} (JSON, one line), "\n", the file's bytes. */
int srv_jobs_payload(unsigned char **out, size_t *n_out, const char *name, const char *sha,
                     const void *data, size_t n);
/* Read a payload back (it comes from the store: checked as outside input):
 * name must be its own safe file name (rag_safe_filename), sha256 64
 * lowercase hex digits and the SHA-256 of the bytes. name, sha and
 * *data (pointing into payload) are filled; 0, or -1 with why. */
int srv_jobs_payload_parse(const unsigned char *payload, size_t n, char *name, size_t n_name,
                           char sha[65], const unsigned char **data, size_t *n_data,
                           char *why, size_t n_why);
/* {"id","status","attempts","collection"} of shared job id in coll;
 * NULL and *err set when it cannot be read (DOCRAG_ENOTFOUND: no job). */
json_t *srv_jobs_shared_get(srv_coll *coll, const char *id, docrag_error *err);
/* GET /v1/jobs/pg_N/events on any replica: r is started as SSE and gets a
 * `status` event with that object now and whenever the state or the
 * attempts change (the store is read every SHARED_POLL_MS, whichever
 * replica runs the job), then `done` or `error` (failed) with it, and the
 * stream ends; also when the client goes, the server stops, or the store
 * cannot be read for SHARED_POLL_FAILS reads in a row (`error` with
 * {"error":{"type":"store_unavailable","message"}}). first is what
 * srv_jobs_shared_get read before (the route answered 404 / 503 without
 * it); it is consumed. */
void srv_jobs_shared_follow(srv_coll *coll, const char *id, json_t *first, srv_req *r);

/* routes_docs.c: write data to dir/sub/name whole (temporary file, fsync,
 * rename); the absolute path into *out_path (caller frees: rag_free). */
int srv_save_upload(const char *dir, const char *sub, const char *name, const void *data,
                    size_t n, char **out_path, char *why, size_t n_why);

#endif
