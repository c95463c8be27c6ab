/* mock_server.h - start and drive tests/support/mock_api.py from C tests.
 *
 * The mock is a separate python3 process bound to 127.0.0.1 on a free port;
 * see mock_api.py for routes, auth and the fault-injection language. These
 * helpers assert (cmocka) on failure, so they are for tests only.
 */
#ifndef RAG_TS_MOCK_SERVER_H
#define RAG_TS_MOCK_SERVER_H

#include <sys/types.h>

typedef struct {
    pid_t pid;
    int port;
    char url[64];        /* "http://127.0.0.1:PORT" */
    char *dir;           /* scratch dir holding the port file (owned) */
} ts_mock;

/* Start the mock with extra arguments (NULL-terminated, may be NULL), e.g.
 * {"--token", "s3cret", NULL}. Waits until it listens. */
void ts_mock_start(ts_mock *m, const char *const *args);
void ts_mock_stop(ts_mock *m);
/* Plain HTTP helper (no retries): returns the status; *body_out (may be NULL)
 * gets the body, caller frees with rag_free. */
long ts_http(const char *method, const char *url, const char *body, char **body_out);
/* Queue faults: json is the /_mock/faults body, e.g.
 * {"faults":[{"fault":"503","path":"/embed","count":2}]} */
void ts_mock_faults(ts_mock *m, const char *json);
void ts_mock_reset(ts_mock *m);
/* Requests logged so far whose path starts with prefix. */
int ts_mock_count(ts_mock *m, const char *prefix);
/* GET /_mock/log; caller frees. */
char *ts_mock_log(ts_mock *m);
/* A loopback port with nothing listening on it (for connection refused). */
int ts_closed_port(void);

#endif
