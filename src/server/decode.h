/* decode.h - the request bodies of the OpenAI-compatible routes
 * (POST /v1/chat/completions, POST /v1/embeddings) and the TEI-compatible
 * ones (POST /embed, POST /rerank), decoded from JSON text into structs.
 *
 * Pure functions: JSON text in, a struct or an error out; no evhttp, no
 * engine, no I/O, so libFuzzer drives them directly
 * (fuzz/fuzz_request_json.c). The routes (routes_openai.c, routes_tei.c)
 * turn an error into the protocol's own error shape.
 *
 * Each decoder is strict in docrag's way (an unknown field or a value of
 * the wrong type is an error naming it) but accepts every field the
 * protocol defines, ignoring those that cannot change a docrag answer
 * (temperature, max_tokens, user ...) and refusing those docrag cannot
 * honour (n > 1, tools, logprobs, JSON response formats, token-id inputs).
 *
 * Ownership: a decoded struct owns its parsed JSON (root); its strings
 * borrow from it and stay valid until the struct's _fini. On error nothing
 * is left to free (the _fini is still safe to call). Thread safety: none
 * needed (no shared state).
 */
#ifndef RAG_SRV_DECODE_H
#define RAG_SRV_DECODE_H

#include "docrag.h"

#include <jansson.h>
#include <stddef.h>

/* Why a body was refused: the HTTP status to answer (400 malformed or
 * invalid, 413 batch over the cap, 422 invalid for TEI), the field at
 * fault ("" when none: "messages[2].content", "input") and a message. */
typedef struct {
    int status;
    char param[64];
    char msg[256];
} srv_decode_err;

/* Longest question taken (bytes), as /v1/ask. */
#define SRV_QUESTION_MAX 8192

/* ---- POST /v1/chat/completions ---------------------------------------------- */

typedef struct {
    json_t *root;              /* owned */
    const char *model;         /* as given: "docrag" or "docrag/<collection>" */
    char *question;            /* owned (rag_malloc): the text of the last user
                                  message (string content, or its text parts
                                  joined by "\n") */
    size_t n_messages;
    int stream;
    int include_usage;         /* stream_options.include_usage */
    docrag_search_opts so;     /* the "docrag" object's k, mode, doc, pages, rerank */
} srv_chat_req;

/* Decode a chat completion request. 0, or -1 with *err filled (status 400;
 * a question over SRV_QUESTION_MAX bytes is one). */
int srv_decode_chat(srv_chat_req *out, const char *body, size_t n_body,
                    srv_decode_err *err);
void srv_chat_req_fini(srv_chat_req *q);

/* ---- POST /v1/embeddings, POST /embed, POST /rerank -------------------------- */

typedef struct {
    json_t *root;              /* owned */
    const char *model;         /* /v1/embeddings only (required there) */
    const char *query;         /* /rerank only */
    const char **texts;        /* owned array (rag_malloc) of borrowed strings */
    size_t n_texts;
    size_t text_bytes;         /* sum of strlen(texts[i]) */
    int base64;                /* /v1/embeddings: encoding_format "base64" */
    long dimensions;           /* 0: not given */
    int normalize;             /* /embed: default 1 */
    int truncate;              /* /embed, /rerank: -1 not given (null), 0, 1 */
    int raw_scores;            /* /rerank */
    int return_text;           /* /rerank */
} srv_batch_req;

/* OpenAI embeddings: {"input": str | [str], "model", "encoding_format",
 * "dimensions", "user"}. More than max_batch inputs: 413; other errors 400. */
int srv_decode_embeddings(srv_batch_req *out, const char *body, size_t n_body,
                          size_t max_batch, srv_decode_err *err);
/* TEI /embed: {"inputs": str | [str], "normalize", "truncate",
 * "truncation_direction", "prompt_name", "dimensions"}. Over max_batch:
 * 413; malformed JSON 400; anything else invalid (an empty batch too) 422. */
int srv_decode_tei_embed(srv_batch_req *out, const char *body, size_t n_body,
                         size_t max_batch, srv_decode_err *err);
/* TEI /rerank: {"query", "texts", "raw_scores", "return_text", "truncate",
 * "truncation_direction"}. Statuses as srv_decode_tei_embed. */
int srv_decode_tei_rerank(srv_batch_req *out, const char *body, size_t n_body,
                          size_t max_batch, srv_decode_err *err);
void srv_batch_req_fini(srv_batch_req *q);

#endif
