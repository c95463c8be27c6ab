/* analyzer.h - BM25 text analysis, one for documents and queries, and the
 * SQLite FTS5 tokenizer "docrag" that applies it.
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

#include <sqlite3.h>

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
/* 1 if the lower-cased word is a stop word. */
int rag_analyzer_is_stopword(const char *word, size_t n_bytes);

/* Register the FTS5 tokenizer "docrag" on db. */
int rag_fts5_register(sqlite3 *db, rag_err *err);

/* Build an FTS5 MATCH expression for a free-text query: each analysed
 * term quoted, terms OR-ed, stop words dropped. Appends to out; leaves out
 * empty when the query has no searchable term. */
int rag_analyzer_match_expr(rag_analyzer *a, rag_buf *out, const char *query,
                            rag_err *err);

#endif
