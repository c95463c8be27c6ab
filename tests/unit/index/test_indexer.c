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
#include <sys/wait.h>
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

static int logged(const run_log *l, const char *a, const char *b)
{
    for (int i = 0; i < l->n_errors; i++)
        if (strstr(l->errors[i], a) && (!b || strstr(l->errors[i], b)))
            return 1;
    return 0;
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

static int run_with(rag_index *ix, const char *root, const rag_indexer_opts *o,
                    rag_indexer_report *rep, run_log *l)
{
    rag_indexer_events ev = {NULL, on_error, l};
    const char *paths[] = {root};
    rag_err err = {0};
    memset(l, 0, sizeof *l);
    return rag_indexer_run(ix, paths, 1, o, &ev, rep, &err);
}

static int run(rag_index *ix, const char *root, rag_indexer_report *rep, run_log *l)
{
    rag_indexer_opts o = opts();
    return run_with(ix, root, &o, rep, l);
}

static void put(const char *dir, const char *rel, const char *text)
{
    char *p = rag_asprintf("%s/%s", dir, rel);
    ts_write_file(p, text, strlen(text));
    rag_free(p);
}

/* 1 if the index holds a document at dir/rel (canonical). */
static int has_doc(rag_index *ix, const char *dir, const char *rel)
{
    char *d = realpath(dir, NULL);
    char *p = rag_asprintf("%s/%s", d, rel);
    char sha[65];
    rag_err err = {0};
    int found = rag_index_doc_sha(ix, p, sha, &err);
    assert_true(found >= 0);
    rag_free(p);
    free(d);
    return found;
}

static void sh(const char *fmt, const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, fmt, dir, dir, dir, dir);
    assert_int_equal(system(cmd), 0);
}

/* Options from a configuration with --set style overrides. */
static rag_indexer_opts opts_from_sets(const char *const *sets, size_t n_sets)
{
    rag_config_source src;
    rag_config *cfg = NULL;
    rag_indexer_opts o;
    rag_err err = {0};
    memset(&src, 0, sizeof src);
    src.config_path = "/dev/null";
    src.sets = sets;
    src.n_sets = n_sets;
    if (rag_config_load(&cfg, &src, &err) < 0)
        fail_msg("config: %s", err.msg);
    o = rag_indexer_opts_from_config(cfg);
    rag_config_destroy(cfg);
    return o;
}

/* Text formats are read whole; their size cap follows ingest.max_text_mb,
 * so it can be raised (it was fixed at 64 MiB) and lowered. */
