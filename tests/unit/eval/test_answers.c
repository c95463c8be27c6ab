/* test_answers.c - the answer-quality eval's pieces: the answers file
 * loader and its errors, nugget matching (literal and regex), the split of
 * an answer into quoted sentences, the junk classifier on real examples,
 * near-duplicates, the AUC against the Python reference's golden output
 * (tests/data/answers/auc_ref.py), and the nugget checker over
 * data/samples. */
#include "test_support.h"

#include "eval/eval.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static char *write_file(const char *tag, const char *text)
{
    char *dir = ts_tmpdir(tag);
    char *path = rag_asprintf("%s/answers.jsonl", dir);
    ts_write_file(path, text, strlen(text));
    rag_free(dir);
    return path;
}

static const char good[] =
    "# comment\n"
    "{\"id\":\"nop\",\"kind\":\"definition\",\"question\":\"How is NOP encoded?\","
    "\"sources\":[{\"doc\":\"riscv-base-instructions.pdf\",\"pages\":[38]}],"
    "\"nuggets\":[\"ADDI x0,   x0, 0\",\"re:no-?op(eration)?\"]}\n"
    "\n"
    "{\"id\":\"off\",\"kind\":\"off-topic\",\"question\":\"Weather?\",\"answerable\":false}\n";

/* ---- loading ----------------------------------------------------------------- */

static void test_answers__load_reads_items(void **state)
{
    char *path = write_file("ans_load", good);
    rag_ans_set set;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_ans_load(&set, path, &err), RAG_OK);
    assert_int_equal(set.n, 2);
    assert_string_equal(set.items[0].id, "nop");
    assert_int_equal(set.items[0].line, 2);
    assert_true(set.items[0].answerable);
    assert_int_equal(set.items[0].n_sources, 1);
    assert_int_equal(set.items[0].sources[0].pages[0], 38);
    assert_int_equal(set.items[0].n_nuggets, 2);
    assert_false(set.items[0].nuggets[0].is_regex);
    assert_true(set.items[0].nuggets[1].is_regex);
    assert_false(set.items[1].answerable);
    assert_int_equal(set.items[1].line, 4);
    assert_string_equal(set.items[1].kind, "off-topic");
    rag_ans_set_fini(&set);
    rag_free(path);
}

static void expect_error(const char *text, int code, const char *needle)
{
    char *path = write_file("ans_bad", text);
    rag_ans_set set;
    rag_err err = {0};
    assert_int_equal(rag_ans_load(&set, path, &err), code);
    if (!strstr(err.msg, needle) || !strstr(err.msg, path))
        fail_msg("message \"%s\" lacks \"%s\" or the path", err.msg, needle);
    rag_ans_set_fini(&set);
    rag_free(path);
}

#define SRC "\"sources\":[{\"doc\":\"a.pdf\",\"pages\":[1]}]"

