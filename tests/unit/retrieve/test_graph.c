/* test_graph.c - the chunk graph: which chunks link (technical terms,
 * defined entities, df bounds), rebuilds after re-indexing, loading, and
 * personalised PageRank against a numpy reference
 * (tests/data/graph/ppr_ref.py -> ppr_golden.txt). */
#include "test_support.h"

#include "retrieve/graph.h"
#include "index/store_sqlite.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put(rag_index *ix, const char *path, int64_t id, const char *section,
                const char *text)
{
    rag_chunk c = {id, 0, 1, 1, section, 0, strlen(text), text, strlen(text), 10};
    ts_put_doc(ix, path, &c, 1, 1);
}

static const struct {
    int64_t id;
    const char *section, *text;
} corpus[] = {
    {1, "", "The mcause register records the cause of the trap. The processor writes it."},
    {2, "", "When a trap is taken, mcause holds the exception code and the processor continues."},
    {3, "", "RV32I is the base integer instruction set. The processor decodes it."},
    {4, "", "Compressed instructions extend RV32I with shorter encodings for the processor."},
    {5, "", "The processor fetches the next instruction from memory."},
    {6, "", "The processor writes results to memory after the instruction."},
    {7, "", "The Control and Status Register (CSR) space holds machine state."},
    {8, "", "Software reads each control and status register with a dedicated instruction."},
    {9, "", "Privileged code uses a CSR to configure the machine."},
    {10, "", "Portable builds target x86_64 hosts."},
    {11, "", "Toolchains for x86_64 emit long mode code."},
    {12, "", "Emulators on x86_64 translate guest programs."},
    {13, "", "A hart is a hardware thread that fetches instructions."},
    {14, "", "Each hart keeps its own program counter."},
    {15, "Chapter 3 > Interrupt Delegation", "Traps may be handed down to lower levels."},
    {16, "Chapter 3 > Interrupt Delegation", "Delegated traps skip the higher level handler."},
};
#define N_CORPUS (sizeof corpus / sizeof corpus[0])

static rag_index *corpus_index(void)
{
    rag_index *ix;
    rag_err err = {0};
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    for (size_t i = 0; i < N_CORPUS; i++) {
        char path[32];
        snprintf(path, sizeof path, "/doc%lld", (long long)corpus[i].id);
        put(ix, path, corpus[i].id, corpus[i].section, corpus[i].text);
    }
    return ix;
}

