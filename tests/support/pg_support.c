/* pg_support.c - see pg_support.h. */
#include "pg_support.h"
#include "test_support.h"

#include "core/core.h"
#include "index/pg_conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *script(void)
{
    const char *src = getenv("DOCRAG_SRC");
    return rag_asprintf("%s/tests/support/pg_cluster.sh", src && *src ? src : ".");
}

static int run(const char *cmd)
{
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* VALUE of NAME='VALUE' or NAME=VALUE in line, into out. */
static int env_value(const char *line, const char *name, char *out, size_t n_out)
{
    size_t n = strlen(name), len;
    const char *v;
    if (strncmp(line, name, n) || line[n] != '=')
        return 0;
    v = line + n + 1;
    len = strcspn(v, "\n");
    if (len >= 2 && v[0] == '\'' && v[len - 1] == '\'') {
        v++;
        len -= 2;
    }
    snprintf(out, n_out, "%.*s", (int)len, v);
    return 1;
}

int ts_pg_start(ts_pg_cluster *c)
{
    char tmpl[] = "/tmp/docrag-pg.XXXXXX", *s = script(), *cmd, *path, line[512], num[32];
    FILE *f;
    int rc;
    memset(c, 0, sizeof *c);
    if (!s || !mkdtemp(tmpl)) {
        rag_free(s);
        return -1;
    }
    snprintf(c->dir, sizeof c->dir, "%s", tmpl);
    cmd = rag_asprintf("bash '%s' start '%s' >/dev/null", s, c->dir);
    rag_free(s);
    rc = cmd ? run(cmd) : -1;
    rag_free(cmd);
    if (rc == 77) {
        fprintf(stderr, "PostgreSQL 15 binaries missing: this test needs Debian's postgresql-15 "
                        "(scripts/install-deps.sh)\n");
        rmdir(c->dir);
        return -1;
    }
    if (rc != 0) {
        fprintf(stderr, "pg_cluster.sh start %s failed (%d)\n", c->dir, rc);
        return -1;
    }
    path = rag_asprintf("%s/env", c->dir);
    f = path ? fopen(path, "r") : NULL;
    rag_free(path);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        env_value(line, "PGC_HOST", c->host, sizeof c->host);
        env_value(line, "PGC_USER", c->user, sizeof c->user);
        env_value(line, "PGC_PASSWORD", c->password, sizeof c->password);
        env_value(line, "PGC_DB", c->db, sizeof c->db);
        if (env_value(line, "PGC_PRIMARY_PORT", num, sizeof num))
            c->primary_port = atoi(num);
        if (env_value(line, "PGC_STANDBY_PORT", num, sizeof num))
            c->standby_port = atoi(num);
    }
    fclose(f);
    return c->primary_port && c->standby_port && *c->password ? 0 : -1;
}

int ts_pg_ctl(const ts_pg_cluster *c, const char *action, const char *node)
{
    char *s = script();
    char *cmd = rag_asprintf("bash '%s' %s '%s' %s", s, action, c->dir, node ? node : "");
    int rc = cmd ? run(cmd) : -1;
    rag_free(s);
    rag_free(cmd);
    return rc;
}

void ts_pg_stop(ts_pg_cluster *c)
{
    if (c->dir[0])
        ts_pg_ctl(c, "stop", NULL);
    c->dir[0] = '\0';
}

char *ts_pg_url(const ts_pg_cluster *c, int standby, const char *extra)
{
    return rag_asprintf("postgres://%s:%s@%s:%d/%s%s", c->user, c->password, c->host,
                        standby ? c->standby_port : c->primary_port, c->db, extra ? extra : "");
}

char *ts_pg_schema_url(const ts_pg_cluster *c, const char *schema)
{
    char extra[128];
    snprintf(extra, sizeof extra, "?options=-c%%20search_path%%3D%s", schema);
    return ts_pg_url(c, 0, extra);
}

char *ts_pg_fresh_schema(const ts_pg_cluster *c, const char *schema)
{
    char *url = ts_pg_url(c, 0, NULL), sql[160];
    rag_pg *pg = NULL;
    rag_err err = {0};
    snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS %s CASCADE; CREATE SCHEMA %s", schema,
             schema);
    if (rag_pg_open(&pg, url, NULL, &err) < 0 || rag_pg_exec_sql(pg, sql, &err) < 0) {
        rag_pg_close(pg);
        rag_free(url);
        fail_msg("schema %s: %s", schema, err.msg);
    }
    rag_pg_close(pg);
    rag_free(url);
    return ts_pg_schema_url(c, schema);
}