static void test_answers__load_errors_name_file_line_and_key(void **state)
{
    (void)state;
    expect_error("{\"id\":\"a\",\"kind\":\"opinion\",\"question\":\"q\"}\n", RAG_EFORMAT,
                 ":1: a: unknown kind \"opinion\"");
    expect_error("{\"id\":\"a\",\"kind\":\"value\",\"question\":\"q\",\"nuggets\":[\"x\"]}\n",
                 RAG_EFORMAT, ":1: a: \"sources\" needs 1 to");
    expect_error("{\"id\":\"a\",\"kind\":\"value\",\"question\":\"q\"," SRC "}\n",
                 RAG_EFORMAT, ":1: a: \"nuggets\" needs 1 to");
    expect_error("{\"id\":\"a\",\"kind\":\"value\",\"question\":\"q\"," SRC
                 ",\"nuggets\":[\"re:(unclosed\"]}\n",
                 RAG_EFORMAT, ":1: a: nuggets[0] \"re:(unclosed\"");
    expect_error("{\"id\":\"a\",\"kind\":\"value\",\"question\":\"q\"," SRC
                 ",\"nuggets\":[\"ok\",\"   \"]}\n",
                 RAG_EFORMAT, "nuggets[1] is blank");
    expect_error("{\"id\":\"a\",\"kind\":\"value\",\"question\":\"q\","
                 "\"sources\":[{\"doc\":\"a.pdf\",\"pages\":[0]}],\"nuggets\":[\"x\"]}\n",
                 RAG_EFORMAT, "sources[0].pages[0] must be an integer >= 1");
    expect_error("{\"id\":\"a\",\"kind\":\"near-miss\",\"question\":\"q\"}\n", RAG_EFORMAT,
                 "kind \"near-miss\" is for questions that must be refused");
    expect_error("{\"id\":\"a\",\"kind\":\"value\",\"question\":\"q\",\"answerable\":false}\n",
                 RAG_EFORMAT, "kind \"value\" is for answerable questions");
    expect_error("{\"id\":\"a\",\"kind\":\"off-topic\",\"question\":\"q\",\"answerable\":false,"
                 "\"nuggets\":[\"x\"]}\n",
                 RAG_EFORMAT, "must be refused has no \"nuggets\"");
    expect_error("{\"id\":\"a\",\"kind\":\"off-topic\",\"question\":\"q\",\"answerable\":false}\n"
                 "{\"id\":\"a\",\"kind\":\"off-topic\",\"question\":\"r\",\"answerable\":false}\n",
                 RAG_EFORMAT, ":2: duplicate id \"a\" (first on line 1)");
    expect_error("{\"id\": \"a\",\n", RAG_EFORMAT, ":1:");
    expect_error("# nothing\n", RAG_EFORMAT, "no questions");
}

static void test_answers__load_missing_file_is_not_found(void **state)
{
    rag_ans_set set;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_ans_load(&set, "/nonexistent/answers.jsonl", &err), RAG_ENOTFOUND);
    assert_non_null(strstr(err.msg, "/nonexistent/answers.jsonl"));
    rag_ans_set_fini(&set);
}

static void test_answers__load_survives_every_allocation_failure(void **state)
{
    char *path = write_file("ans_oom", good);
    (void)state;
    for (long n = 0;; n++) {
        rag_ans_set set;
        rag_err err = {0};
        int rc;
        ts_fail_alloc_after(n);
        rc = rag_ans_load(&set, path, &err);
        ts_fail_alloc_after(-1);
        rag_ans_set_fini(&set);
        if (rc == RAG_OK)
            break;
        assert_int_equal(rc, RAG_ENOMEM);
        assert_true(n < 1000);
    }
    rag_free(path);
}

/* ---- matching ------------------------------------------------------------------ */

static int matches(const rag_ans_set *set, size_t item, size_t nugget, const char *text)
{
    char *flat = rag_ans_squash(text, strlen(text), 1);
    int m;
    assert_non_null(flat);
    m = rag_ans_nugget_match(&set->items[item].nuggets[nugget], flat);
    rag_free(flat);
    return m;
}

static void test_answers__nuggets_match_literals_and_regexes(void **state)
{
    char *path = write_file("ans_match", good);
    rag_ans_set set;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_ans_load(&set, path, &err), RAG_OK);
    /* literal: case and whitespace runs ignored, citations removed */
    assert_true(matches(&set, 0, 0, "The NOP is encoded as addi  x0,\nx0, 0 [1]."));
    assert_true(matches(&set, 0, 0, "encoded as ADDI x0, [2] x0, 0"));
    assert_false(matches(&set, 0, 0, "encoded as ADDI x0, x1, 0"));
    assert_false(matches(&set, 0, 0, "ADDI x0,x0,0"));   /* spaces are not removed */
    /* regex: case-insensitive POSIX ERE */
    assert_true(matches(&set, 0, 1, "a NOOP"));
    assert_true(matches(&set, 0, 1, "No-Operation"));
    assert_false(matches(&set, 0, 1, "an operation"));
    rag_ans_set_fini(&set);
    rag_free(path);
}

