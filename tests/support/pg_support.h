/* pg_support.h - a PostgreSQL primary + streaming standby for C tests,
 * through tests/support/pg_cluster.sh (docs/postgres.md).
 *
 * ts_pg_start runs `pg_cluster.sh start` in a new /tmp folder and reads
 * its env file; ts_pg_stop stops both servers and removes the folder. A
 * machine without Debian's postgresql-15 fails the test with a message
 * saying so (scripts/install-deps.sh installs it).
 */
#ifndef RAG_PG_SUPPORT_H
#define RAG_PG_SUPPORT_H

typedef struct {
    char dir[128];
    char host[64];
    int primary_port;
    int standby_port;
    char user[64];
    char password[128];
    char db[64];
} ts_pg_cluster;

/* Start a cluster; returns 0, or -1 after printing why. */
int ts_pg_start(ts_pg_cluster *c);
/* pg_cluster.sh ACTION DIR [NODE] (restart, stop, start, promote); 0 on success. */
int ts_pg_ctl(const ts_pg_cluster *c, const char *action, const char *node);
void ts_pg_stop(ts_pg_cluster *c);
/* "postgres://USER:PASSWORD@HOST:PORT/DB" for the primary (standby = 0)
 * or the standby (1), with extra appended as is ("?sslmode=disable").
 * Caller frees with rag_free. */
char *ts_pg_url(const ts_pg_cluster *c, int standby, const char *extra);
/* The primary's URL with its search_path set to schema (each test works in
 * a schema of its own). Caller frees with rag_free. */
char *ts_pg_schema_url(const ts_pg_cluster *c, const char *schema);
/* Drop schema (with everything in it) and create it empty, then return
 * ts_pg_schema_url; a failure fails the running cmocka test. */
char *ts_pg_fresh_schema(const ts_pg_cluster *c, const char *schema);

#endif