/* Weight of the stored edge a-b, 0 if none. */
static double edge_w(rag_index *ix, int64_t a, int64_t b)
{
    sqlite3_stmt *st;
    double w = 0;
    assert_int_equal(sqlite3_prepare_v2(rag_index_db(ix),
                     "SELECT w FROM graph_edges WHERE src = ?1 AND dst = ?2", -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, a < b ? a : b);
    sqlite3_bind_int64(st, 2, a < b ? b : a);
    if (sqlite3_step(st) == SQLITE_ROW)
        w = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return w;
}

static void build(rag_index *ix, int max_df, rag_graph_report *rep)
{
    rag_graph_opts o = rag_graph_default_opts();
    rag_err err = {0};
    o.max_df = max_df;
    if (rag_graph_build(ix, &o, rep, &err) != RAG_OK)
        fail_msg("build: %s", err.msg);
}

static void test_graph__technical_terms_link_and_common_words_do_not(void **state)
{
    rag_index *ix = corpus_index();
    rag_graph_report rep;
    (void)state;
    build(ix, 8, &rep);
    assert_int_equal(rep.skipped, 0);
    assert_int_equal(rep.n_nodes, (int64_t)N_CORPUS);
    assert_true(edge_w(ix, 1, 2) > 0);      /* mcause */
    assert_true(edge_w(ix, 3, 4) > 0);      /* RV32I */
    assert_true(edge_w(ix, 10, 11) > 0);    /* x86_64 */
    /* processor, instruction, memory, writes: common words only */
    assert_true(edge_w(ix, 5, 6) == 0);
    assert_true(edge_w(ix, 1, 5) == 0);
    assert_true(edge_w(ix, 3, 5) == 0);
    assert_true(edge_w(ix, 1, 3) == 0);
    rag_index_close(ix);
}

static void test_graph__defined_entities_link(void **state)
{
    rag_index *ix = corpus_index();
    rag_graph_report rep;
    (void)state;
    build(ix, 8, &rep);
    assert_true(rep.n_defined >= 3);
    assert_true(edge_w(ix, 7, 9) > 0);      /* CSR, defined in 7 */
    assert_true(edge_w(ix, 7, 8) > 0);      /* its expansion, spelt out in 8 */
    assert_true(edge_w(ix, 13, 14) > 0);    /* "A hart is a ..." makes hart a term */
    assert_true(edge_w(ix, 15, 16) > 0);    /* the same heading */
    /* weight = sum of idf = ln(1 + (N - df + 0.5) / (df + 0.5)), doubled for a
     * term one side defines: mcause (df 2) vs CSR (df 3: 7, 8 by its
     * expansion, 9; defined in 7) */
    assert_true(fabs(edge_w(ix, 1, 2) - log(1 + 14.5 / 2.5)) < 1e-12);
    assert_true(fabs(edge_w(ix, 7, 9) - 2 * log(1 + 13.5 / 3.5)) < 1e-12);
    rag_index_close(ix);
}

static void test_graph__max_df_is_respected(void **state)
{
    rag_index *ix = corpus_index();
    rag_graph_report rep;
    rag_err err = {0};
    rag_graph_opts o = rag_graph_default_opts();
    (void)state;
    build(ix, 2, &rep);                     /* x86_64 is in 3 chunks */
    assert_true(edge_w(ix, 10, 11) == 0 && edge_w(ix, 11, 12) == 0 && edge_w(ix, 10, 12) == 0);
    assert_true(edge_w(ix, 1, 2) > 0);      /* df 2 still links */
    build(ix, 3, &rep);                     /* new options: not skipped */
    assert_int_equal(rep.skipped, 0);
    assert_true(edge_w(ix, 10, 11) > 0 && edge_w(ix, 11, 12) > 0 && edge_w(ix, 10, 12) > 0);
    o.max_df = 1;
    assert_int_equal(rag_graph_build(ix, &o, NULL, &err), RAG_EINVAL);
    assert_non_null(strstr(err.msg, "max_df"));
    rag_index_close(ix);
}

static void test_graph__degree_cap_keeps_the_best_neighbours(void **state)
{
    rag_index *ix;
    rag_graph_report rep;
    rag_graph_opts o = rag_graph_default_opts();
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, &err), RAG_OK);
    /* 1 shares two terms with 2, one with 3 and 4 */
    put(ix, "/a", 1, "", "RV32I and RV64I and RV128I.");
    put(ix, "/b", 2, "", "RV32I and RV64I.");
    put(ix, "/c", 3, "", "RV128I only.");
    put(ix, "/d", 4, "", "RV128I again.");
    o.max_degree = 1;
    o.max_df = 8;
    assert_int_equal(rag_graph_build(ix, &o, &rep, &err), RAG_OK);
    /* 1 keeps 2 (two terms); 3 and 4 tie between 1 and each other and keep
     * the lower chunk id, 1; the graph is the union: 1-2, 1-3, 1-4 */
    assert_int_equal(rep.n_edges, 3);
    assert_true(edge_w(ix, 1, 2) > 0);
    assert_true(edge_w(ix, 1, 3) > 0);
    assert_true(edge_w(ix, 1, 4) > 0);
    assert_true(edge_w(ix, 3, 4) == 0);
    rag_index_close(ix);
}

static void test_graph__reindexing_rebuilds(void **state)
{
    rag_index *ix = corpus_index();
    rag_graph_report rep;
    rag_graph *g = NULL;
    rag_err err = {0};
    (void)state;
    build(ix, 8, &rep);
    assert_int_equal(rep.skipped, 0);
    build(ix, 8, &rep);                     /* nothing changed */
    assert_int_equal(rep.skipped, 1);
    assert_true(edge_w(ix, 1, 2) > 0);
    /* the document of chunk 2 changes: no more mcause, now about RV32I */
    put(ix, "/doc2", 102, "", "When a trap is taken, RV32I cores jump to the handler.");
    /* until rebuilt, the stored graph names a chunk that is gone */
    assert_int_equal(rag_graph_load(&g, ix, &err), RAG_EFORMAT);
    assert_non_null(strstr(err.msg, "stale"));
    build(ix, 8, &rep);
    assert_int_equal(rep.skipped, 0);
    assert_true(edge_w(ix, 1, 2) == 0);
    assert_true(edge_w(ix, 1, 102) == 0);
    assert_true(edge_w(ix, 102, 3) > 0);
    assert_true(edge_w(ix, 102, 4) > 0);
    assert_int_equal(rag_graph_load(&g, ix, &err), RAG_OK);
    assert_non_null(g);
    rag_graph_destroy(g);
    rag_index_close(ix);
}