/* ---- sentences ------------------------------------------------------------------ */

static void test_answers__split_follows_citations(void **state)
{
    rag_ans_sentences s;
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_ans_split(&s,
                                   "The mtvec register holds the trap vector. [1] It has a "
                                   "MODE field, e.g. Direct. [1][2] Vectored mode adds 4x "
                                   "cause. [3]",
                                   &err),
                     RAG_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.items[0], "The mtvec register holds the trap vector.");
    assert_string_equal(s.items[1], "It has a MODE field, e.g. Direct.");
    assert_string_equal(s.items[2], "Vectored mode adds 4x cause.");
    rag_ans_sentences_fini(&s);
    /* no citations (an LLM answer that cites nothing): punctuation splits,
     * but not inside a number */
    assert_int_equal(rag_ans_split(&s, "Version 2.1 adds RVC. It is 16-bit!  Done", &err),
                     RAG_OK);
    assert_int_equal(s.n, 3);
    assert_string_equal(s.items[0], "Version 2.1 adds RVC.");
    assert_string_equal(s.items[1], "It is 16-bit!");
    assert_string_equal(s.items[2], "Done");
    rag_ans_sentences_fini(&s);
    assert_int_equal(rag_ans_split(&s, "  [1] ", &err), RAG_OK);
    assert_int_equal(s.n, 0);
    rag_ans_sentences_fini(&s);
}

/* ---- junk ----------------------------------------------------------------------- */

static void test_answers__junk_classifier_on_examples(void **state)
{
    static const struct {
        const char *text;
        rag_junk_kind want;
    } cases[] = {
        /* prose, quoted as it should be */
        {"The mtvec register must always be implemented, but can contain a read-only "
         "value.", RAG_JUNK_NONE},
        {"Figure 6 presents the area breakdown, measured in kilo gate equivalents (kGE), "
         "for each core.", RAG_JUNK_NONE},
        {"When MODE=Vectored, all synchronous exceptions into machine mode cause the pc "
         "to be set to the address in the BASE field.", RAG_JUNK_NONE},
        {"Software validation is a requirement of the Quality System regulation.",
         RAG_JUNK_NONE},
        {"See https://example.org/spec for the complete list of extensions ratified so "
         "far by the working groups of the foundation.", RAG_JUNK_NONE},
        /* headings and table-of-contents lines */
        {"3.1.8 Machine Trap Delegation Registers (medeleg and mideleg)", RAG_JUNK_HEADING},
        {"Deployed Models Are Monitored for Performance and Re-training Risks Are Managed",
         RAG_JUNK_HEADING},
        {"1.7 UNSPECIFIED Behaviors and Values . . . . . . . . . . . .", RAG_JUNK_HEADING},
        {"Chapter 3 Machine-Level ISA", RAG_JUNK_HEADING},
        /* captions */
        {"Figure 3.5: Hart ID register (mhartid).", RAG_JUNK_CAPTION},
        {"Table 2.1 RISC-V base opcode map", RAG_JUNK_CAPTION},
        {"Fig. 4. Demonstration of RISC-V physical memory protection.", RAG_JUNK_CAPTION},
        /* table rows */
        {"Division by zero x 0 2L − 1 x −1 x", RAG_JUNK_TABLE},
        {"20 5 7 U-immediate[31:12] dest LUI U-immediate[31:12] dest AUIPC", RAG_JUNK_TABLE},
        {"x0 zero Zero constant — x1 ra Return address Caller x2 sp Stack pointer Callee",
         RAG_JUNK_TABLE},
        /* URLs */
        {"http://www.eecs.berkeley.edu/Pubs/TechRpts/2011/EECS-2011-62.html", RAG_JUNK_URL},
        {"Technical Report No. UCB/EECS-2014-54 "
         "http://www.eecs.berkeley.edu/Pubs/TechRpts/2014/EECS-2014-54.html", RAG_JUNK_URL},
        /* references */
        {"D. Lee, D. Kohlbrenner, S. Shinde, K. Asanović, and D. Song, \"Keystone: An open "
         "framework for architecting trusted execution environments,\" in Proceedings of "
         "the Fifteenth European Conference on Computer Systems, 2020.", RAG_JUNK_REFERENCE},
        {"M. Perotti, M. Cavalcante, N. Wistoff et al., A new ara for vector computing, "
         "arXiv preprint (2022).", RAG_JUNK_REFERENCE},
        /* fragments */
        {"and Keystone", RAG_JUNK_FRAGMENT},
        {"INDEPENDENCE OF REVIEW", RAG_JUNK_FRAGMENT},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        rag_junk_kind got = rag_ans_junk_classify(cases[i].text);
        if (got != cases[i].want)
            fail_msg("\"%s\": %s, expected %s", cases[i].text, rag_ans_junk_name(got),
                     rag_ans_junk_name(cases[i].want));
    }
}

