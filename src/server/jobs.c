/* jobs.c - the ingestion job queue (jobs.h): the process's own queue, and
 * the shared one of a collection on a PostgreSQL store. */
#include "jobs.h"
#include "http_parse.h"
#include "srv_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_JOBS 256
#define MAX_WAITING 64
#define MAX_EVENTS 20000
#define MAX_FOLLOWERS 16

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE, JOB_FAILED } job_state;

static const char *const state_names[] = {"queued", "running", "done", "failed"};

typedef struct {
    char id[40];
    srv_coll *coll;
    job_state state;
    char **paths;
    size_t n_paths;
    json_t *docs;        /* the upload's documents, ids filled in when done */
    json_t *events;      /* [{"stage",...}] */
    json_t *report;      /* docrag_index's report */
    char error[256];
    double created, started, finished;   /* unix ms */
    srv_req *followers[MAX_FOLLOWERS];
    size_t n_followers;
    int used;
} job;

struct srv_jobs {
    srv *s;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    job jobs[MAX_JOBS];  /* ring: the oldest finished job is reused */
    size_t next;         /* where the next job goes */
    unsigned long counter;
    int stop;
    int busy;
    pthread_t th;
    int started;
    pthread_t pg_th;     /* the shared jobs' ingest thread */
    int pg_started;
    _Atomic int pg_stop;
};

static double unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static job *find(srv_jobs *j, const char *id)
{
    for (size_t i = 0; i < MAX_JOBS; i++)
        if (j->jobs[i].used && !strcmp(j->jobs[i].id, id))
            return &j->jobs[i];
    return NULL;
}

static void free_job(job *jb)
{
    for (size_t i = 0; i < jb->n_paths; i++)
        rag_free(jb->paths[i]);
    rag_free(jb->paths);
    json_decref(jb->docs);
    json_decref(jb->events);
    json_decref(jb->report);
    for (size_t i = 0; i < jb->n_followers; i++) {
        srv_stream_end(jb->followers[i]);
        srv_req_release(jb->followers[i]);
    }
    memset(jb, 0, sizeof *jb);
}

/* Under mu: record an event and push it to the followers. */
static void emit(job *jb, const char *event, json_t *ev)
{
    char *text;
    if (!ev)
        return;
    json_object_set_new(ev, "t_ms", json_integer((json_int_t)unix_ms()));
    text = json_dumps(ev, JSON_COMPACT);
    if (json_array_size(jb->events) < MAX_EVENTS)
        json_array_append(jb->events, ev);
    json_decref(ev);
    if (!text)
        return;
    for (size_t i = 0; i < jb->n_followers; i++)
        srv_stream_event(jb->followers[i], event, text);
    free(text);
}

/* Under mu. A copy: the caller may read it after unlocking while the job
 * goes on changing its docs (sharing them raced with merge_report). */
static json_t *job_json(const job *jb)
{
    /* times: unix seconds, as documents' "added" */
    json_t *o = json_pack("{s:s,s:s,s:s,s:o,s:I}", "id", jb->id, "status",
                          state_names[jb->state], "collection", jb->coll->name, "documents",
                          json_deep_copy(jb->docs), "created", (json_int_t)(jb->created / 1e3));
    if (!o)
        return NULL;
    if (jb->started)
        json_object_set_new(o, "started", json_integer((json_int_t)(jb->started / 1e3)));
    if (jb->finished) {
        json_object_set_new(o, "finished", json_integer((json_int_t)(jb->finished / 1e3)));
        json_object_set_new(o, "seconds",
                            json_real((jb->finished - (jb->started ? jb->started : jb->created)) / 1e3));
    }
    if (jb->error[0])
        json_object_set_new(o, "error", json_string(jb->error));
    if (jb->report)
        json_object_set_new(o, "report", json_deep_copy(jb->report));
    json_object_set_new(o, "events", json_integer((json_int_t)json_array_size(jb->events)));
    return o;
}