static void test_graph__index_without_graph_loads_as_null(void **state)
{
    rag_index *ix = corpus_index();
    rag_graph *g = (rag_graph *)1;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_graph_load(&g, ix, &err), RAG_OK);
    assert_null(g);
    rag_index_close(ix);
}

static void test_graph__ppr_from_the_index_follows_links(void **state)
{
    rag_index *ix = corpus_index();
    rag_graph *g = NULL;
    rag_err err = {0};
    int64_t seeds[1] = {1}, ids[4] = {1, 2, 5, 424242};
    double sw[1] = {1}, out[4];
    (void)state;
    build(ix, 8, NULL);
    assert_int_equal(rag_graph_load(&g, ix, &err), RAG_OK);
    assert_non_null(g);
    assert_true(rag_graph_n_nodes(g) >= 10);
    assert_int_equal(rag_graph_ppr(g, seeds, sw, 1, ids, 4, out, &err), RAG_OK);
    assert_true(out[0] > out[1] && out[1] > 0);
    assert_true(out[2] == 0);               /* not linked */
    assert_true(out[3] == 0);               /* unknown id */
    rag_graph_destroy(g);
    rag_index_close(ix);
}

/* ---- PPR against numpy ---------------------------------------------------- */

static void test_graph__ppr_equals_numpy_reference(void **state)
{
    char *path = ts_src_path("tests/data/graph/ppr_golden.txt");
    FILE *f = fopen(path, "r");
    char line[256], name[64] = "";
    int64_t src[64], dst[64], seeds[16], ids[32];
    double w[64], sw[16], want[32], got[32], alpha = 0;
    size_t n_e = 0, n_s = 0, n_ids = 0;
    int n_cases = 0;
    rag_graph *g = NULL;
    rag_err err = {0};
    (void)state;
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        long long a, b;
        double x;
        if (sscanf(line, "alpha %lf", &x) == 1) {
            alpha = x;
        } else if (sscanf(line, "edge %lld %lld %lf", &a, &b, &x) == 3) {
            src[n_e] = a;
            dst[n_e] = b;
            w[n_e++] = x;
        } else if (sscanf(line, "case %63s", name) == 1) {
            if (!g) {
                assert_int_equal(rag_graph_from_edges(&g, src, dst, w, n_e, &err), RAG_OK);
                assert_int_equal(rag_graph_set_ppr(g, alpha, 1e-15, &err), RAG_OK);
            }
            n_s = n_ids = 0;
        } else if (sscanf(line, "seed %lld %lf", &a, &x) == 2) {
            seeds[n_s] = a;
            sw[n_s++] = x;
        } else if (sscanf(line, "score %lld %lf", &a, &x) == 2) {
            ids[n_ids] = a;
            want[n_ids++] = x;
        } else if (!strncmp(line, "end", 3)) {
            assert_int_equal(rag_graph_ppr(g, seeds, sw, n_s, ids, n_ids, got, &err), RAG_OK);
            for (size_t i = 0; i < n_ids; i++)
                if (fabs(got[i] - want[i]) > 1e-9)
                    fail_msg("%s: chunk %lld: ppr %.15g, numpy %.15g", name,
                             (long long)ids[i], got[i], want[i]);
            n_cases++;
        }
    }
    fclose(f);
    rag_free(path);
    assert_int_equal(n_cases, 5);
    assert_int_equal(rag_graph_n_edges(g), n_e);
    rag_graph_destroy(g);
}