static void test_answers__near_duplicates(void **state)
{
    (void)state;
    /* the same sentence from two versions of a manual */
    assert_true(rag_ans_near_duplicate(
        "The mtvec register must always be implemented, but can contain a read-only value.",
        "The mtvec register must always be implemented, but can contain a hardwired "
        "read-only value."));
    /* one inside the other */
    assert_true(rag_ans_near_duplicate(
        "By default, all traps into machine mode cause the pc to be set to the value in "
        "mtvec.",
        "Traps: by default, all traps into machine mode cause the pc to be set to the "
        "value in mtvec, which holds the base address and mode of the vector table."));
    assert_false(rag_ans_near_duplicate(
        "The mtvec register must always be implemented.",
        "If mtvec is writable, the set of values the register may hold can vary by "
        "implementation."));
    assert_false(rag_ans_near_duplicate("", "anything at all"));
}

/* ---- AUC against the Python reference ---------------------------------------------- */

static json_t *load_json(const char *rel)
{
    char *path = ts_src_path(rel);
    json_error_t je;
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        fail_msg("%s: %s", path, je.text);
    rag_free(path);
    return o;
}

static void test_answers__auc_matches_the_python_reference(void **state)
{
    json_t *cases = load_json("tests/data/answers/auc_cases.json");
    json_t *golden = load_json("tests/data/answers/auc_golden.json");
    size_t i;
    json_t *c;
    (void)state;
    assert_int_equal(json_array_size(cases), json_array_size(golden));
    assert_true(json_array_size(cases) >= 8);
    json_array_foreach(cases, i, c) {
        json_t *sc = json_object_get(c, "scores"), *lb = json_object_get(c, "labels");
        json_t *g = json_array_get(golden, i);
        size_t n = json_array_size(sc);
        double *score = rag_calloc(n ? n : 1, sizeof *score), got;
        int *label = rag_calloc(n ? n : 1, sizeof *label);
        assert_string_equal(json_string_value(json_object_get(c, "name")),
                            json_string_value(json_object_get(g, "name")));
        for (size_t k = 0; k < n; k++) {
            score[k] = json_number_value(json_array_get(sc, k));
            label[k] = (int)json_integer_value(json_array_get(lb, k));
        }
        got = rag_ans_auc(score, label, n);
        if (json_is_null(json_object_get(g, "auc")))
            assert_float_equal(got, -1.0, 0);
        else if (fabs(got - json_number_value(json_object_get(g, "auc"))) > 1e-12)
            fail_msg("%s: AUC %.15f, reference %.15f",
                     json_string_value(json_object_get(c, "name")), got,
                     json_number_value(json_object_get(g, "auc")));
        rag_free(score);
        rag_free(label);
    }
    json_decref(cases);
    json_decref(golden);
}