/* Under mu: the terminal event, then close every follower's stream. */
static void finish(job *jb)
{
    json_t *o = job_json(jb);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    for (size_t i = 0; i < jb->n_followers; i++) {
        if (text)
            srv_stream_event(jb->followers[i], jb->state == JOB_DONE ? "done" : "error", text);
        srv_stream_end(jb->followers[i]);
        srv_req_release(jb->followers[i]);
    }
    jb->n_followers = 0;
    free(text);
}

typedef struct {
    srv_jobs *j;
    job *jb;
} run_ctx;

static void on_progress(void *ctx, const char *stage, const char *path, const char *action,
                        size_t n_done, size_t n_total)
{
    run_ctx *c = ctx;
    const char *name = path ? strrchr(path, '/') : NULL;
    json_t *ev = json_pack("{s:s,s:I,s:I}", "stage", stage, "done", (json_int_t)n_done,
                           "total", (json_int_t)n_total);
    if (ev && path)
        json_object_set_new(ev, "file", json_string(name ? name + 1 : path));
    if (ev && action)
        json_object_set_new(ev, "action", json_string(action));
    pthread_mutex_lock(&c->j->mu);
    emit(c->jb, "progress", ev);
    pthread_mutex_unlock(&c->j->mu);
}

static void on_error(void *ctx, const char *path, const char *message)
{
    run_ctx *c = ctx;
    const char *name = strrchr(path, '/');
    /* the message may name the server's upload folder: keep the file name */
    const char *m = strstr(message, path) == message ? message + strlen(path) : message;
    json_t *ev;
    while (*m == ':' || *m == ' ')
        m++;
    ev = json_pack("{s:s,s:s,s:s}", "stage", "file_error", "file", name ? name + 1 : path,
                   "error", m);
    pthread_mutex_lock(&c->j->mu);
    emit(c->jb, "progress", ev);
    pthread_mutex_unlock(&c->j->mu);
}

/* Fill each uploaded document's id / status from the report. */
static void merge_report(job *jb, json_t *report)
{
    size_t i, k;
    json_t *d, *rd;
    json_array_foreach(jb->docs, i, d) {
        const char *path = json_string_value(json_object_get(d, "path"));
        if (json_is_true(json_object_get(d, "duplicate")))
            continue;
        json_object_set_new(d, "status", json_string("failed"));
        json_array_foreach(json_object_get(report, "documents"), k, rd) {
            if (path && !strcmp(path, json_string_value(json_object_get(rd, "path")))) {
                const char *action = json_string_value(json_object_get(rd, "action"));
                json_object_set(d, "id", json_object_get(rd, "id"));
                json_object_set_new(d, "status", json_string(
                    action && strcmp(action, "failed") ? "indexed" : "failed"));
            }
        }
        json_array_foreach(json_object_get(report, "errors"), k, rd) {
            if (path && !strcmp(path, json_string_value(json_object_get(rd, "path")))) {
                const char *msg = json_string_value(json_object_get(rd, "error"));
                const char *m = msg && strstr(msg, path) == msg ? msg + strlen(path) : msg;
                while (m && (*m == ':' || *m == ' '))
                    m++;
                json_object_set_new(d, "error", json_string(m ? m : "failed"));
            }
        }
    }
    json_array_foreach(jb->docs, i, d)
        json_object_del(d, "path");   /* server paths are not for clients */
}

