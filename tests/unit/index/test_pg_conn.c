/* test_pg_conn.c - the libpq connection layer against a real primary and
 * standby (tests/support/pg_cluster.sh): ${VAR} passwords, the password
 * in no message or log line, timeouts, target_session_attrs, reconnect
 * after a restart, LISTEN/NOTIFY at commit. */
#include "test_support.h"

#include "config/config.h"
#include "index/pg_conn.h"
#include "pg_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ts_pg_cluster cluster;
static rag_buf logged = RAG_BUF_INIT;

static void capture(rag_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)ud;
    rag_buf_puts(&logged, msg);
    rag_buf_puts(&logged, "\n");
}

static int setup(void **state)
{
    (void)state;
    if (ts_pg_start(&cluster) < 0)
        return -1;
    rag_log_set(capture, NULL);
    rag_log_set_level(RAG_LOG_DEBUG);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    ts_pg_stop(&cluster);
    /* nothing logged over the whole file may name the password */
    if (logged.data && strstr(logged.data, cluster.password)) {
        fprintf(stderr, "the password was logged\n");
        return -1;
    }
    rag_buf_fini(&logged);
    return 0;
}

static void assert_no_password(const char *s)
{
    if (s && strstr(s, cluster.password))
        fail_msg("password in \"%s\"", s);
}

static rag_pg *must_open(const char *url, const rag_pg_opts *o)
{
    rag_pg *pg = NULL;
    rag_err err = {0};
    if (rag_pg_open(&pg, url, o, &err) != RAG_OK)
        fail_msg("open: %s", err.msg);
    assert_no_password(rag_pg_endpoint(pg));
    return pg;
}

static int64_t scalar(rag_pg *pg, const char *sql)
{
    rag_pg_res *r = NULL;
    rag_err err = {0};
    int64_t v;
    if (rag_pg_exec(pg, &r, sql, NULL, 0, RAG_PG_RETRY, &err) != RAG_OK)
        fail_msg("%s: %s", sql, err.msg);
    assert_int_equal(rag_pg_res_rows(r), 1);
    v = rag_pg_res_i64(r, 0, 0);
    rag_pg_res_destroy(r);
    return v;
}

static void test_pg_conn__password_from_environment(void **state)
{
    char *url = rag_asprintf("postgres://%s:${TS_PG_PASSWORD}@%s:%d/%s?sslmode=disable",
                             cluster.user, cluster.host, cluster.primary_port, cluster.db);
    char want[160];
    rag_pg *pg;
    (void)state;
    setenv("TS_PG_PASSWORD", cluster.password, 1);
    pg = must_open(url, NULL);
    assert_int_equal(scalar(pg, "SELECT 41 + 1"), 42);
    snprintf(want, sizeof want, "postgres://%s@%s:%d/%s", cluster.user, cluster.host,
             cluster.primary_port, cluster.db);
    assert_string_equal(rag_pg_endpoint(pg), want);
    rag_pg_close(pg);
    unsetenv("TS_PG_PASSWORD");
    rag_free(url);
}

static void test_pg_conn__unset_variable_is_named(void **state)
{
    rag_pg *pg = NULL;
    rag_err err = {0};
    rag_pg_opts o = rag_pg_default_opts();
    (void)state;
    unsetenv("TS_PG_UNSET_PASSWORD");
    o.what = "--db";
    assert_int_equal(rag_pg_open(&pg, "postgres://u:${TS_PG_UNSET_PASSWORD}@127.0.0.1/db", &o,
                                 &err),
                     RAG_EFORMAT);
    assert_null(pg);
    assert_non_null(strstr(err.msg, "TS_PG_UNSET_PASSWORD"));
    assert_non_null(strstr(err.msg, "--db"));
}

