/* test_walk.c - recursive folder walk: kinds, hidden entries, symlink loops. */
#include "test_support.h"

#include "ingest/ingest.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char seen[32][256];
    int n_seen;
    char errors[16][256];
    int n_errors;
    int stop_after;         /* fn returns an error after this many files */
} walk_log;

static int on_file(void *ctx, const char *path)
{
    walk_log *w = ctx;
    const char *base = strrchr(path, '/');
    assert_true(w->n_seen < 32);
    snprintf(w->seen[w->n_seen++], 256, "%s", base ? base + 1 : path);
    if (w->stop_after && w->n_seen >= w->stop_after)
        return RAG_EINVAL;
    return RAG_OK;
}

static void on_err(void *ctx, const char *path, const rag_err *err)
{
    walk_log *w = ctx;
    assert_non_null(strstr(err->msg, path));
    if (w->n_errors < 16)
        snprintf(w->errors[w->n_errors++], 256, "%s", err->msg);
}

static int seen(const walk_log *w, const char *name)
{
    int n = 0;
    for (int i = 0; i < w->n_seen; i++)
        n += strcmp(w->seen[i], name) == 0;
    return n;
}

static int error_with(const walk_log *w, const char *a, const char *b)
{
    for (int i = 0; i < w->n_errors; i++)
        if (strstr(w->errors[i], a) && strstr(w->errors[i], b))
            return 1;
    return 0;
}

static void put(const char *dir, const char *rel, const void *data, size_t n)
{
    char *p = rag_asprintf("%s/%s", dir, rel);
    ts_write_file(p, data, n);
    rag_free(p);
}

static void mk(const char *dir, const char *rel)
{
    char *p = rag_asprintf("%s/%s", dir, rel);
    assert_int_equal(mkdir(p, 0755), 0);
    rag_free(p);
}

static void link_to(const char *dir, const char *rel, const char *target)
{
    char *p = rag_asprintf("%s/%s", dir, rel);
    assert_int_equal(symlink(target, p), 0);
    rag_free(p);
}

static void test_walk__visits_documents_and_survives_symlink_loops(void **state)
{
    char *dir = ts_tmpdir("walk");
    const char *paths[1];
    walk_log w;

    (void)state;
    memset(&w, 0, sizeof w);
    mk(dir, "sub");
    mk(dir, "sub/deeper");
    mk(dir, ".hidden");
    put(dir, "a.md", "# A\n", 4);
    put(dir, "sub/b.txt", "b", 1);
    put(dir, "sub/deeper/c.html", "<p>c</p>", 8);
    put(dir, "sub/deeper/d.PDF", "%PDF-1.4\n", 9);
    put(dir, "sub/renamed.bin", "%PDF-1.4\n", 9);  /* PDF by magic bytes */
    put(dir, ".hidden/e.md", "# E\n", 4);
    put(dir, ".f.md", "# F\n", 4);
    put(dir, "g.c", "int g;", 6);
    put(dir, "image.md", "\x89PNG\r\n\x1a\n\0\0", 10);
    link_to(dir, "sub/deeper/loop", "../..");      /* back to the root */
    link_to(dir, "sub/self", "self");              /* ELOOP */
    link_to(dir, "dangling.md", "nowhere.md");
    paths[0] = dir;
    assert_int_equal(rag_walk(paths, 1, on_file, on_err, &w), RAG_OK);
    assert_int_equal(seen(&w, "a.md"), 1);
    assert_int_equal(seen(&w, "b.txt"), 1);
    assert_int_equal(seen(&w, "c.html"), 1);
    assert_int_equal(seen(&w, "d.PDF"), 1);
    assert_int_equal(seen(&w, "renamed.bin"), 1);
    assert_int_equal(seen(&w, "e.md"), 0);
    assert_int_equal(seen(&w, ".f.md"), 0);
    assert_int_equal(seen(&w, "g.c"), 0);
    assert_int_equal(seen(&w, "image.md"), 0);
    assert_int_equal(w.n_seen, 5);
    assert_true(error_with(&w, "loop", "symlink loop"));
    assert_true(error_with(&w, "self", "symlink"));
    assert_true(error_with(&w, "dangling.md", "symlink"));
    assert_true(error_with(&w, "image.md", "binary"));
    rag_free(dir);
}

static void test_walk__callback_error_stops_the_walk(void **state)
{
    char *dir = ts_tmpdir("walkstop");
    const char *paths[2];
    walk_log w;

    (void)state;
    memset(&w, 0, sizeof w);
    w.stop_after = 2;
    put(dir, "1.md", "x", 1);
    put(dir, "2.md", "x", 1);
    put(dir, "3.md", "x", 1);
    paths[0] = dir;
    paths[1] = dir;
    assert_int_equal(rag_walk(paths, 2, on_file, on_err, &w), RAG_EINVAL);
    assert_int_equal(w.n_seen, 2);
    /* Sorted order: 1.md then 2.md. */
    assert_string_equal(w.seen[0], "1.md");
    assert_string_equal(w.seen[1], "2.md");
    rag_free(dir);
}

static void test_walk__explicit_file_and_missing_path(void **state)
{
    char *dir = ts_tmpdir("walkfile");
    char *file = rag_asprintf("%s/.notes.txt", dir);
    char *missing = rag_asprintf("%s/none", dir);
    const char *paths[2];
    walk_log w;

    (void)state;
    memset(&w, 0, sizeof w);
    ts_write_file(file, "hello", 5);
    paths[0] = file;      /* hidden, but named explicitly */
    paths[1] = missing;
    assert_int_equal(rag_walk(paths, 2, on_file, on_err, &w), RAG_OK);
    assert_int_equal(seen(&w, ".notes.txt"), 1);
    assert_true(error_with(&w, "none", "No such file"));
    rag_free(file);
    rag_free(missing);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk__visits_documents_and_survives_symlink_loops),
        cmocka_unit_test(test_walk__callback_error_stops_the_walk),
        cmocka_unit_test(test_walk__explicit_file_and_missing_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