static void run_job(srv_jobs *j, job *jb, docrag_session **sessions)
{
    size_t ci = (size_t)(jb->coll - j->s->info.colls);
    docrag_index_opts o;
    docrag_error err;
    char *report = NULL;
    run_ctx c = {j, jb};
    json_t *rep = NULL;
    int rc = 0;

    docrag_index_opts_init(&o);
    o.keep_vanished = 1;
    o.on_progress = on_progress;
    o.on_error = on_error;
    o.ctx = &c;
    if (!sessions[ci])
        rc = docrag_session_open(&sessions[ci], jb->coll->engine, &err);
    if (rc == 0)
        rc = docrag_index(sessions[ci], (const char *const *)jb->paths, jb->n_paths, &o,
                          &report, &err);
    if (rc == 0)
        rep = json_loads(report, 0, NULL);
    docrag_free(report);
    pthread_mutex_lock(&j->mu);
    jb->finished = unix_ms();
    if (rc != 0) {
        jb->state = JOB_FAILED;
        rag_log(RAG_LOG_ERROR, "job %s: %s", jb->id, err.msg);
        snprintf(jb->error, sizeof jb->error, "indexing failed: %s",
                 err.code == DOCRAG_ENOMEM ? "out of memory" : "database error (see server log)");
    } else {
        size_t n_ok = 0, i;
        json_t *d;
        merge_report(jb, rep);
        json_array_foreach(jb->docs, i, d)
            if (strcmp(json_string_value(json_object_get(d, "status")), "failed"))
                n_ok++;
        json_object_del(rep, "db");
        json_object_del(rep, "documents");
        json_object_del(rep, "errors");
        jb->report = rep;
        jb->state = n_ok || !json_array_size(jb->docs) ? JOB_DONE : JOB_FAILED;
        if (jb->state == JOB_FAILED)
            snprintf(jb->error, sizeof jb->error, "no file could be indexed");
    }
    finish(jb);
    pthread_mutex_unlock(&j->mu);
}

static void *ingest_main(void *arg)
{
    srv_jobs *j = arg;
    docrag_session *sessions[SRV_MAX_COLLS] = {0};
    for (;;) {
        job *next = NULL;
        pthread_mutex_lock(&j->mu);
        for (;;) {
            double oldest = 0;
            for (size_t i = 0; i < MAX_JOBS; i++)
                if (j->jobs[i].used && j->jobs[i].state == JOB_QUEUED &&
                    (!next || j->jobs[i].created < oldest)) {
                    next = &j->jobs[i];
                    oldest = next->created;
                }
            if (next || j->stop)
                break;
            pthread_cond_wait(&j->cv, &j->mu);
        }
        if (!next) {
            pthread_mutex_unlock(&j->mu);
            break;
        }
        next->state = JOB_RUNNING;
        next->started = unix_ms();
        j->busy = 1;
        emit(next, "progress", json_pack("{s:s,s:I}", "stage", "start", "files",
                                         (json_int_t)next->n_paths));
        pthread_mutex_unlock(&j->mu);
        run_job(j, next, sessions);
        pthread_mutex_lock(&j->mu);
        j->busy = 0;
        pthread_mutex_unlock(&j->mu);
    }
    for (size_t i = 0; i < SRV_MAX_COLLS; i++)
        docrag_session_close(sessions[i]);
    return NULL;
}

/* ---- shared jobs ------------------------------------------------------------ */

int srv_jobs_payload(unsigned char **out, size_t *n_out, const char *name, const char *sha,
                     const void *data, size_t n)
{
    json_t *h = json_pack("{s:s,s:s}", "name", name, "sha256", sha);
    char *head = h ? json_dumps(h, JSON_COMPACT) : NULL;
    size_t n_head = head ? strlen(head) : 0;
    json_decref(h);
    *out = head ? rag_malloc(n_head + 1 + n) : NULL;
    if (!*out) {
        free(head);
        return -1;
    }
    memcpy(*out, head, n_head);
    (*out)[n_head] = '\n';
    memcpy(*out + n_head + 1, data, n);
    *n_out = n_head + 1 + n;
    free(head);
    return 0;
}