static void test_graph__ppr_rejects_bad_weights_and_edges(void **state)
{
    int64_t a[1] = {1}, b[1] = {2}, self[1] = {1};
    double w[1] = {1}, neg[1] = {-1}, out[1] = {7};
    rag_graph *g = NULL;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_graph_from_edges(&g, a, self, w, 1, &err), RAG_EINVAL);
    assert_int_equal(rag_graph_from_edges(&g, a, b, neg, 1, &err), RAG_EINVAL);
    assert_int_equal(rag_graph_from_edges(&g, a, b, w, 1, &err), RAG_OK);
    assert_int_equal(rag_graph_ppr(g, a, neg, 1, b, 1, out, &err), RAG_EINVAL);
    assert_int_equal(rag_graph_set_ppr(g, 1.5, 1e-6, &err), RAG_EINVAL);
    /* only unknown seeds: all zero */
    assert_int_equal(rag_graph_ppr(g, (int64_t[]){9}, w, 1, b, 1, out, &err), RAG_OK);
    assert_true(out[0] == 0);
    rag_graph_destroy(g);
}

/* ---- the rules ------------------------------------------------------------- */

static void test_graph__technical_shape_rule(void **state)
{
    static const char *const yes[] = {"RV32I", "x86_64", "RISC-V", "v1.0", "0x7FF", "mcause",
                                      "mtvec", "mepc", "satp", "csrrw", "CSR", "McCarthy",
                                      "std::vector", "mstatus", "xlen", "FreeRTOS"};
    static const char *const no[] = {"register", "processor", "instruction", "memory",
                                     "strength", "lengths", "rhythm", "psychology", "string",
                                     "through", "boundary-layer", "1990", "3.14", "2nd", "e.g",
                                     "Register", "INTRODUCTION", "column", "depth", "next",
                                     "spring", "results", "design", "knight", "hart"};
    (void)state;
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (!rag_graph_is_technical(yes[i], strlen(yes[i])))
            fail_msg("%s should be technical", yes[i]);
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (rag_graph_is_technical(no[i], strlen(no[i])))
            fail_msg("%s should not be technical", no[i]);
}

typedef struct {
    char found[8][64];
    int kind[8];
    int n;
} found_defs;

static int collect(void *ctx, const char *s, size_t n, int acronym)
{
    found_defs *f = ctx;
    if (f->n < 8 && n < 64) {
        memcpy(f->found[f->n], s, n);
        f->found[f->n][n] = '\0';
        f->kind[f->n++] = acronym;
    }
    return 0;
}

static void defs(const char *text, found_defs *f)
{
    memset(f, 0, sizeof *f);
    assert_int_equal(rag_graph_find_definitions(text, strlen(text), collect, f), 0);
}

static void test_graph__definitions_are_found(void **state)
{
    found_defs f;
    (void)state;
    defs("Each hart has a Control and Status Register (CSR) file.", &f);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.found[0], "CSR");
    assert_int_equal(f.kind[0], 1);
    assert_string_equal(f.found[1], "Control and Status Register");
    assert_int_equal(f.kind[1], 2);
    defs("Machines expose Physical Memory Protection (PMPs) units.", &f);
    assert_int_equal(f.n, 2);
    assert_string_equal(f.found[0], "PMPs");
    assert_string_equal(f.found[1], "Physical Memory Protection");
    defs("Traps happen. The mcause register is a WARL field. Then more.", &f);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.found[0], "mcause register");
    defs("intro\nXLEN: the width of an integer register.\nNote: a label, not a term", &f);
    assert_int_equal(f.n, 1);
    assert_string_equal(f.found[0], "XLEN");
    /* not definitions */
    defs("In this (very) long sentence the value (ABC) is odd, and x is large.", &f);
    assert_int_equal(f.n, 0);
    defs("The reason why the processor stops when the cache is full is a mystery.", &f);
    assert_int_equal(f.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph__technical_terms_link_and_common_words_do_not),
        cmocka_unit_test(test_graph__defined_entities_link),
        cmocka_unit_test(test_graph__max_df_is_respected),
        cmocka_unit_test(test_graph__degree_cap_keeps_the_best_neighbours),
        cmocka_unit_test(test_graph__reindexing_rebuilds),
        cmocka_unit_test(test_graph__index_without_graph_loads_as_null),
        cmocka_unit_test(test_graph__ppr_from_the_index_follows_links),
        cmocka_unit_test(test_graph__ppr_equals_numpy_reference),
        cmocka_unit_test(test_graph__ppr_rejects_bad_weights_and_edges),
        cmocka_unit_test(test_graph__technical_shape_rule),
        cmocka_unit_test(test_graph__definitions_are_found),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
