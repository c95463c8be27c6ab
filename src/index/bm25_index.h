/* bm25_index.h - private to src/index: the BM25 postings index.
 *
 * FTS5 scores every matching row through an auxiliary function (about a
 * microsecond a row), so an OR query with common terms over 100k+ chunks
 * costs hundreds of milliseconds. This index keeps, per term, compact
 * postings (docno delta, tf, dl as varints) in segments written once per
 * transaction, and answers a query term-at-a-time into a dense score
 * array: a few milliseconds at 190k chunks.
 *
 * It mirrors FTS5 + docrag_bm25 exactly: the same analyzer in DOCUMENT mode
 * over the same three columns (text, section, title), tf summed over
 * columns, dl = positions over columns, df and N over live rows, Lucene's
 * idf. tests/unit/index/test_bm25_index.c checks both give equal scores.
 *
 * Tables (in index_store.c's schema): bm25_docs(docno, chunk_id, dl),
 * bm25_postings(term, seg, df, data), bm25_deleted(docno); meta keys
 * bm25_n_docs, bm25_total_dl.
 */
#ifndef RAG_BM25_INDEX_H
#define RAG_BM25_INDEX_H

#include "index.h"
#include "store_sqlite.h"

typedef struct bm25_writer bm25_writer;

/* Read one LEB128 varint of at most 10 bytes from p[0..n). Returns the
 * bytes read, or 0 if it is truncated or too long. */
static inline size_t bm25_get_varint(const unsigned char *p, size_t n, uint64_t *v)
{
    uint64_t r = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        r |= (uint64_t)(p[i] & 0x7F) << (7 * i);
        if (!(p[i] & 0x80)) {
            *v = r;
            return i + 1;
        }
    }
    return 0;
}

int bm25_writer_create(bm25_writer **out, rag_err *err);
void bm25_writer_destroy(bm25_writer *w);

/* Record a new chunk (inside the caller's transaction). */
int bm25_add_chunk(bm25_writer *w, sqlite3 *db, rag_analyzer *an, int64_t chunk_id,
                   const char *text, const char *section, const char *title,
                   rag_err *err);
/* Mark a chunk deleted (inside the caller's transaction). */
int bm25_delete_chunk(bm25_writer *w, sqlite3 *db, int64_t chunk_id, rag_err *err);
/* Write the pending segment and counters; call just before COMMIT. */
int bm25_flush(bm25_writer *w, sqlite3 *db, rag_err *err);
/* Forget pending changes (after ROLLBACK). */
void bm25_discard(bm25_writer *w);
/* Merge all segments into one, dropping deleted postings. */
int bm25_merge(sqlite3 *db, rag_err *err);
/* Number of segments. */
int64_t bm25_segment_count(sqlite3 *db);

#endif
