/* test_support.h - helpers shared by the cmocka unit tests.
 *
 * Include <cmocka.h> through this header: it pulls in the headers cmocka
 * needs first, in the right order.
 */
#ifndef RAG_TEST_SUPPORT_H
#define RAG_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/core.h"
#include "index/index.h"

/* Path under ../shared (env DOCRAG_SHARED); caller frees with rag_free.
 * Returns NULL, after printing why, if shared data is missing. */
char *ts_shared_path(const char *rel);
/* Path under the source tree (env DOCRAG_SRC); caller frees. */
char *ts_src_path(const char *rel);
/* A fresh empty directory under the test tmp dir; caller frees. */
char *ts_tmpdir(const char *tag);
/* Write bytes to path; asserts on failure. */
void ts_write_file(const char *path, const void *data, size_t n_bytes);

/* Store a text document titled "Manual" at path with n_pages pages (each
 * page_start in chunks must be within them) and chunks[0..n); fails the
 * test on error. For index, retrieval and graph tests. */
void ts_put_doc(rag_index *ix, const char *path, const rag_chunk *chunks, size_t n,
                int n_pages);

/* Allocation fault injection: after ts_fail_alloc_after(n) the (n+1)-th
 * allocation through rag_malloc/rag_realloc fails; -1 disables. */
void ts_fail_alloc_after(long n);
/* Allocations seen since the last ts_fail_alloc_after call. */
long ts_alloc_count(void);

#endif
