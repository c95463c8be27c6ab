/* chunker.h - split an extracted document into overlapping windows.
 *
 * Sizes are in estimated embedder tokens (rag_chunk_estimate_tokens), so
 * the defaults fit a 256-token embedder. A window ends preferably at a
 * paragraph break, else a sentence end, else a word boundary, else a
 * UTF-8 character boundary; it never exceeds max_tokens.
 *
 * Thread safety: pure functions; any thread.
 */
#ifndef RAG_CHUNKER_H
#define RAG_CHUNKER_H

#include "core/core.h"
#include "ingest/ingest.h"

#include <stdint.h>

typedef struct {
    int target_tokens;   /* aim for this many (default 240) */
    int max_tokens;      /* hard maximum (default 255 estimated: real WordPiece p99 237) */
    int overlap_tokens;  /* carried over from the previous window (default 32) */
} rag_chunk_opts;

rag_chunk_opts rag_chunk_default_opts(void);

typedef struct {
    int64_t id;            /* deterministic: from doc path, ord and text */
    int ord;               /* 0-based position in the document */
    int page_start;        /* 1-based, inclusive */
    int page_end;
    const char *section;   /* "" when none; lives in the chunks' arena */
    size_t byte_start;     /* into doc->text */
    size_t byte_end;
    const char *text;      /* copy of doc->text[byte_start, byte_end), NUL-terminated */
    size_t text_bytes;
    int n_tokens;          /* estimate */
} rag_chunk;

typedef struct {
    rag_chunk *items;
    size_t n;
    rag_arena *arena;      /* owns texts and sections */
} rag_chunks;

/* Caller owns *out; free with rag_chunks_destroy. Invalid opts -> RAG_EINVAL. */
int rag_chunker_split(rag_chunks **out, const rag_doc *doc,
                      const rag_chunk_opts *opts, rag_err *err);
void rag_chunks_destroy(rag_chunks *chunks);

/* Estimated WordPiece token count of s (no special tokens). */
int rag_chunk_estimate_tokens(const char *s, size_t n_bytes);

#endif
