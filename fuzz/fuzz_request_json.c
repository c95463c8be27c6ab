/* fuzz_request_json.c - the request body decoders of the OpenAI- and
 * TEI-compatible routes (src/server/decode.c) on arbitrary bytes.
 *
 * Input layout: byte 0 picks the decoder ('0' + k: 0 chat/completions,
 * 1 embeddings, 2 TEI /embed, 3 TEI /rerank; any byte works, mod 4),
 * byte 1 the batch cap (1 + byte % 32), the rest is the body. Besides not
 * crashing or leaking, a decoder must keep its contract: an error has a
 * status of 400, 413 or 422 and a message; a success has a question or
 * texts within the limits, every string NUL-terminated.
 */
#include "server/decode.h"

#include <stdlib.h>
#include <string.h>

static void check_err(const srv_decode_err *e)
{
    if ((e->status != 400 && e->status != 413 && e->status != 422) || !e->msg[0] ||
        !memchr(e->msg, '\0', sizeof e->msg) || !memchr(e->param, '\0', sizeof e->param))
        abort();
}

static void check_batch(const srv_batch_req *q, size_t max_batch, int rerank)
{
    size_t bytes = 0;
    if (!q->root || !q->texts || q->n_texts == 0 || q->n_texts > max_batch)
        abort();
    for (size_t i = 0; i < q->n_texts; i++) {
        if (!q->texts[i])
            abort();
        bytes += strlen(q->texts[i]);
    }
    if (bytes != q->text_bytes || (rerank && !q->query))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    srv_decode_err err;
    size_t max_batch;
    const char *body;
    size_t n_body;

    if (size < 2)
        return 0;
    max_batch = 1 + data[1] % 32;
    body = (const char *)data + 2;
    n_body = size - 2;
    memset(&err, 0, sizeof err);
    switch (data[0] % 4) {
    case 0: {
        srv_chat_req q;
        if (srv_decode_chat(&q, body, n_body, &err) < 0) {
            check_err(&err);
            if (err.status == 413)
                abort();   /* chat has no batch */
        } else {
            size_t n = q.question ? strlen(q.question) : 0;
            if (!q.model || !q.question || n == 0 || n > SRV_QUESTION_MAX || !q.n_messages ||
                (q.so.k != 0 && (q.so.k < 1 || q.so.k > 1000)) ||
                (q.so.page_max && q.so.page_max < q.so.page_min))
                abort();
        }
        srv_chat_req_fini(&q);
        break;
    }
    case 1: {
        srv_batch_req q;
        if (srv_decode_embeddings(&q, body, n_body, max_batch, &err) < 0)
            check_err(&err);
        else if (!q.model)
            abort();
        else
            check_batch(&q, max_batch, 0);
        srv_batch_req_fini(&q);
        break;
    }
    case 2: {
        srv_batch_req q;
        if (srv_decode_tei_embed(&q, body, n_body, max_batch, &err) < 0)
            check_err(&err);
        else
            check_batch(&q, max_batch, 0);
        srv_batch_req_fini(&q);
        break;
    }
    default: {
        srv_batch_req q;
        if (srv_decode_tei_rerank(&q, body, n_body, max_batch, &err) < 0)
            check_err(&err);
        else
            check_batch(&q, max_batch, 1);
        srv_batch_req_fini(&q);
        break;
    }
    }
    return 0;
}
