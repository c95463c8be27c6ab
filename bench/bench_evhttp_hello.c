/* bench_evhttp_hello.c - the smallest libevent evhttp server: every request
 * gets 200 "ok". The peer `bench/serve.sh` measures docrag's GET /health
 * against, built with the same flags and the same libevent.
 *
 *   bench_evhttp_hello [PORT]      (default 0: any free port)
 *
 * Binds 127.0.0.1, prints "listening on http://127.0.0.1:PORT" on stderr
 * (as `docrag serve` does) and serves on one thread until SIGTERM/SIGINT.
 * No evthread locking, no worker pool, no logging: the floor an evhttp
 * server can reach on this machine.
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>

static void hello(struct evhttp_request *req, void *arg)
{
    struct evbuffer *b = evhttp_request_get_output_buffer(req);
    (void)arg;
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "text/plain");
    evbuffer_add(b, "ok", 2);
    evhttp_send_reply(req, 200, "OK", NULL);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
    struct event_base *base = event_base_new();
    struct evhttp *http = base ? evhttp_new(base) : NULL;
    struct evhttp_bound_socket *sock;
    struct event *sig_term, *sig_int;
    struct sockaddr_in a;
    socklen_t n = sizeof a;
    int port = argc > 1 ? atoi(argv[1]) : 0;

    if (!http) {
        fprintf(stderr, "bench_evhttp_hello: cannot create the HTTP server\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    evhttp_set_gencb(http, hello, NULL);
    sock = evhttp_bind_socket_with_handle(http, "127.0.0.1", (ev_uint16_t)port);
    if (!sock || getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&a, &n)) {
        fprintf(stderr, "bench_evhttp_hello: cannot listen on 127.0.0.1:%d\n", port);
        return 1;
    }
    sig_term = evsignal_new(base, SIGTERM, on_signal, base);
    sig_int = evsignal_new(base, SIGINT, on_signal, base);
    event_add(sig_term, NULL);
    event_add(sig_int, NULL);
    fprintf(stderr, "listening on http://127.0.0.1:%d\n", ntohs(a.sin_port));
    event_base_dispatch(base);
    event_free(sig_term);
    event_free(sig_int);
    evhttp_free(http);
    event_base_free(base);
    return 0;
}