static void test_pg_conn__wrong_password_names_endpoint_not_password(void **state)
{
    char *url = rag_asprintf("postgres://%s:Wr0ng%%2Fsecret@%s:%d/%s", cluster.user,
                             cluster.host, cluster.primary_port, cluster.db);
    char port[16];
    rag_pg *pg = NULL;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_pg_open(&pg, url, NULL, &err), RAG_EBACKEND);
    snprintf(port, sizeof port, ":%d/", cluster.primary_port);
    assert_non_null(strstr(err.msg, port));
    assert_non_null(strstr(err.msg, "password authentication failed"));
    assert_null(strstr(err.msg, "Wr0ng"));      /* neither decoded ... */
    assert_null(strstr(err.msg, "secret"));     /* ... nor as written */
    rag_free(url);
}

static void test_pg_conn__bad_url_message_has_no_password(void **state)
{
    rag_pg *pg = NULL;
    rag_err err = {0};
    char ep[128];
    (void)state;
    assert_int_equal(rag_pg_open(&pg, "postgres://u:S3cretPw@h/db?nosuchoption=S3cretPw", NULL,
                                 &err),
                     RAG_EFORMAT);
    assert_null(strstr(err.msg, "S3cretPw"));
    assert_non_null(strstr(err.msg, "nosuchoption"));
    /* a password of '*' in a message that has one: masked once, no loop */
    assert_int_equal(rag_pg_open(&pg, "postgres://u:*@h/db?nosuchoption*=1", NULL, &err),
                     RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "nosuchoption****"));
    assert_int_equal(rag_pg_open(&pg, "mysql://u@h/db", NULL, &err), RAG_EFORMAT);
    assert_int_equal(rag_pg_endpoint_of(ep, sizeof ep,
                                        "postgresql://ann:pw@h1:5,h2:6/books?sslmode=require",
                                        &err),
                     RAG_OK);
    assert_string_equal(ep, "postgres://ann@h1:5,h2:6/books");
}

static void test_pg_conn__unreachable_server_is_eio(void **state)
{
    rag_pg *pg = NULL;
    rag_err err = {0};
    rag_pg_opts o = rag_pg_default_opts();
    char *url;
    (void)state;
    /* a port nothing listens on: the stopped standby's */
    assert_int_equal(ts_pg_ctl(&cluster, "stop", "standby"), 0);
    url = ts_pg_url(&cluster, 1, NULL);
    o.connect_timeout_ms = 2000;
    assert_int_equal(rag_pg_open(&pg, url, &o, &err), RAG_EIO);
    assert_non_null(strstr(err.msg, "cannot connect"));
    assert_no_password(err.msg);
    assert_int_equal(ts_pg_ctl(&cluster, "start", "standby"), 0);
    rag_free(url);
}

static void test_pg_conn__statement_timeout_from_options(void **state)
{
    char *url = ts_pg_url(&cluster, 0, NULL);
    rag_pg_opts o = rag_pg_default_opts();
    rag_pg *pg;
    rag_err err = {0};
    double t0;
    (void)state;
    o.statement_timeout_ms = 200;
    pg = must_open(url, &o);
    t0 = rag_now_ms();
    assert_int_equal(rag_pg_exec(pg, NULL, "SELECT pg_sleep(5)", NULL, 0, 0, &err), RAG_EBACKEND);
    assert_true(rag_now_ms() - t0 < 3000);
    assert_string_equal(rag_pg_last_sqlstate(pg), "57014");
    assert_non_null(strstr(err.msg, "statement timeout"));
    /* the connection is still good */
    assert_int_equal(scalar(pg, "SELECT 7"), 7);
    rag_pg_close(pg);
    rag_free(url);
}