/* ---- the nugget check over data/samples --------------------------------------------- */

static void log_problem(void *ctx, const rag_ans_item *q, const char *msg)
{
    char *log = ctx;
    strncat(log, q->id, 2047 - strlen(log));
    strncat(log, ": ", 2047 - strlen(log));
    strncat(log, msg, 2047 - strlen(log));
    strncat(log, "\n", 2047 - strlen(log));
}

static const char samples[] =
    "{\"id\":\"nop\",\"kind\":\"definition\",\"question\":\"How is NOP encoded?\","
    "\"sources\":[{\"doc\":\"riscv-base-instructions.pdf\",\"pages\":[38]}],"
    "\"nuggets\":[\"ADDI x0, x0, 0\",\"re:NOP +is +encoded\"]}\n"
    "{\"id\":\"gmlp\",\"kind\":\"value\",\"question\":\"Docket?\","
    "\"sources\":[{\"doc\":\"GMLP_Guiding_Principles.pdf\",\"pages\":[1,2]}],"
    "\"nuggets\":[\"FDA-2019-N-1185\",\"Training Data Sets Are Independent\","
    "\"re:docket number 9{5}\"]}\n"
    "{\"id\":\"far\",\"kind\":\"value\",\"question\":\"Page?\","
    "\"sources\":[{\"doc\":\"riscv-card.pdf\",\"pages\":[99]}],\"nuggets\":[\"x\"]}\n"
    "{\"id\":\"gone\",\"kind\":\"list\",\"question\":\"q\","
    "\"sources\":[{\"doc\":\"missing.pdf\",\"pages\":[1]}],\"nuggets\":[\"x\"]}\n"
    "{\"id\":\"off\",\"kind\":\"off-topic\",\"question\":\"q\",\"answerable\":false}\n";

static void test_answers__check_names_question_and_nugget(void **state)
{
    char *path = write_file("ans_check", samples);
    char *docs = ts_src_path("data/samples");
    rag_extract_opts xo = rag_extract_default_opts();
    rag_ans_set set;
    rag_err err = {0};
    char log[2048] = "";
    size_t n_bad = 99, n_checked = 0;
    (void)state;
    assert_int_equal(rag_ans_load(&set, path, &err), RAG_OK);
    assert_int_equal(rag_ans_check(&set, docs, &xo, log_problem, log, &n_bad, &n_checked,
                                   &err), RAG_OK);
    /* gmlp's third nugget is on neither page; card has no page 99; missing.pdf */
    assert_int_equal(n_bad, 3);
    assert_int_equal(n_checked, 5);   /* nop 2 + gmlp 3 */
    assert_non_null(strstr(log, "gmlp: nugget \"re:docket number 9{5}\" is on none of its "
                                "expected pages"));
    assert_non_null(strstr(log, "far: riscv-card.pdf has"));
    assert_non_null(strstr(log, "no page 99"));
    assert_non_null(strstr(log, "gone: missing.pdf"));
    assert_null(strstr(log, "nop:"));
    rag_ans_set_fini(&set);
    rag_free(docs);
    rag_free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answers__load_reads_items),
        cmocka_unit_test(test_answers__load_errors_name_file_line_and_key),
        cmocka_unit_test(test_answers__load_missing_file_is_not_found),
        cmocka_unit_test(test_answers__load_survives_every_allocation_failure),
        cmocka_unit_test(test_answers__nuggets_match_literals_and_regexes),
        cmocka_unit_test(test_answers__split_follows_citations),
        cmocka_unit_test(test_answers__junk_classifier_on_examples),
        cmocka_unit_test(test_answers__near_duplicates),
        cmocka_unit_test(test_answers__auc_matches_the_python_reference),
        cmocka_unit_test(test_answers__check_names_question_and_nugget),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