static void test_indexer__text_file_cap_follows_ingest_max_text_mb(void **state)
{
    const char *raise[] = {"ingest.max_text_mb=300", "ingest.max_file_mb=300"};
    const char *one[] = {"ingest.max_text_mb=1"};
    const char *three[] = {"ingest.max_text_mb=3"};
    char *dir = ts_tmpdir("idx-cap");
    char *big = rag_asprintf("%s/big.txt", dir);
    rag_indexer_opts o = opts_from_sets(raise, 2);
    rag_indexer_report rep;
    rag_buf text = RAG_BUF_INIT;
    run_log l;
    rag_index *ix;
    rag_err err = {0};
    (void)state;

    assert_true(o.extract.max_text_file_bytes == (size_t)300 << 20);
    assert_true(o.extract.max_file_bytes == (size_t)300 << 20);
    /* 2 MiB of text: over a 1 MiB cap, under a 3 MiB one. */
    while (text.len < ((size_t)2 << 20))
        assert_int_equal(rag_buf_puts(&text, "mcause register vector words. "), RAG_OK);
    ts_write_file(big, text.data, text.len);
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    o = opts_from_sets(one, 1);
    assert_int_equal(run_with(ix, dir, &o, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_failed, 1);
    assert_true(logged(&l, "big.txt", "limit"));
    o = opts_from_sets(three, 1);
    assert_int_equal(run_with(ix, dir, &o, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_failed, 0);
    assert_int_equal(rep.n_added, 1);
    rag_index_close(ix);
    rag_buf_fini(&text);
    unlink(big);
    rmdir(dir);
    rag_free(big);
    rag_free(dir);
}

/* A deleted file, and files under a folder that became a file, are gone
 * (ENOENT / ENOTDIR under a readable folder): removed. */
static void test_indexer__really_gone_files_are_removed(void **state)
{
    char *dir = ts_tmpdir("idx-gone");
    rag_indexer_report rep;
    run_log l;
    rag_index *ix;
    rag_err err = {0};
    (void)state;

    sh("mkdir -p %s/sub", dir);
    put(dir, "a.txt", "aardvark text in the top folder\n");
    put(dir, "keep.txt", "kept text\n");
    put(dir, "sub/s.txt", "zebrafish text in the sub folder\n");
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(run(ix, dir, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_added, 3);
    sh("rm %s/a.txt && rm -r %s/sub && printf 'now a file\\n' > %s/sub", dir);
    assert_int_equal(run(ix, dir, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_removed, 2);
    assert_int_equal(rep.n_failed, 0);
    assert_false(has_doc(ix, dir, "a.txt"));
    assert_false(has_doc(ix, dir, "sub/s.txt"));
    assert_true(has_doc(ix, dir, "keep.txt"));
    rag_index_close(ix);
    sh("rm -rf %s", dir);
    rag_free(dir);
}

/* A root that is not there any more (an unmounted disk) removes nothing:
 * its documents are kept and the run counts the failure. */
static void test_indexer__missing_root_keeps_its_documents(void **state)
{
    char *dir = ts_tmpdir("idx-root");
    char *root = rag_asprintf("%s/disk", dir);
    rag_indexer_report rep;
    run_log l;
    rag_index *ix;
    rag_err err = {0};
    (void)state;

    sh("mkdir -p %s/disk/sub", dir);
    put(root, "a.txt", "aardvark text\n");
    put(root, "sub/s.txt", "zebrafish text\n");
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(run(ix, root, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_added, 2);
    sh("mv %s/disk %s/disk.away", dir);
    assert_int_equal(run(ix, root, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_removed, 0);
    assert_true(rep.n_failed >= 1);
    assert_true(has_doc(ix, dir, "disk/a.txt"));
    assert_true(has_doc(ix, dir, "disk/sub/s.txt"));
    rag_index_close(ix);
    sh("rm -rf %s", dir);
    rag_free(root);
    rag_free(dir);
}

/* The r01 case, run as an unprivileged user (root reads any folder):
 * index, make a subfolder unreadable, index again. Returns 0 when the
 * subfolder's document is kept and reported, else a step number. */
static int unreadable_folder_case(const char *dir)
{
    rag_indexer_report rep;
    run_log l;
    rag_index *ix;
    rag_err err = {0};
    char *sub = rag_asprintf("%s/sub", dir);
    int bad = 0;

    if (rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err) < 0)
        return 1;
    if (run(ix, dir, &rep, &l) < 0 || rep.n_added != 2)
        bad = 2;
    if (!bad && chmod(sub, 0) != 0)
        bad = 3;
    if (!bad && run(ix, dir, &rep, &l) < 0)
        bad = 4;
    if (!bad && rep.n_removed != 0)
        bad = 5;
    if (!bad && rep.n_failed < 2)   /* the folder, and the document not checked */
        bad = 6;
    if (!bad && (!has_doc(ix, dir, "sub/s.txt") || !has_doc(ix, dir, "a.txt")))
        bad = 7;
    if (!bad && !logged(&l, "s.txt", "kept in the index"))
        bad = 8;
    for (int i = 0; bad && i < l.n_errors; i++)
        fprintf(stderr, "  reported: %s\n", l.errors[i]);
    chmod(sub, 0755);
    rag_index_close(ix);
    rag_free(sub);
    return bad;
}

static void test_indexer__unreadable_folder_keeps_its_documents(void **state)
{
    char *dir = ts_tmpdir("idx-eacces");
    int bad;
    (void)state;

    sh("mkdir -p %s/sub && chmod 755 %s", dir);
    put(dir, "a.txt", "zebrafish in the top folder\n");
    put(dir, "sub/s.txt", "zebrafish in the sub folder\n");
    if (geteuid() != 0) {
        bad = unreadable_folder_case(dir);
    } else {
        /* As root, drop to nobody in a child: permissions apply there. */
        int status = 0;
        pid_t pid;
        sh("chown -R 65534:65534 %s", dir);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(99);
            _exit(unreadable_folder_case(dir));
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        bad = WEXITSTATUS(status);
        if (bad == 99) {
            sh("rm -rf %s", dir);
            rag_free(dir);
            skip();
        }
    }
    if (bad)
        fail_msg("unreadable folder case failed at step %d", bad);
    sh("rm -rf %s", dir);
    rag_free(dir);
}

/* The r07 case: a.txt became a folder, b.txt a symlink to c.txt, and the
 * folder sub a symlink to another folder. None of the old paths names a
 * document of its own any more: their rows go (the content they now lead
 * to is indexed under its own canonical path), on the first run. */
static void test_indexer__path_replaced_by_folder_or_symlink_is_removed(void **state)
{
    char *dir = ts_tmpdir("idx-replaced");
    rag_indexer_report rep;
    run_log l;
    rag_index *ix;
    rag_err err = {0};
    (void)state;

    sh("mkdir -p %s/sub", dir);
    put(dir, "a.txt", "old zebrafish content one\n");
    put(dir, "b.txt", "old quokka content two\n");
    put(dir, "c.txt", "other\n");
    put(dir, "sub/s.txt", "pangolin in the sub folder\n");
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    assert_int_equal(run(ix, dir, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_added, 4);
    sh("rm %s/a.txt && mkdir %s/a.txt && rm %s/b.txt && ln -s c.txt %s/b.txt", dir);
    sh("mv %s/sub %s/elsewhere && ln -s elsewhere %s/sub", dir);
    assert_int_equal(run(ix, dir, &rep, &l), RAG_OK);
    /* the one failure: "sub" is a second link to a folder, skipped */
    assert_int_equal(rep.n_failed, 1);
    assert_true(logged(&l, "sub", "already visited"));
    assert_int_equal(rep.n_removed, 3);
    assert_int_equal(rep.n_added, 1);          /* elsewhere/s.txt */
    assert_false(has_doc(ix, dir, "a.txt"));
    assert_false(has_doc(ix, dir, "b.txt"));
    assert_false(has_doc(ix, dir, "sub/s.txt"));
    assert_true(has_doc(ix, dir, "c.txt"));
    assert_true(has_doc(ix, dir, "elsewhere/s.txt"));
    /* and it stays that way */
    assert_int_equal(run(ix, dir, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_removed, 0);
    assert_int_equal(rep.n_unchanged, 2);
    rag_index_close(ix);
    sh("rm -rf %s", dir);
    rag_free(dir);
}

/* ingest.max_file_seconds reaches the extractors: a file over its time
 * budget fails, named with the key, and keeps its last indexed version. */
static void test_indexer__file_over_its_time_budget_fails(void **state)
{
    const char *tight[] = {"ingest.max_file_seconds=0.001", "ingest.max_text_mb=64"};
    char *dir = ts_tmpdir("idx-time");
    char *big = rag_asprintf("%s/big.txt", dir);
    rag_indexer_opts o;
    rag_indexer_report rep;
    rag_buf text = RAG_BUF_INIT;
    run_log l;
    rag_index *ix;
    rag_err err = {0};
    (void)state;

    o = opts_from_sets(tight, 2);
    assert_true(o.extract.max_seconds == 0.001);
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    put(dir, "big.txt", "small first version\n");
    assert_int_equal(run(ix, dir, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_added, 1);
    while (text.len < ((size_t)16 << 20))
        assert_int_equal(rag_buf_puts(&text, "mcause register vector words.\n"), RAG_OK);
    ts_write_file(big, text.data, text.len);
    assert_int_equal(run_with(ix, dir, &o, &rep, &l), RAG_OK);
    assert_int_equal(rep.n_failed, 1);
    assert_int_equal(rep.n_updated, 0);
    assert_true(logged(&l, "big.txt", "ingest.max_file_seconds"));
    assert_true(has_doc(ix, dir, "big.txt"));   /* the old version stays */
    rag_index_close(ix);
    rag_buf_fini(&text);
    sh("rm -rf %s", dir);
    rag_free(big);
    rag_free(dir);
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
        cmocka_unit_test(test_indexer__text_file_cap_follows_ingest_max_text_mb),
        cmocka_unit_test(test_indexer__really_gone_files_are_removed),
        cmocka_unit_test(test_indexer__missing_root_keeps_its_documents),
        cmocka_unit_test(test_indexer__unreadable_folder_keeps_its_documents),
        cmocka_unit_test(test_indexer__path_replaced_by_folder_or_symlink_is_removed),
        cmocka_unit_test(test_indexer__file_over_its_time_budget_fails),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
