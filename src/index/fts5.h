/* fts5.h - private to src/index (and its tests): the SQLite FTS5 glue of
 * the SQLite back-end, the tokenizer "docrag" (fts5_tokenizer.c, the
 * analyzer of text/analyzer.h inside SQLite) and the ranking function
 * docrag_bm25 (fts5_rank.c). SQLite-specific by nature, so it lives with
 * the back-end; other back-ends score from the postings (bm25_index.h).
 */
#ifndef RAG_FTS5_H
#define RAG_FTS5_H

#include "core/core.h"
#include "text/analyzer.h"

#include <sqlite3.h>

/* Register the FTS5 tokenizer "docrag" and the ranking function
 * docrag_bm25 on db. Each FTS5 table using the tokenizer gets its own
 * rag_analyzer, so a connection may be used by one thread at a time (the
 * usual SQLite rule). Errors name the function that failed. */
int rag_fts5_register(sqlite3 *db, rag_err *err);

/* Register only the auxiliary function
 *   docrag_bm25(fts_table [, k1 [, b [, w_col0, w_col1, ...]]])
 * which returns a POSITIVE BM25 score (higher is better): Lucene's IDF
 * log(1 + (N - n + 0.5) / (n + 0.5)) per phrase of the MATCH expression
 * (n = rows matching that phrase), term frequency and document length
 * summed over the columns with the given weights (default k1 = 1.2,
 * b = 0.75, every weight 1.0), so a multi-column row scores like one
 * field holding all its columns. Called by rag_fts5_register. */
int rag_bm25_rank_register(sqlite3 *db, rag_err *err);

#endif
