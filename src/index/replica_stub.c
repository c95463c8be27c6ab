/* replica_stub.c - replica.h when src/index/replica.c is not in the tree.
 *
 * The replica itself (src/index/replica.c) is written on another branch
 * (h-replica). Until it is merged, this file stands in for it so that the
 * engine, the CLI and the server, which are written against replica.h,
 * build and link: every open fails with a message saying what is missing,
 * so a postgres:// db is refused clearly instead of failing to link.
 * CMakeLists.txt leaves this file out as soon as replica.c exists.
 */
#include "index/replica.h"

#include <string.h>

static int missing(rag_err *err)
{
    return rag_fail(err, RAG_EINVAL, "PostgreSQL replicas are not in this build "
                    "(src/index/replica.c is missing); db must be a SQLite file");
}

int rag_replica_open(rag_replica **out, const char *url, const char *mirror_path,
                     const rag_pg_opts *opts, int read_only, rag_err *err)
{
    (void)url;
    (void)mirror_path;
    (void)opts;
    (void)read_only;
    *out = NULL;
    return missing(err);
}

void rag_replica_close(rag_replica *r)
{
    (void)r;
}

const char *rag_replica_mirror(const rag_replica *r)
{
    (void)r;
    return "";
}

const char *rag_replica_endpoint(const rag_replica *r)
{
    (void)r;
    return "";
}

int rag_replica_follow(rag_replica *r, int wait_ms, rag_err *err)
{
    (void)r;
    (void)wait_ms;
    return missing(err);
}

void rag_replica_state_get(rag_replica *r, rag_replica_state *out)
{
    (void)r;
    memset(out, 0, sizeof *out);
}

int rag_replica_attach(rag_replica *r, struct rag_index *ix, rag_err *err)
{
    (void)r;
    (void)ix;
    return missing(err);
}

struct rag_store *rag_replica_store(rag_replica *r)
{
    (void)r;
    return NULL;
}

int rag_replica_job_enqueue(rag_replica *r, const char *key, const void *payload, size_t n,
                            int64_t *id, int *created, rag_err *err)
{
    (void)r;
    (void)key;
    (void)payload;
    (void)n;
    (void)id;
    (void)created;
    return missing(err);
}

int rag_replica_job_claim(rag_replica *r, const char *owner, int lease_ms, rag_replica_job *job,
                          rag_err *err)
{
    (void)r;
    (void)owner;
    (void)lease_ms;
    memset(job, 0, sizeof *job);
    return missing(err);
}

int rag_replica_job_renew(rag_replica *r, int64_t id, const char *owner, int lease_ms, rag_err *err)
{
    (void)r;
    (void)id;
    (void)owner;
    (void)lease_ms;
    return missing(err);
}

int rag_replica_job_complete_on_commit(rag_replica *r, int64_t id, const char *owner, rag_err *err)
{
    (void)r;
    (void)id;
    (void)owner;
    return missing(err);
}

int rag_replica_job_fail(rag_replica *r, int64_t id, const char *owner, const char *why, rag_err *err)
{
    (void)r;
    (void)id;
    (void)owner;
    (void)why;
    return missing(err);
}

int rag_replica_job_state(rag_replica *r, int64_t id, char state[16], int *attempts, rag_err *err)
{
    (void)r;
    (void)id;
    state[0] = '\0';
    *attempts = 0;
    return missing(err);
}

void rag_replica_job_fini(rag_replica_job *job)
{
    (void)job;
}

int rag_replica_job_wait(rag_replica *r, int wait_ms, rag_err *err)
{
    (void)r;
    (void)wait_ms;
    return missing(err);
}

int rag_replica_verify(rag_replica *r, rag_replica_table_count *out, int max, int *n,
                       rag_err *err)
{
    (void)r;
    (void)out;
    (void)max;
    if (n)
        *n = 0;
    return missing(err);
}
