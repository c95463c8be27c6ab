/* test_indexer.c - the incremental indexer over real folders: what a run
 * adds, keeps and removes, and how it reports what it could not do. */
#include "test_support.h"

#include "config/config.h"
#include "index/index.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char errors[16][512];
    int n_errors;
} run_log;

static void on_error(void *ctx, const char *path, const rag_err *err)
{
    run_log *l = ctx;
    (void)path;
    if (l->n_errors < 16)
        snprintf(l->errors[l->n_errors++], sizeof l->errors[0], "%s", err->msg);
}

static rag_indexer_opts opts(void)
{
    rag_indexer_opts o;
    memset(&o, 0, sizeof o);
    o.extract = rag_extract_default_opts();
    o.chunk = rag_chunk_default_opts();
    o.remove_vanished = 1;
    return o;
}

static int run(rag_index *ix, const char *root, rag_indexer_report *rep, run_log *l)
{
    rag_indexer_opts o = opts();
    rag_indexer_events ev = {NULL, on_error, l};
    const char *paths[] = {root};
    rag_err err = {0};
    memset(l, 0, sizeof *l);
    return rag_indexer_run(ix, paths, 1, &o, &ev, rep, &err);
}

/* A folder that holds no document: nothing to sort, nothing to look up
 * (qsort and bsearch must not see the NULL list; the ASan+UBSan build
 * aborts on that). */
static void test_indexer__empty_folder_indexes_nothing(void **state)
{
    char *dir = ts_tmpdir("idx-empty");
    rag_indexer_report rep;
    run_log l;
    rag_index *ix;
    rag_err err = {0};
    (void)state;

    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(run(ix, dir, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_seen, 0);
    assert_int_equal(rep.n_added, 0);
    assert_int_equal(rep.n_removed, 0);
    assert_int_equal(rep.n_failed, 0);
    rag_index_close(ix);
    rmdir(dir);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_indexer__empty_folder_indexes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