int srv_jobs_payload_parse(const unsigned char *payload, size_t n, char *name, size_t n_name,
                           char sha[65], const unsigned char **data, size_t *n_data,
                           char *why, size_t n_why)
{
    const unsigned char *nl = payload ? memchr(payload, '\n', n) : NULL;
    json_t *h = nl ? json_loadb((const char *)payload, (size_t)(nl - payload), 0, NULL) : NULL;
    const char *hn = json_string_value(json_object_get(h, "name"));
    const char *hs = json_string_value(json_object_get(h, "sha256"));
    char safe[RAG_FILENAME_MAX + 1], got[65];
    int rc = -1;

    if (!hn || !hs) {
        snprintf(why, n_why, "the job's payload has no upload header");
    } else if (rag_safe_filename(safe, sizeof safe, hn, NULL) != RAG_OK || strcmp(safe, hn) ||
               strlen(hn) >= n_name) {
        snprintf(why, n_why, "the job's file name is not a safe name");
    } else if (strlen(hs) != 64 || strspn(hs, "0123456789abcdef") != 64) {
        snprintf(why, n_why, "the job's sha256 is not 64 hex digits");
    } else {
        rag_sha256_hex(nl + 1, n - (size_t)(nl + 1 - payload), got);
        if (strcmp(got, hs)) {
            snprintf(why, n_why, "the job's bytes do not match its sha256");
        } else {
            memcpy(name, hn, strlen(hn) + 1);
            memcpy(sha, hs, 65);
            *data = nl + 1;
            *n_data = n - (size_t)(nl + 1 - payload);
            rc = 0;
        }
    }
    json_decref(h);
    return rc;
}

json_t *srv_jobs_shared_get(srv_coll *coll, const char *id, docrag_error *err)
{
    char state[16], *end;
    int attempts;
    long long n = strtoll(id + 3, &end, 10);
    if (strncmp(id, "pg_", 3) || *end || n <= 0) {
        snprintf(err->msg, sizeof err->msg, "no job %.40s", id);
        err->code = DOCRAG_ENOTFOUND;
        return NULL;
    }
    if (docrag_job_state(coll->engine, n, state, &attempts, err) != 0)
        return NULL;
    return json_pack("{s:s,s:s,s:i,s:s}", "id", id, "status", state, "attempts", attempts,
                     "collection", coll->name);
}

#define SHARED_POLL_MS 250
#define SHARED_POLL_FAILS 40   /* 10 s */

void srv_jobs_shared_follow(srv_coll *coll, const char *id, json_t *first, srv_req *r)
{
    srv *s = r->s;
    json_t *o = first;
    char last[16] = "";
    int last_attempts = -1, fails = 0;
    docrag_error err;

    srv_stream_start(r, 200, "text/event-stream");
    for (;;) {
        if (o) {
            const char *st = json_string_value(json_object_get(o, "status"));
            int attempts = (int)json_integer_value(json_object_get(o, "attempts"));
            int end = st && (!strcmp(st, "done") || !strcmp(st, "failed"));
            fails = 0;
            if (!st)
                st = "";
            if (end || strcmp(st, last) || attempts != last_attempts) {
                if (srv_stream_event_json(r, end ? (!strcmp(st, "done") ? "done" : "error")
                                                 : "status", json_incref(o)) < 0)
                    end = 1;
                snprintf(last, sizeof last, "%s", st);
                last_attempts = attempts;
            }
            json_decref(o);
            o = NULL;
            if (end)
                break;
        } else if (++fails >= SHARED_POLL_FAILS) {
            srv_stream_event_json(r, "error",
                                  json_pack("{s:{s:s,s:s}}", "error", "type",
                                            "store_unavailable", "message", err.msg));
            break;
        }
        for (int waited = 0; waited < SHARED_POLL_MS; waited += 50) {
            if (srv_req_closed(r) || atomic_load(&s->stopping))
                goto out;
            usleep(50 * 1000);
        }
        o = srv_jobs_shared_get(coll, id, &err);
    }
out:
    json_decref(o);
    srv_stream_end(r);
}

typedef struct {
    docrag_engine *e;
    int64_t id;
    const char *owner;
    int lease_ms;
    double renewed;
} lease_ctx;

