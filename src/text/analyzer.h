/* analyzer.h - BM25 text analysis, one for documents and queries (the
 * SQLite FTS5 tokenizer "docrag" that applies it is the SQLite back-end's:
 * src/index/fts5.h).
 *
 * Technical tokens stay whole (RV32I, x86_64, RISC-V, v1.0, mcause, 0x7FF)
 * and their parts are indexed too (at the same position, FTS5 "colocated"
 * tokens), so "risc" finds "RISC-V" and "RISC-V" finds it exactly. Words
 * are lower-cased, stop words dropped and English words stemmed (Snowball).
 *
 * Thread safety: rag_analyzer objects are one per thread; the FTS5
 * tokenizer creates its own.
 */
#ifndef RAG_ANALYZER_H
#define RAG_ANALYZER_H

#include "core/core.h"

#include <stddef.h>

typedef struct rag_analyzer rag_analyzer;

/* One analysed term. `colocated` is 1 for an extra term at the same
 * position as the previous one (a part of a compound token). Byte offsets
 * point into the analysed text. */
typedef int (*rag_term_fn)(void *ctx, const char *term, size_t n_bytes,
                           size_t byte_start, size_t byte_end, int colocated);

/* Caller owns *out; free with rag_analyzer_destroy. */
int rag_analyzer_create(rag_analyzer **out, rag_err *err);
void rag_analyzer_destroy(rag_analyzer *a);
/* Analyse text, calling fn per term; a negative return from fn stops and
 * is returned. */
int rag_analyzer_run(rag_analyzer *a, const char *text, size_t n_bytes,
                     rag_term_fn fn, void *ctx);
/* How a text is analysed. DOCUMENT emits every term: a compound
 * (technical) token as its whole form followed by its parts, colocated.
 * QUERY emits one term per position (the whole form of a compound), which
 * is what FTS5 wants for the terms of a MATCH expression. */
typedef enum {
    RAG_ANALYZE_DOCUMENT = 0,
    RAG_ANALYZE_QUERY = 1,
} rag_analyze_mode;

/* rag_analyzer_run with an explicit mode (rag_analyzer_run is DOCUMENT).
 * Returns 0, RAG_ENOMEM if the stemmer runs out of memory, or fn's
 * negative return. Invalid UTF-8 bytes are treated as separators. */
int rag_analyzer_run_mode(rag_analyzer *a, const char *text, size_t n_bytes,
                          rag_analyze_mode mode, rag_term_fn fn, void *ctx);

/* Longest term emitted, in bytes; longer words are skipped. */
#define RAG_ANALYZER_MAX_TERM_BYTES 64

/* 1 if the lower-cased word is a stop word. */
int rag_analyzer_is_stopword(const char *word, size_t n_bytes);

/* Build an FTS5 MATCH expression for a free-text query: each analysed
 * term quoted, terms OR-ed, stop words dropped. Appends to out; leaves out
 * empty when the query has no searchable term.
 *
 * Each term is written as its source text (quotes doubled), so FTS5 runs
 * it through the same analysis in QUERY mode and gets exactly that term
 * back. A technical compound (one with a digit, a connector other than
 * '-', or an upper-case letter after the first: "RV32I", "x86_64",
 * "RISC-V") contributes its whole form and each part, so a row with the
 * exact token outscores rows that only share parts; lower-case hyphenated
 * words ("boundary-layer", "x-ray") contribute their words only, as adding
 * the whole measured worse (docs/bm25.md). Repeated
 * query words are kept (query term frequency counts, as in Lucene's OR
 * query). At most RAG_ANALYZER_MAX_QUERY_TERMS terms are used; the rest
 * of a very long query is ignored. Errors: RAG_ENOMEM, RAG_ELIMIT (out's
 * cap). */
#define RAG_ANALYZER_MAX_QUERY_TERMS 1024
int rag_analyzer_match_expr(rag_analyzer *a, rag_buf *out, const char *query,
                            rag_err *err);

#endif
