/* fuzz_path.c - URI paths, route matching, ids and Range headers on
 * arbitrary bytes: the first line is a path, the rest a Range value.
 *
 * Checked: segments are non-empty UTF-8 without '/', "." or ".."; the
 * segments re-encoded parse back to themselves; an all-captures pattern of
 * the same shape matches and captures each segment whole; an id that parses
 * is positive and canonical; a single range lies inside the size. */
#include "server/http_parse.h"

#include <stdlib.h>
#include <string.h>

static void encode(rag_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            c == '-' || c == '.' || c == '_' || c == '~') {
            rag_buf_putc(b, (char)c);
        } else {
            rag_buf_putc(b, '%');
            rag_buf_putc(b, hex[c >> 4]);
            rag_buf_putc(b, hex[c & 15]);
        }
    }
}

static void check_id(rag_span s)
{
    int64_t id;
    if (rag_parse_id(s, &id, NULL) != RAG_OK)
        return;
    if (id <= 0 || s.n == 0 || s.s[0] == '0')
        abort();
    for (size_t i = s.n; i-- > 0; id /= 10) {
        if (s.s[i] - '0' != id % 10)
            abort();
    }
    if (id != 0)
        abort();
}

static void check_path(const char *s)
{
    static const char *const routes[] = {
        "/v1/documents/{id}/pages/{n}.png", "/v1/documents/{id}/pages/{n}", "/{a}/{b}",
        "/{x}", "/", "/v1/models/",
    };
    rag_path_limits roomy = {.max_path_bytes = 1 << 20};
    rag_path *p = NULL, *p2 = NULL;
    rag_buf b = RAG_BUF_INIT, pat = RAG_BUF_INIT;
    rag_span caps[16];
    int rc = rag_path_split(&p, s, NULL, NULL);

    if ((rc == RAG_OK) != (p != NULL))
        abort();
    if (rc != RAG_OK) {
        if (rc != RAG_EFORMAT && rc != RAG_ELIMIT)
            abort();
        return;
    }
    if (p->n_segs > 16)
        abort();
    for (size_t i = 0; i < p->n_segs; i++) {
        const char *g = p->segs[i];
        size_t n = strlen(g);
        if (!n || strchr(g, '/') || !strcmp(g, ".") || !strcmp(g, "..") ||
            !rag_utf8_valid(g, n))
            abort();
        rag_buf_putc(&b, '/');
        encode(&b, g);
        rag_buf_puts(&pat, "/{}");
    }
    if (p->n_segs == 0 || p->trailing_slash) {
        rag_buf_putc(&b, '/');
        rag_buf_putc(&pat, '/');
    }
    if (p->n_segs == 0 && p->trailing_slash)
        abort();
    rc = rag_path_split(&p2, b.data, &roomy, NULL);
    if (rc != RAG_OK || p2->n_segs != p->n_segs || p2->trailing_slash != p->trailing_slash)
        abort();
    for (size_t i = 0; i < p->n_segs; i++) {
        if (strcmp(p->segs[i], p2->segs[i]) != 0)
            abort();
    }
    if (rag_path_match(p, pat.data, caps, 16) != 1)
        abort();
    for (size_t i = 0; i < p->n_segs; i++) {
        if (caps[i].s != p->segs[i] || caps[i].n != strlen(p->segs[i]))
            abort();
        check_id(caps[i]);
    }
    for (size_t r = 0; r < sizeof routes / sizeof routes[0]; r++) {
        memset(caps, 0, sizeof caps); /* routes capture 0..2 segments */
        if (rag_path_match(p, routes[r], caps, 2) == 1) {
            check_id(caps[0]);
            check_id(caps[1]);
        }
    }
    rag_path_destroy(p2);
    rag_path_destroy(p);
    rag_buf_fini(&b);
    rag_buf_fini(&pat);
}

static void check_range(const char *h)
{
    static const uint64_t sizes[] = {0, 1, 1000, UINT64_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        rag_range r;
        int rc = rag_range_parse(&r, h, sizes[i], NULL);
        if (rc != RAG_OK && rc != RAG_EFORMAT)
            abort();
        if (rc == RAG_OK && r.kind == RAG_RANGE_SINGLE) {
            if (r.first > r.last || r.last >= sizes[i])
                abort();
        } else if (r.first || r.last || (rc != RAG_OK && r.kind != RAG_RANGE_NONE)) {
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1), *nl;

    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    nl = strchr(s, '\n');
    if (nl)
        *nl = '\0';
    check_path(s);
    check_id((rag_span){s, strlen(s)});
    check_range(nl ? nl + 1 : NULL);
    free(s);
    return 0;
}