/* Progress of a shared job: renew its lease every third of it. */
static void on_shared_progress(void *ctx, const char *stage, const char *path,
                               const char *action, size_t n_done, size_t n_total)
{
    lease_ctx *c = ctx;
    docrag_error err;
    (void)stage;
    (void)path;
    (void)action;
    (void)n_done;
    (void)n_total;
    if (rag_now_ms() - c->renewed < c->lease_ms / 3.0)
        return;
    c->renewed = rag_now_ms();
    if (docrag_job_renew(c->e, c->id, c->owner, c->lease_ms, &err) != 0)
        rag_log(RAG_LOG_WARN, "job pg_%lld: lease not renewed: %s", (long long)c->id, err.msg);
}

/* Run one claimed shared job of coll on session *ss. */
static void run_shared(srv_jobs *j, srv_coll *coll, docrag_session **ss, docrag_job *jb,
                       const char *owner)
{
    docrag_engine *e = coll->engine;
    char name[RAG_FILENAME_MAX + 1], sha[65];
    char stored[24], why[256] = "", *path = NULL, *report = NULL;
    lease_ctx lc = {e, jb->id, owner, j->s->info.cfg.job_lease_ms, rag_now_ms()};
    const unsigned char *data = NULL;
    size_t n_data = 0;
    docrag_index_opts o;
    docrag_error err;
    int rc;

    rc = srv_jobs_payload_parse(jb->payload, jb->n_payload, name, sizeof name, sha, &data,
                                &n_data, why, sizeof why);
    if (rc == 0) {
        snprintf(stored, sizeof stored, "%.16s", sha);
        rc = srv_save_upload(coll->upload_dir, stored, name, data, n_data, &path, why,
                             sizeof why);
    }
    if (rc == 0 && !*ss && docrag_session_open(ss, e, &err) != 0) {
        snprintf(why, sizeof why, "%s", err.msg);
        rc = -1;
    }
    if (rc == 0) {
        const char *paths[1] = {path};
        docrag_index_opts_init(&o);
        o.keep_vanished = 1;
        o.on_progress = on_shared_progress;
        o.ctx = &lc;
        o.job_id = jb->id;
        o.job_owner = owner;
        rag_log(RAG_LOG_INFO, "job pg_%lld: %s (attempt %d)", (long long)jb->id, name,
                jb->attempts);
        if (docrag_index(*ss, paths, 1, &o, &report, &err) != 0) {
            snprintf(why, sizeof why, "%s", err.msg);
            rc = -1;
        } else {
            /* the file could not be indexed: the job is given back (retried,
             * then failed) with the indexer's reason, without the server's path */
            json_t *rj = json_loads(report, 0, NULL);
            if (json_integer_value(json_object_get(rj, "failed")) > 0) {
                const char *m = json_string_value(json_object_get(
                    json_array_get(json_object_get(rj, "errors"), 0), "error"));
                const char *p = m && strstr(m, path) == m ? m + strlen(path) : m;
                while (p && (*p == ':' || *p == ' '))
                    p++;
                snprintf(why, sizeof why, "%s: %s", name, p && *p ? p : "cannot be indexed");
                rc = -1;
            }
            json_decref(rj);
        }
    }
    if (rc != 0) {
        rag_log(RAG_LOG_ERROR, "job pg_%lld: %s", (long long)jb->id, why);
        if (docrag_job_fail(e, jb->id, owner, why, &err) != 0)
            rag_log(RAG_LOG_WARN, "job pg_%lld: not given back: %s", (long long)jb->id,
                    err.msg);
    }
    docrag_free(report);
    rag_free(path);
}

/* The shared jobs' ingest thread: claims jobs of every collection on a
 * PostgreSQL store, one at a time; ends at once when there is none. */
