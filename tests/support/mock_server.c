/* mock_server.c - see mock_server.h. */
#include "mock_server.h"
#include "test_support.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

void ts_mock_start(ts_mock *m, const char *const *args)
{
    char *script = ts_src_path("tests/support/mock_api.py");
    char *pf;
    const char *argv[32];
    int n = 0;

    memset(m, 0, sizeof *m);
    m->dir = ts_tmpdir("mock");
    pf = rag_asprintf("%s/port", m->dir);
    argv[n++] = "python3";
    argv[n++] = script;
    argv[n++] = "--port-file";
    argv[n++] = pf;
    for (int i = 0; args && args[i] && n < 30; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    m->pid = fork();
    assert_true(m->pid >= 0);
    if (m->pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd >= 0)
            dup2(fd, 1);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    for (int i = 0; i < 500 && !m->port; i++) {
        FILE *f = fopen(pf, "r");
        struct timespec ts = {0, 10 * 1000 * 1000};
        if (f) {
            if (fscanf(f, "%d", &m->port) != 1)
                m->port = 0;
            fclose(f);
        }
        if (!m->port)
            nanosleep(&ts, NULL);
    }
    rag_free(pf);
    rag_free(script);
    assert_true(m->port > 0);
    snprintf(m->url, sizeof m->url, "http://127.0.0.1:%d", m->port);
}

void ts_mock_stop(ts_mock *m)
{
    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        waitpid(m->pid, NULL, 0);
    }
    m->pid = 0;
    rag_free(m->dir);
    m->dir = NULL;
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
    rag_buf *b = ud;
    return rag_buf_append(b, p, sz * n) == RAG_OK ? sz * n : 0;
}

long ts_http(const char *method, const char *url, const char *body, char **body_out)
{
    CURL *h = curl_easy_init();
    rag_buf b = RAG_BUF_INIT;
    long status = 0;
    CURLcode rc;

    assert_non_null(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    if (body)
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    if (body_out)
        *body_out = b.data ? rag_buf_take(&b) : rag_strdup("");
    rag_buf_fini(&b);
    return status;
}

void ts_mock_faults(ts_mock *m, const char *json)
{
    char url[128];
    snprintf(url, sizeof url, "%s/_mock/faults", m->url);
    assert_int_equal(ts_http("POST", url, json, NULL), 200);
}

void ts_mock_reset(ts_mock *m)
{
    char url[128];
    snprintf(url, sizeof url, "%s/_mock/reset", m->url);
    assert_int_equal(ts_http("POST", url, "{}", NULL), 200);
}

int ts_mock_count(ts_mock *m, const char *prefix)
{
    char url[512], *body = NULL;
    int n = -1;
    const char *p;
    snprintf(url, sizeof url, "%s/_mock/count?path=%s", m->url, prefix);
    assert_int_equal(ts_http("GET", url, NULL, &body), 200);
    p = strstr(body, "\"count\":");
    if (p)
        n = atoi(p + 8);
    rag_free(body);
    return n;
}

char *ts_mock_log(ts_mock *m)
{
    char url[128], *body = NULL;
    snprintf(url, sizeof url, "%s/_mock/log", m->url);
    assert_int_equal(ts_http("GET", url, NULL, &body), 200);
    return body;
}

int ts_closed_port(void)
{
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;
    assert_true(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &n), 0);
    port = ntohs(a.sin_port);
    close(fd); /* nothing listens there now */
    return port;
}