static void test_pg_conn__options_from_config(void **state)
{
    rag_config *cfg = NULL;
    rag_config_source src = {0};
    rag_err err = {0};
    rag_pg_opts o;
    const char *sets[] = {"postgres.statement_timeout_ms=1234", "postgres.reconnect_ms=0"};
    (void)state;
    src.sets = sets;
    src.n_sets = 2;
    assert_int_equal(rag_config_load(&cfg, &src, &err), RAG_OK);
    o = rag_pg_opts_from_config(cfg);
    assert_int_equal(o.statement_timeout_ms, 1234);
    assert_int_equal(o.connect_timeout_ms, 10000);
    assert_true(o.reconnect_ms < 0); /* 0 = do not reconnect */
    rag_config_destroy(cfg);
}

static void test_pg_conn__target_session_attrs(void **state)
{
    /* both servers, the standby first: read-write skips it, any takes it */
    char *url = rag_asprintf("postgres://%s:%s@%s:%d,%s:%d/%s", cluster.user, cluster.password,
                             cluster.host, cluster.standby_port, cluster.host,
                             cluster.primary_port, cluster.db);
    rag_pg_opts o = rag_pg_default_opts();
    rag_err err = {0};
    rag_pg *pg;
    (void)state;
    pg = must_open(url, &o);
    assert_int_equal(rag_pg_in_recovery(pg, &err), 0);
    rag_pg_close(pg);
    o.target = RAG_PG_ANY;
    pg = must_open(url, &o);
    assert_int_equal(rag_pg_in_recovery(pg, &err), 1);
    /* a write on the standby is refused by the server, not lost */
    assert_int_equal(rag_pg_exec_sql(pg, "CREATE TABLE nope(x int)", &err), RAG_EBACKEND);
    assert_string_equal(rag_pg_last_sqlstate(pg), "25006");
    rag_pg_close(pg);
    rag_free(url);
}

static void test_pg_conn__reconnects_after_restart(void **state)
{
    char *url = ts_pg_url(&cluster, 0, NULL);
    rag_pg *pg;
    rag_err err = {0};
    (void)state;
    pg = must_open(url, NULL);
    assert_int_equal(scalar(pg, "SELECT 1"), 1);
    assert_int_equal(ts_pg_ctl(&cluster, "restart", "primary"), 0);
    /* a read is retried on a new connection */
    assert_int_equal(scalar(pg, "SELECT 2"), 2);
    assert_int_equal(rag_pg_n_reconnects(pg), 1);

    /* a write not marked RAG_PG_RETRY is not run twice: the caller hears */
    assert_int_equal(rag_pg_exec_sql(pg, "CREATE TABLE IF NOT EXISTS rc(x int)", &err), RAG_OK);
    assert_int_equal(ts_pg_ctl(&cluster, "restart", "primary"), 0);
    assert_int_equal(rag_pg_exec(pg, NULL, "INSERT INTO rc VALUES (1)", NULL, 0, 0, &err),
                     RAG_EIO);
    assert_non_null(strstr(err.msg, "may or may not"));
    assert_no_password(err.msg);
    assert_int_equal(scalar(pg, "SELECT count(*) FROM rc"), 0);

    /* inside a transaction nothing is retried */
    assert_int_equal(rag_pg_begin(pg, &err), RAG_OK);
    assert_int_equal(rag_pg_exec(pg, NULL, "INSERT INTO rc VALUES (2)", NULL, 0, 0, &err),
                     RAG_OK);
    assert_int_equal(ts_pg_ctl(&cluster, "restart", "primary"), 0);
    assert_int_equal(rag_pg_exec(pg, NULL, "INSERT INTO rc VALUES (3)", NULL, 0, RAG_PG_RETRY,
                                 &err),
                     RAG_EIO);
    assert_non_null(strstr(err.msg, "transaction"));
    assert_false(rag_pg_in_tx(pg));
    assert_int_equal(scalar(pg, "SELECT count(*) FROM rc"), 0);
    assert_int_equal(rag_pg_n_reconnects(pg), 3);
    rag_pg_close(pg);
    rag_free(url);
}