static void *shared_main(void *arg)
{
    srv_jobs *j = arg;
    srv *s = j->s;
    docrag_session *sessions[SRV_MAX_COLLS] = {0};
    char owner[160], host[96] = "";
    char last_error[256] = "";

    /* ready (set by the loader, started after the socket is bound) orders
     * base_url's write before the read below */
    while (!atomic_load(&j->pg_stop) && !atomic_load(&s->ready))
        usleep(50 * 1000);
    gethostname(host, sizeof host - 1);
    snprintf(owner, sizeof owner, "%s:%ld:%s", host, (long)getpid(), s->info.base_url);
    while (!atomic_load(&j->pg_stop)) {
        docrag_engine *waiter = NULL;
        int worked = 0;
        for (size_t i = 0; i < s->info.n_colls && !atomic_load(&j->pg_stop); i++) {
            srv_coll *c = &s->info.colls[i];
            docrag_job jb;
            docrag_error err;
            int rc;
            if (!c->engine || !docrag_engine_shared_jobs(c->engine))
                continue;
            waiter = c->engine;
            rc = docrag_job_claim(c->engine, owner, s->info.cfg.job_lease_ms, &jb, &err);
            if (rc < 0 && strcmp(last_error, err.msg)) {
                rag_log(RAG_LOG_WARN, "collection %s: jobs: %s", c->name, err.msg);
                snprintf(last_error, sizeof last_error, "%s", err.msg);
            }
            if (rc == 1) {
                last_error[0] = '\0';
                run_shared(j, c, &sessions[i], &jb, owner);
                worked = 1;
            }
            docrag_job_fini(&jb);
        }
        if (!waiter)
            break;   /* no collection on a PostgreSQL store */
        if (!worked) {
            docrag_error err;
            if (docrag_job_wait(waiter, 250, &err) < 0)
                usleep(250 * 1000);
        }
    }
    for (size_t i = 0; i < SRV_MAX_COLLS; i++)
        docrag_session_close(sessions[i]);
    return NULL;
}

int srv_jobs_create(srv_jobs **out, srv *s, docrag_error *err)
{
    srv_jobs *j = rag_calloc(1, sizeof *j);
    *out = NULL;
    if (!j) {
        snprintf(err->msg, sizeof err->msg, "out of memory");
        return err->code = DOCRAG_ENOMEM;
    }
    j->s = s;
    pthread_mutex_init(&j->mu, NULL);
    pthread_cond_init(&j->cv, NULL);
    if (pthread_create(&j->th, NULL, ingest_main, j) != 0) {
        pthread_mutex_destroy(&j->mu);
        pthread_cond_destroy(&j->cv);
        rag_free(j);
        snprintf(err->msg, sizeof err->msg, "cannot start the ingest thread");
        return err->code = DOCRAG_ENOMEM;
    }
    j->started = 1;
    if (pthread_create(&j->pg_th, NULL, shared_main, j) == 0)
        j->pg_started = 1;
    else
        rag_log(RAG_LOG_WARN, "cannot start the shared ingest thread");
    *out = j;
    return 0;
}

void srv_jobs_stop(srv_jobs *j)
{
    if (!j || !j->started)
        return;
    pthread_mutex_lock(&j->mu);
    j->stop = 1;
    for (size_t i = 0; i < MAX_JOBS; i++) {
        job *jb = &j->jobs[i];
        if (jb->used && jb->state == JOB_QUEUED) {
            jb->state = JOB_FAILED;
            snprintf(jb->error, sizeof jb->error,
                     "the server stopped before this job ran; upload again");
            finish(jb);
        }
    }
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    pthread_join(j->th, NULL);
    j->started = 0;
    if (j->pg_started) {
        atomic_store(&j->pg_stop, 1);
        pthread_join(j->pg_th, NULL);
        j->pg_started = 0;
    }
}

