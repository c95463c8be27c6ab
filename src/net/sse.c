/* sse.c - incremental Server-Sent Events parser (WHATWG event-stream).
 *
 * Byte layout:
 *   stream = *(line EOL);  EOL = "\r\n" | "\n" | "\r"
 *   line   = ":" comment | field [":" [" "] value] | ""  (blank: dispatch)
 * Fields used: data (appended, joined with "\n"), event, id; others ignored.
 * A line split across feeds is buffered (capped by max_line_bytes). A lone
 * "\r" at the end of a feed may be followed by "\n" in the next one, so we
 * remember it (skip_lf) rather than treating "\r\n" as two line ends.
 */
#include "net.h"

#include <string.h>

struct rag_sse {
    rag_buf line;     /* partial line */
    rag_buf data;     /* data of the event being built */
    rag_buf event;    /* event type */
    rag_buf id;       /* last event id (persists across events) */
    int has_data;     /* a data field was seen */
    int skip_lf;      /* previous chunk ended in '\r' */
    int stopped;
    size_t max_line_bytes;
    rag_sse_fn fn;
    void *userdata;
};

int rag_sse_create(rag_sse **out, size_t max_line_bytes, rag_sse_fn fn,
                   void *userdata)
{
    rag_sse *p = rag_calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return RAG_ENOMEM;
    p->max_line_bytes = max_line_bytes ? max_line_bytes : (1u << 20);
    p->line.max_len = p->max_line_bytes;
    p->fn = fn;
    p->userdata = userdata;
    *out = p;
    return RAG_OK;
}

void rag_sse_destroy(rag_sse *p)
{
    if (!p)
        return;
    rag_buf_fini(&p->line);
    rag_buf_fini(&p->data);
    rag_buf_fini(&p->event);
    rag_buf_fini(&p->id);
    rag_free(p);
}

static void reset_event(rag_sse *p)
{
    rag_buf_clear(&p->data);
    rag_buf_clear(&p->event);
    p->has_data = 0;
}

static int dispatch(rag_sse *p)
{
    int stop;
    if (!p->has_data) {
        rag_buf_clear(&p->event);
        return RAG_OK;
    }
    stop = p->fn(p->event.len ? p->event.data : "message",
                 p->data.data ? p->data.data : "", p->data.len,
                 p->id.len ? p->id.data : NULL, p->userdata);
    reset_event(p);
    if (stop) {
        p->stopped = 1;
        return RAG_EBACKEND;
    }
    return RAG_OK;
}

static int process_line(rag_sse *p, const char *s, size_t n)
{
    const char *colon, *val;
    size_t n_field, n_val;
    int rc;

    if (n == 0)
        return dispatch(p);
    if (s[0] == ':')
        return RAG_OK;
    colon = memchr(s, ':', n);
    if (colon) {
        n_field = (size_t)(colon - s);
        val = colon + 1;
        n_val = n - n_field - 1;
        if (n_val && *val == ' ') {
            val++;
            n_val--;
        }
    } else {
        n_field = n;
        val = "";
        n_val = 0;
    }
    if (n_field == 4 && !memcmp(s, "data", 4)) {
        if (p->has_data && (rc = rag_buf_putc(&p->data, '\n')) < 0)
            return rc;
        p->has_data = 1;
        if (p->data.len + n_val > p->max_line_bytes * 4)
            return RAG_ELIMIT;
        return rag_buf_append(&p->data, val, n_val);
    }
    if (n_field == 5 && !memcmp(s, "event", 5)) {
        rag_buf_clear(&p->event);
        return rag_buf_append(&p->event, val, n_val);
    }
    if (n_field == 2 && !memcmp(s, "id", 2)) {
        if (memchr(val, '\0', n_val))
            return RAG_OK; /* spec: ids with NUL are ignored */
        rag_buf_clear(&p->id);
        return rag_buf_append(&p->id, val, n_val);
    }
    return RAG_OK; /* retry and unknown fields */
}

int rag_sse_feed(rag_sse *p, const char *data, size_t n_bytes)
{
    size_t i = 0;
    int rc;

    if (p->stopped)
        return RAG_EBACKEND;
    if (p->skip_lf && n_bytes && data[0] == '\n')
        i = 1;
    p->skip_lf = 0;
    while (i < n_bytes) {
        size_t j = i;
        while (j < n_bytes && data[j] != '\n' && data[j] != '\r')
            j++;
        if (j == n_bytes) {
            rc = rag_buf_append(&p->line, data + i, j - i);
            return rc == RAG_ELIMIT ? RAG_ELIMIT : rc;
        }
        if (p->line.len) {
            if ((rc = rag_buf_append(&p->line, data + i, j - i)) < 0)
                return rc;
            rc = process_line(p, p->line.data, p->line.len);
            rag_buf_clear(&p->line);
        } else {
            if (j - i > p->max_line_bytes)
                return RAG_ELIMIT;
            rc = process_line(p, data + i, j - i);
        }
        if (rc < 0)
            return rc;
        if (data[j] == '\r') {
            if (j + 1 < n_bytes) {
                if (data[j + 1] == '\n')
                    j++;
            } else {
                p->skip_lf = 1;
            }
        }
        i = j + 1;
    }
    return RAG_OK;
}

int rag_sse_finish(rag_sse *p)
{
    int pending = p->line.len > 0 || p->has_data;
    rag_buf_clear(&p->line);
    reset_event(p);
    return pending;
}
