/* pg_conn.c - one libpq connection: URL expansion, endpoint without the
 * password, timeouts, reconnect with backoff, scrubbed errors, LISTEN.
 *
 * The URL goes to PQconnectdbParams as its dbname with expand_dbname=1,
 * after our defaults (connect_timeout, target_session_attrs,
 * application_name): libpq lets the later, the URL's own options, win.
 * statement_timeout is a SET after each connect, not an "options" keyword,
 * so a URL with its own options=... keeps it.
 *
 * Every message that can carry text from libpq or from the URL goes
 * through scrub(): libpq does not print passwords today, but a URL it
 * cannot parse is quoted back in some of its messages.
 */
#include "index/pg_conn.h"

#include "config/config.h"

#include <libpq-fe.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_CHANNELS 8
#define BACKOFF_FIRST_MS 50
#define BACKOFF_MAX_MS 1000

struct rag_pg {
    PGconn *conn;              /* owned; NULL between a failed reconnect and the next */
    char *url;                 /* expanded; owned, wiped on close */
    char *password;            /* decoded, for scrubbing; owned, wiped on close */
    char *password_raw;        /* as written in the URL (percent-encoded); owned */
    char endpoint[256];
    rag_pg_opts opts;
    int in_tx;
    int64_t n_reconnects;
    char sqlstate[6];
    char channels[MAX_CHANNELS][64];
    int n_channels;
};

struct rag_pg_res {
    PGresult *res;
    int binary;
};

rag_pg_opts rag_pg_default_opts(void)
{
    rag_pg_opts o = {0};
    o.connect_timeout_ms = 10000;
    o.reconnect_ms = 10000;
    o.target = RAG_PG_READ_WRITE;
    return o;
}

int rag_pg_is_url(const char *s)
{
    return s && (!strncmp(s, "postgres://", 11) || !strncmp(s, "postgresql://", 13));
}

static void wipe_free(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = 0;
        rag_free(s);
    }
}

/* Replace every occurrence of needle in s (in place) with "****"; s has
 * room for n_s bytes. */
static void scrub_one(char *s, size_t n_s, const char *needle)
{
    size_t n_needle;
    char *at;
    if (!needle || !*needle)
        return;
    n_needle = strlen(needle);
    /* search on after each replacement: a password made of '*' must not
     * match the mask it was replaced with */
    for (char *from = s; (at = strstr(from, needle)) != NULL;) {
        size_t tail = strlen(at + n_needle);
        size_t head = (size_t)(at - s);
        if (head + 4 >= n_s) {
            *at = '\0';
            return;
        }
        if (head + 4 + tail + 1 > n_s)
            tail = n_s - head - 5;
        memmove(at + 4, at + n_needle, tail);
        memcpy(at, "****", 4);
        at[4 + tail] = '\0';
        from = at + 4;
    }
}

static void scrub(const rag_pg *pg, char *s, size_t n_s)
{
    if (pg) {
        scrub_one(s, n_s, pg->password);
        scrub_one(s, n_s, pg->password_raw);
    }
}

/* The first line of a libpq message, without "ERROR:  " or a trailing newline. */
static void first_line(char *out, size_t n_out, const char *msg)
{
    size_t n;
    if (!msg)
        msg = "";
    if (!strncmp(msg, "ERROR:  ", 8))
        msg += 8;
    else if (!strncmp(msg, "FATAL:  ", 8))
        msg += 8;
    n = strcspn(msg, "\n");
    if (n >= n_out)
        n = n_out - 1;
    memcpy(out, msg, n);
    out[n] = '\0';
}