void srv_jobs_destroy(srv_jobs *j)
{
    if (!j)
        return;
    srv_jobs_stop(j);
    for (size_t i = 0; i < MAX_JOBS; i++)
        if (j->jobs[i].used)
            free_job(&j->jobs[i]);
    pthread_mutex_destroy(&j->mu);
    pthread_cond_destroy(&j->cv);
    rag_free(j);
}

int srv_jobs_idle(srv_jobs *j)
{
    int idle = 1;
    if (!j)
        return 1;
    pthread_mutex_lock(&j->mu);
    if (j->busy)
        idle = 0;
    for (size_t i = 0; idle && i < MAX_JOBS; i++)
        if (j->jobs[i].used && j->jobs[i].state == JOB_QUEUED)
            idle = 0;
    pthread_mutex_unlock(&j->mu);
    return idle;
}

int srv_jobs_submit(srv_jobs *j, srv_coll *coll, char **paths, size_t n_paths, json_t *docs,
                    char id[40], docrag_error *err)
{
    size_t n_waiting = 0, slot = MAX_JOBS;
    job *jb;

    pthread_mutex_lock(&j->mu);
    for (size_t i = 0; i < MAX_JOBS; i++)
        if (j->jobs[i].used && j->jobs[i].state <= JOB_RUNNING)
            n_waiting++;
    /* a free slot, else the oldest finished job */
    for (size_t k = 0; k < MAX_JOBS && slot == MAX_JOBS; k++) {
        size_t i = (j->next + k) % MAX_JOBS;
        if (!j->jobs[i].used || j->jobs[i].state >= JOB_DONE)
            slot = i;
    }
    if (n_waiting >= MAX_WAITING || slot == MAX_JOBS || j->stop) {
        pthread_mutex_unlock(&j->mu);
        json_decref(docs);
        snprintf(err->msg, sizeof err->msg, "%d ingestion jobs are waiting: try later",
                 MAX_WAITING);
        return err->code = DOCRAG_ELIMIT;
    }
    jb = &j->jobs[slot];
    if (jb->used)
        free_job(jb);
    j->next = (slot + 1) % MAX_JOBS;
    jb->used = 1;
    snprintf(jb->id, sizeof jb->id, "job_%lx%04lx", (unsigned long)(unix_ms() / 1000),
             ++j->counter & 0xffff);
    jb->coll = coll;
    jb->state = JOB_QUEUED;
    jb->paths = paths;
    jb->n_paths = n_paths;
    jb->docs = docs;
    jb->events = json_array();
    jb->created = unix_ms();
    snprintf(id, 40, "%s", jb->id);
    emit(jb, "progress", json_pack("{s:s}", "stage", "queued"));
    pthread_cond_signal(&j->cv);
    pthread_mutex_unlock(&j->mu);
    return 0;
}

json_t *srv_jobs_get(srv_jobs *j, const char *id)
{
    json_t *o = NULL;
    job *jb;
    pthread_mutex_lock(&j->mu);
    jb = find(j, id);
    if (jb)
        o = job_json(jb);
    pthread_mutex_unlock(&j->mu);
    return o;
}

int srv_jobs_follow(srv_jobs *j, const char *id, srv_req *r)
{
    size_t i;
    json_t *ev;
    job *jb;

    pthread_mutex_lock(&j->mu);
    jb = find(j, id);
    if (!jb) {
        pthread_mutex_unlock(&j->mu);
        return -1;
    }
    srv_stream_start(r, 200, "text/event-stream");
    json_array_foreach(jb->events, i, ev)
        srv_stream_event_json(r, "progress", json_incref(ev));
    if (jb->state >= JOB_DONE || jb->n_followers == MAX_FOLLOWERS) {
        srv_stream_event_json(r, jb->state == JOB_DONE ? "done"
                                 : jb->state == JOB_FAILED ? "error" : "status",
                              job_json(jb));
        srv_stream_end(r);
    } else {
        srv_req_ref(r);
        jb->followers[jb->n_followers++] = r;
    }
    pthread_mutex_unlock(&j->mu);
    return 0;
}
