/* generate.h - answers with citations.
 *
 * The extractive answerer needs no model: it picks the sentences of the
 * top chunks that carry most of the question's IDF-weighted terms, and
 * cites each with [n]. Citations name the document, the exact pages of the
 * cited sentences, and the section.
 *
 * Thread safety: one call at a time per rag_index / rag_analyzer.
 */
#ifndef RAG_GENERATE_H
#define RAG_GENERATE_H

#include "core/core.h"
#include "index/index.h"
#include "retrieve/retrieve.h"

#define RAG_REFUSAL "No relevant information in the indexed documents."

typedef struct {
    int n;               /* the number used in the answer text, 1-based */
    int64_t chunk_id;
    char *doc;
    char *title;
    int page_start;
    int page_end;
    char *section;
} rag_citation;

typedef struct {
    char *answer;
    rag_citation *citations;
    size_t n_citations;
    double confidence;   /* [0,1] */
    int refused;
    const char *backend; /* static string: "extractive", ... */
} rag_answer;

typedef struct {
    int max_sentences;      /* sentences in the answer */
    size_t context_chunks;  /* top chunks sentences are drawn from */
    size_t max_sentence_bytes;
} rag_extractive_opts;

rag_extractive_opts rag_extractive_default_opts(void);

/* Build an extractive answer from hits (already gated). Caller owns
 * out's contents: free with rag_answer_fini. */
int rag_answer_extractive(rag_answer *out, rag_index *ix, rag_analyzer *an,
                          const rag_qterms *q, const rag_hits *hits,
                          const rag_extractive_opts *opts, rag_err *err);
/* Fill out as a refusal. */
int rag_answer_refuse(rag_answer *out, double confidence, rag_err *err);
void rag_answer_fini(rag_answer *a);

/* ---- the whole question-answering path ---------------------------------- */

typedef struct {
    size_t context_chunks;       /* chunks retrieved and read for the answer */
    rag_gate_opts gate;
    rag_extractive_opts extractive;
} rag_ask_opts;

rag_ask_opts rag_ask_default_opts(void);
/* Defaults overridden by answer.* from the configuration. */
struct rag_config;
rag_ask_opts rag_ask_opts_from_config(const struct rag_config *cfg);

typedef struct {
    double search_ms, gate_ms, answer_ms, total_ms;
} rag_ask_timings;

/* Retrieve (BM25), gate, answer. Caller owns out's contents: free with
 * rag_answer_fini. A refusal is an answer (out->refused = 1), not an
 * error. */
int rag_ask(rag_answer *out, rag_ask_timings *t, rag_index *ix,
            const char *question, const rag_ask_opts *opts, rag_err *err);

/* Split text into sentences: calls fn with each sentence's byte range
 * (trimmed). Splits at . ! ? followed by space and an upper-case letter,
 * digit or opening bracket/quote, and at blank lines and bullets;
 * abbreviations ("e.g.", "i.e.", "Fig.", "et al.") and decimals do not
 * split. Sentences longer than max_bytes are cut at a word boundary. */
typedef int (*rag_sentence_fn)(void *ctx, size_t start, size_t end);
int rag_sentences(const char *text, size_t n_bytes, size_t max_bytes,
                  rag_sentence_fn fn, void *ctx);

#endif