static int pg_fail(rag_pg *pg, rag_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int pg_fail(rag_pg *pg, rag_err *err, int code, const char *fmt, ...)
{
    char msg[512], head[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    scrub(pg, msg, sizeof msg);
    snprintf(head, sizeof head, "%s", pg ? pg->endpoint : "postgres");
    return rag_fail(err, code, "%s: %s", head, msg);
}

/* ---- URL ------------------------------------------------------------------- */

static const char *opt_val(const PQconninfoOption *o, const char *key)
{
    for (; o && o->keyword; o++)
        if (!strcmp(o->keyword, key))
            return o->val;
    return NULL;
}

/* "postgres://user@h1:p1,h2:p2/db" from parsed options. */
static void render_endpoint(char *out, size_t n_out, const PQconninfoOption *o)
{
    const char *user = opt_val(o, "user"), *host = opt_val(o, "host");
    const char *port = opt_val(o, "port"), *db = opt_val(o, "dbname");
    char hosts[200] = "";
    size_t n = 0;
    const char *h = host && *host ? host : "localhost";
    /* pair each host with its port (libpq: one port for all, or one each) */
    while (*h && n + 1 < sizeof hosts) {
        size_t n_h = strcspn(h, ","), n_p = port ? strcspn(port, ",") : 0;
        n += (size_t)snprintf(hosts + n, sizeof hosts - n, "%s%.*s%s%.*s", n ? "," : "",
                              (int)n_h, h, n_p ? ":" : "", (int)n_p, port ? port : "");
        if (n >= sizeof hosts)
            n = sizeof hosts - 1;
        h += n_h;
        if (*h == ',')
            h++;
        if (port && port[n_p] == ',')
            port += n_p + 1;
    }
    snprintf(out, n_out, "postgres://%s%s%s/%s", user && *user ? user : "",
             user && *user ? "@" : "", hosts, db && *db ? db : (user ? user : ""));
}

/* The raw (percent-encoded) password between "user:" and "@" of the
 * authority, or NULL; caller frees. */
static char *raw_password(const char *url)
{
    const char *a = strstr(url, "://"), *end, *colon, *at;
    if (!a)
        return NULL;
    a += 3;
    end = a + strcspn(a, "/?");
    at = NULL;
    for (const char *q = a; q < end; q++)
        if (*q == '@')
            at = q;
    if (!at)
        return NULL;
    colon = memchr(a, ':', (size_t)(at - a));
    if (!colon || colon + 1 >= at)
        return NULL;
    return rag_strndup(colon + 1, (size_t)(at - colon - 1));
}

int rag_pg_endpoint_of(char *out, size_t n_out, const char *url, rag_err *err)
{
    PQconninfoOption *o;
    char *perr = NULL;
    if (n_out)
        *out = '\0';
    if (!rag_pg_is_url(url))
        return rag_fail(err, RAG_EFORMAT, "not a postgres:// URL");
    o = PQconninfoParse(url, &perr);
    if (!o) {
        char line[256];
        rag_pg tmp = {0};
        first_line(line, sizeof line, perr ? perr : "out of memory");
        tmp.password_raw = raw_password(url);
        scrub(&tmp, line, sizeof line);
        rag_free(tmp.password_raw);
        PQfreemem(perr);
        return rag_fail(err, RAG_EFORMAT, "bad postgres URL: %s", line);
    }
    render_endpoint(out, n_out, o);
    PQconninfoFree(o);
    return RAG_OK;
}

/* ---- connect --------------------------------------------------------------- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* libpq prints notices (and the server's FATAL before a shutdown) to
 * stderr by default; library code does not print: they go to the log. */
static void on_notice(void *arg, const char *message)
{
    rag_pg *pg = arg;
    char line[300];
    first_line(line, sizeof line, message);
    scrub(pg, line, sizeof line);
    rag_log(RAG_LOG_DEBUG, "%s: %s", pg->endpoint, line);
}

/* After a connect: the session settings we own. */
static int session_setup(rag_pg *pg, rag_err *err)
{
    char sql[128];
    PGresult *r;
    if (pg->opts.statement_timeout_ms > 0) {
        snprintf(sql, sizeof sql, "SET statement_timeout = %d", pg->opts.statement_timeout_ms);
        r = PQexec(pg->conn, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            char line[256];
            first_line(line, sizeof line, PQerrorMessage(pg->conn));
            PQclear(r);
            return pg_fail(pg, err, RAG_EBACKEND, "SET statement_timeout: %s", line);
        }
        PQclear(r);
    }
    for (int i = 0; i < pg->n_channels; i++) {
        snprintf(sql, sizeof sql, "LISTEN %s", pg->channels[i]);
        r = PQexec(pg->conn, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            char line[256];
            first_line(line, sizeof line, PQerrorMessage(pg->conn));
            PQclear(r);
            return pg_fail(pg, err, RAG_EBACKEND, "LISTEN %s: %s", pg->channels[i], line);
        }
        PQclear(r);
    }
    return RAG_OK;
}

/* One attempt. RAG_EIO: the server cannot be reached (worth retrying);
 * RAG_EBACKEND: it answered no (authentication, database). */
static int connect_once(rag_pg *pg, rag_err *err)
{
    char timeout[16], line[300];
    const char *keys[5], *vals[5];
    int n = 0, rc;
    const char *msg;

    if (pg->conn) {
        PQfinish(pg->conn);
        pg->conn = NULL;
    }
    snprintf(timeout, sizeof timeout, "%d",
             pg->opts.connect_timeout_ms > 0 ? (pg->opts.connect_timeout_ms + 999) / 1000 : 10);
    keys[n] = "connect_timeout", vals[n++] = timeout;
    keys[n] = "target_session_attrs";
    vals[n++] = pg->opts.target == RAG_PG_ANY ? "any" : "read-write";
    keys[n] = "application_name", vals[n++] = "docrag";
    keys[n] = "dbname", vals[n++] = pg->url;
    keys[n] = NULL, vals[n] = NULL;
    pg->conn = PQconnectdbParams(keys, vals, 1);
    if (!pg->conn)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", pg->endpoint);
    if (PQstatus(pg->conn) == CONNECTION_OK) {
        PQsetNoticeProcessor(pg->conn, on_notice, pg);
        rc = session_setup(pg, err);
        if (rc < 0) {
            PQfinish(pg->conn);
            pg->conn = NULL;
        }
        return rc;
    }
    msg = PQerrorMessage(pg->conn);
    /* libpq's message for several hosts has one line per host: keep the
     * last one that says something */
    first_line(line, sizeof line, msg);
    {
        const char *last = msg, *q;
        while ((q = strstr(last, "\n")) != NULL && q[1])
            last = q + 1;
        if (last != msg)
            first_line(line, sizeof line, last);
    }
    rc = (strstr(msg, "password authentication failed") || strstr(msg, "does not exist") ||
          strstr(msg, "no pg_hba.conf entry") || strstr(msg, "password is required") ||
          strstr(msg, "permission denied"))
             ? RAG_EBACKEND
             : RAG_EIO;
    PQfinish(pg->conn);
    pg->conn = NULL;
    return pg_fail(pg, err, rc, "cannot connect: %s", line);
}

/* Reconnect with backoff until reconnect_ms is spent. */
static int reconnect(rag_pg *pg, rag_err *err)
{
    double deadline;
    int wait = BACKOFF_FIRST_MS, rc;
    if (pg->opts.reconnect_ms < 0)
        return pg_fail(pg, err, RAG_EIO, "connection lost");
    deadline = rag_now_ms() + (pg->opts.reconnect_ms ? pg->opts.reconnect_ms : 10000);
    for (;;) {
        rc = connect_once(pg, err);
        if (rc == RAG_OK) {
            pg->n_reconnects++;
            rag_log(RAG_LOG_INFO, "%s: reconnected", pg->endpoint);
            return RAG_OK;
        }
        if (rc == RAG_ENOMEM || rag_now_ms() + wait > deadline)
            return rc;
        sleep_ms(wait);
        wait = wait * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : wait * 2;
    }
}

int rag_pg_open(rag_pg **out, const char *url, const rag_pg_opts *opts, rag_err *err)
{
    rag_pg *pg;
    PQconninfoOption *o;
    char *perr = NULL;
    int rc;
    const char *what = opts && opts->what ? opts->what : "db";

    *out = NULL;
    if (!rag_pg_is_url(url))
        return rag_fail(err, RAG_EFORMAT, "%s: not a postgres:// URL", what);
    pg = rag_calloc(1, sizeof *pg);
    if (!pg)
        return rag_fail(err, RAG_ENOMEM, "postgres: out of memory");
    pg->opts = opts ? *opts : rag_pg_default_opts();
    snprintf(pg->endpoint, sizeof pg->endpoint, "postgres");
    if (strstr(url, "${"))
        rc = rag_config_expand(&pg->url, url, what, err);
    else
        rc = (pg->url = rag_strdup(url)) ? RAG_OK : rag_fail(err, RAG_ENOMEM, "out of memory");
    if (rc < 0)
        goto fail;
    pg->password_raw = raw_password(pg->url);
    o = PQconninfoParse(pg->url, &perr);
    if (!o) {
        char line[256];
        first_line(line, sizeof line, perr ? perr : "out of memory");
        PQfreemem(perr);
        rc = pg_fail(pg, err, RAG_EFORMAT, "%s: bad postgres URL: %s", what, line);
        goto fail;
    }
    {
        const char *pw = opt_val(o, "password");
        if (pw && *pw && !(pg->password = rag_strdup(pw))) {
            PQconninfoFree(o);
            rc = rag_fail(err, RAG_ENOMEM, "postgres: out of memory");
            goto fail;
        }
    }
    render_endpoint(pg->endpoint, sizeof pg->endpoint, o);
    PQconninfoFree(o);
    rc = connect_once(pg, err);
    if (rc < 0)
        goto fail;
    *out = pg;
    return RAG_OK;
fail:
    rag_pg_close(pg);
    return rc;
}

void rag_pg_close(rag_pg *pg)
{
    if (!pg)
        return;
    if (pg->conn)
        PQfinish(pg->conn);
    wipe_free(pg->url);
    wipe_free(pg->password);
    wipe_free(pg->password_raw);
    rag_free(pg);
}

const char *rag_pg_endpoint(const rag_pg *pg)
{
    return pg->endpoint;
}

int64_t rag_pg_n_reconnects(const rag_pg *pg)
{
    return pg->n_reconnects;
}

const char *rag_pg_last_sqlstate(const rag_pg *pg)
{
    return pg->sqlstate;
}

int rag_pg_in_tx(const rag_pg *pg)
{
    return pg->in_tx;
}

/* ---- statements ---------------------------------------------------------------- */

static int conn_lost(const rag_pg *pg)
{
    return !pg->conn || PQstatus(pg->conn) != CONNECTION_OK;
}

/* rag_pg_exec's send / reconnect / retry loop. */
static int exec_loop(rag_pg *pg, rag_pg_res **out, const char *sql, int n_params,
                     const char *const *vals, const int *lens, const int *fmts, unsigned flags,
                     rag_err *err)
{
    int retried = 0, rc;
    PGresult *r;
    ExecStatusType st;

    for (;;) {
        if (conn_lost(pg)) {
            if (pg->in_tx) {
                pg->in_tx = 0;
                return pg_fail(pg, err, RAG_EIO,
                               "connection lost inside a transaction (rolled back)");
            }
            if ((rc = reconnect(pg, err)) < 0)
                return rc;
        }
        r = PQexecParams(pg->conn, sql, n_params, NULL, vals, lens, fmts,
                         (flags & RAG_PG_BINARY) ? 1 : 0);
        st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
        if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
            if (!out) {
                PQclear(r);
                return RAG_OK;
            }
            *out = rag_calloc(1, sizeof **out);
            if (!*out) {
                PQclear(r);
                return rag_fail(err, RAG_ENOMEM, "%s: out of memory", pg->endpoint);
            }
            (*out)->res = r;
            (*out)->binary = (flags & RAG_PG_BINARY) ? 1 : 0;
            return RAG_OK;
        }
        if (!conn_lost(pg)) {
            /* the server said no; the connection is fine */
            char line[300];
            const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
            snprintf(pg->sqlstate, sizeof pg->sqlstate, "%s", state ? state : "");
            first_line(line, sizeof line, r ? PQresultErrorMessage(r) : "out of memory");
            PQclear(r);
            /* 57P01 admin shutdown etc. leave the connection bad: handled above next time */
            return pg_fail(pg, err, RAG_EBACKEND, "%s", line);
        }
        PQclear(r);
        if (pg->in_tx) {
            pg->in_tx = 0;
            return pg_fail(pg, err, RAG_EIO, "connection lost inside a transaction (rolled back)");
        }
        if (!(flags & RAG_PG_RETRY) || retried)
            return pg_fail(pg, err, RAG_EIO,
                           "connection lost while a statement ran (it may or may not have "
                           "taken effect)");
        retried = 1;
    }
}

int rag_pg_exec(rag_pg *pg, rag_pg_res **out, const char *sql, const rag_pg_param *params,
                int n_params, unsigned flags, rag_err *err)
{
    const char *vals_s[32] = {0}, **vals = vals_s;
    int lens_s[32] = {0}, fmts_s[32] = {0}, *lens = lens_s, *fmts = fmts_s;
    int rc;

    if (out)
        *out = NULL;
    pg->sqlstate[0] = '\0';
    if (n_params < 0 || n_params > RAG_PG_MAX_PARAMS)
        return pg_fail(pg, err, RAG_EINVAL, "too many statement parameters (%d)", n_params);
    if (n_params > 32) {
        /* a multi-row statement (replica.c's write-through) */
        vals = rag_malloc((size_t)n_params * sizeof *vals);
        lens = rag_malloc((size_t)n_params * sizeof *lens);
        fmts = rag_malloc((size_t)n_params * sizeof *fmts);
        if (!vals || !lens || !fmts) {
            rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", pg->endpoint);
            goto done;
        }
    }
    for (int i = 0; i < n_params; i++) {
        vals[i] = params[i].value;
        lens[i] = params[i].n_bytes;
        fmts[i] = params[i].binary ? 1 : 0;
    }
    rc = exec_loop(pg, out, sql, n_params, vals, lens, fmts, flags, err);
done:
    if (n_params > 32) {
        rag_free(vals);
        rag_free(lens);
        rag_free(fmts);
    }
    return rc;
}

int rag_pg_exec_sql(rag_pg *pg, const char *sql, rag_err *err)
{
    /* PQexecParams takes one statement; several need the simple protocol */
    PGresult *r;
    int rc;
    if (!strchr(sql, ';'))
        return rag_pg_exec(pg, NULL, sql, NULL, 0, 0, err);
    pg->sqlstate[0] = '\0';
    if (conn_lost(pg)) {
        if (pg->in_tx) {
            pg->in_tx = 0;
            return pg_fail(pg, err, RAG_EIO, "connection lost inside a transaction (rolled back)");
        }
        if ((rc = reconnect(pg, err)) < 0)
            return rc;
    }
    r = PQexec(pg->conn, sql);
    if (r && (PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)) {
        PQclear(r);
        return RAG_OK;
    }
    if (conn_lost(pg)) {
        PQclear(r);
        pg->in_tx = 0;
        return pg_fail(pg, err, RAG_EIO, "connection lost while a statement ran");
    }
    {
        char line[300];
        const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        snprintf(pg->sqlstate, sizeof pg->sqlstate, "%s", state ? state : "");
        first_line(line, sizeof line, r ? PQresultErrorMessage(r) : "out of memory");
        PQclear(r);
        return pg_fail(pg, err, RAG_EBACKEND, "%s", line);
    }
}

int rag_pg_res_rows(const rag_pg_res *r)
{
    return PQntuples(r->res);
}

int rag_pg_res_cols(const rag_pg_res *r)
{
    return PQnfields(r->res);
}

int64_t rag_pg_res_affected(const rag_pg_res *r)
{
    const char *s = PQcmdTuples(r->res);
    return s && *s ? strtoll(s, NULL, 10) : 0;
}

const char *rag_pg_res_get(const rag_pg_res *r, int row, int col)
{
    return PQgetvalue(r->res, row, col);
}

size_t rag_pg_res_len(const rag_pg_res *r, int row, int col)
{
    return (size_t)PQgetlength(r->res, row, col);
}

int rag_pg_res_is_null(const rag_pg_res *r, int row, int col)
{
    return PQgetisnull(r->res, row, col);
}

int64_t rag_pg_res_i64(const rag_pg_res *r, int row, int col)
{
    const unsigned char *v = (const unsigned char *)PQgetvalue(r->res, row, col);
    int n = PQgetlength(r->res, row, col);
    if (PQgetisnull(r->res, row, col))
        return 0;
    if (r->binary && PQfformat(r->res, col) == 1) {
        uint64_t x = 0;
        for (int i = 0; i < n && i < 8; i++)
            x = x << 8 | v[i];
        if (n == 4)
            return (int32_t)(uint32_t)x;
        if (n == 2)
            return (int16_t)(uint16_t)x;
        return (int64_t)x;
    }
    return strtoll((const char *)v, NULL, 10);
}

void rag_pg_res_destroy(rag_pg_res *r)
{
    if (!r)
        return;
    PQclear(r->res);
    rag_free(r);
}

int rag_pg_in_recovery(rag_pg *pg, rag_err *err)
{
    rag_pg_res *r;
    int rc = rag_pg_exec(pg, &r, "SELECT pg_is_in_recovery()", NULL, 0, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    rc = rag_pg_res_rows(r) == 1 && rag_pg_res_get(r, 0, 0)[0] == 't';
    rag_pg_res_destroy(r);
    return rc;
}

/* ---- transactions ---------------------------------------------------------- */

static int begin_with(rag_pg *pg, const char *sql, rag_err *err)
{
    int rc;
    if (pg->in_tx)
        return pg_fail(pg, err, RAG_EINVAL, "a transaction is open already");
    rc = rag_pg_exec(pg, NULL, sql, NULL, 0, RAG_PG_RETRY, err);
    if (rc == RAG_OK)
        pg->in_tx = 1;
    return rc;
}

int rag_pg_begin(rag_pg *pg, rag_err *err)
{
    return begin_with(pg, "BEGIN", err);
}

int rag_pg_begin_read(rag_pg *pg, rag_err *err)
{
    return begin_with(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
}

int rag_pg_commit(rag_pg *pg, rag_err *err)
{
    int rc;
    if (!pg->in_tx)
        return pg_fail(pg, err, RAG_EINVAL, "COMMIT without a transaction");
    rc = rag_pg_exec(pg, NULL, "COMMIT", NULL, 0, 0, err);
    pg->in_tx = 0;
    if (rc == RAG_EIO)
        return pg_fail(pg, err, RAG_EIO, "connection lost during COMMIT (outcome unknown)");
    return rc;
}

void rag_pg_rollback(rag_pg *pg)
{
    if (!pg->in_tx)
        return;
    if (!conn_lost(pg)) {
        PGresult *r = PQexec(pg->conn, "ROLLBACK");
        PQclear(r);
    }
    pg->in_tx = 0;
}

/* ---- notifications ------------------------------------------------------------ */

static int plain_ident(const char *s)
{
    if (!*s || strlen(s) >= 64 || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_'))
            return 0;
    return 1;
}

int rag_pg_listen(rag_pg *pg, const char *channel, rag_err *err)
{
    char sql[96];
    int rc;
    if (!plain_ident(channel))
        return pg_fail(pg, err, RAG_EINVAL, "LISTEN: bad channel name");
    for (int i = 0; i < pg->n_channels; i++)
        if (!strcmp(pg->channels[i], channel))
            return RAG_OK;
    if (pg->n_channels >= MAX_CHANNELS)
        return pg_fail(pg, err, RAG_ELIMIT, "LISTEN: more than %d channels", MAX_CHANNELS);
    snprintf(sql, sizeof sql, "LISTEN %s", channel);
    rc = rag_pg_exec(pg, NULL, sql, NULL, 0, RAG_PG_RETRY, err);
    if (rc < 0)
        return rc;
    snprintf(pg->channels[pg->n_channels++], sizeof pg->channels[0], "%s", channel);
    return RAG_OK;
}

static int take_notify(rag_pg *pg, char *channel, size_t n_channel, char *payload,
                       size_t n_payload)
{
    PGnotify *n = PQnotifies(pg->conn);
    if (!n)
        return 0;
    if (channel && n_channel)
        snprintf(channel, n_channel, "%s", n->relname);
    if (payload && n_payload)
        snprintf(payload, n_payload, "%s", n->extra ? n->extra : "");
    PQfreemem(n);
    return 1;
}

int rag_pg_wait_notify(rag_pg *pg, int timeout_ms, char *channel, size_t n_channel,
                       char *payload, size_t n_payload, rag_err *err)
{
    double deadline = rag_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int rc;
    if (pg->in_tx)
        return pg_fail(pg, err, RAG_EINVAL, "waiting for notifications inside a transaction");
    for (;;) {
        struct pollfd p;
        int left;
        if (conn_lost(pg)) {
            if ((rc = reconnect(pg, err)) < 0)
                return rc;
            return 2;
        }
        if (PQconsumeInput(pg->conn) == 0) {
            /* the server went away: the next round reconnects */
            if (!conn_lost(pg)) {
                char line[256];
                first_line(line, sizeof line, PQerrorMessage(pg->conn));
                return pg_fail(pg, err, RAG_EIO, "%s", line);
            }
            continue;
        }
        if (take_notify(pg, channel, n_channel, payload, n_payload))
            return 1;
        left = (int)(deadline - rag_now_ms());
        if (left <= 0)
            return 0;
        p.fd = PQsocket(pg->conn);
        p.events = POLLIN;
        p.revents = 0;
        if (p.fd < 0)
            continue;
        if (poll(&p, 1, left) < 0 && errno != EINTR)
            return pg_fail(pg, err, RAG_EIO, "poll: %s", strerror(errno));
    }
}

rag_pg_opts rag_pg_opts_from_config(const struct rag_config *cfg)
{
    rag_pg_opts o = rag_pg_default_opts();
    if (cfg) {
        o.connect_timeout_ms = cfg->pg_connect_timeout_ms;
        o.statement_timeout_ms = cfg->pg_statement_timeout_ms;
        o.reconnect_ms = cfg->pg_reconnect_ms ? cfg->pg_reconnect_ms : -1;
    }
    return o;
}