static void test_pg_conn__gives_up_after_reconnect_ms(void **state)
{
    char *url = ts_pg_url(&cluster, 0, NULL);
    rag_pg_opts o = rag_pg_default_opts();
    rag_pg *pg;
    rag_err err = {0};
    double t0;
    (void)state;
    o.reconnect_ms = 1500;
    o.connect_timeout_ms = 2000;
    pg = must_open(url, &o);
    assert_int_equal(ts_pg_ctl(&cluster, "stop", "primary"), 0);
    t0 = rag_now_ms();
    assert_int_equal(rag_pg_exec(pg, NULL, "SELECT 1", NULL, 0, RAG_PG_RETRY, &err), RAG_EIO);
    assert_true(rag_now_ms() - t0 < 6000);
    assert_non_null(strstr(err.msg, rag_pg_endpoint(pg)));
    assert_no_password(err.msg);
    assert_int_equal(ts_pg_ctl(&cluster, "start", "primary"), 0);
    /* and comes back by itself once the server is there */
    assert_int_equal(scalar(pg, "SELECT 3"), 3);
    rag_pg_close(pg);
    rag_free(url);
}

static void test_pg_conn__notify_arrives_at_commit(void **state)
{
    char *url = ts_pg_url(&cluster, 0, NULL);
    rag_pg *a, *b;
    rag_err err = {0};
    char chan[64], payload[64];
    (void)state;
    a = must_open(url, NULL);
    b = must_open(url, NULL);
    assert_int_equal(rag_pg_listen(a, "ts_chan", &err), RAG_OK);
    assert_int_equal(rag_pg_listen(a, "bad-name", &err), RAG_EINVAL);
    assert_int_equal(rag_pg_begin(b, &err), RAG_OK);
    assert_int_equal(rag_pg_exec_sql(b, "SELECT pg_notify('ts_chan', '17')", &err), RAG_OK);
    assert_int_equal(rag_pg_wait_notify(a, 200, chan, sizeof chan, payload, sizeof payload, &err),
                     0);
    assert_int_equal(rag_pg_commit(b, &err), RAG_OK);
    assert_int_equal(rag_pg_wait_notify(a, 5000, chan, sizeof chan, payload, sizeof payload, &err),
                     1);
    assert_string_equal(chan, "ts_chan");
    assert_string_equal(payload, "17");
    /* after a restart the waiter says it reconnected and still listens */
    assert_int_equal(ts_pg_ctl(&cluster, "restart", "primary"), 0);
    assert_int_equal(rag_pg_wait_notify(a, 5000, chan, sizeof chan, payload, sizeof payload, &err),
                     2);
    /* b's connection went too: this statement may be run again */
    assert_int_equal(rag_pg_exec(b, NULL, "SELECT pg_notify('ts_chan', '18')", NULL, 0,
                                 RAG_PG_RETRY, &err),
                     RAG_OK);
    assert_int_equal(rag_pg_wait_notify(a, 5000, chan, sizeof chan, payload, sizeof payload, &err),
                     1);
    assert_string_equal(payload, "18");
    rag_pg_close(a);
    rag_pg_close(b);
    rag_free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pg_conn__password_from_environment),
        cmocka_unit_test(test_pg_conn__unset_variable_is_named),
        cmocka_unit_test(test_pg_conn__wrong_password_names_endpoint_not_password),
        cmocka_unit_test(test_pg_conn__bad_url_message_has_no_password),
        cmocka_unit_test(test_pg_conn__unreachable_server_is_eio),
        cmocka_unit_test(test_pg_conn__statement_timeout_from_options),
        cmocka_unit_test(test_pg_conn__options_from_config),
        cmocka_unit_test(test_pg_conn__target_session_attrs),
        cmocka_unit_test(test_pg_conn__reconnects_after_restart),
        cmocka_unit_test(test_pg_conn__gives_up_after_reconnect_ms),
        cmocka_unit_test(test_pg_conn__notify_arrives_at_commit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
