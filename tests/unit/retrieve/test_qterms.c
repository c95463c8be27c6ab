/* test_qterms.c - query analysis for the gate: compound names through
 * their parts, topic-less question words, comparison sides and question
 * parts, asked-for attributes. */
#include "test_support.h"

#include "retrieve/retrieve.h"
#include "text/analyzer.h"

#include <string.h>

static rag_analyzer *an;

static int setup(void **state)
{
    (void)state;
    return rag_analyzer_create(&an, NULL);
}

static int teardown(void **state)
{
    (void)state;
    rag_analyzer_destroy(an);
    return 0;
}

static int has(const rag_qterms *q, const char *term)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->items[i].term, term))
            return (int)i + 1;
    return 0;
}

static void test_qterms__absent_dotted_names_split(void **state)
{
    rag_qterms q;
    (void)state;
    /* the whole form occurs nowhere: its parts are the terms */
    assert_int_equal(rag_qterms_analyze(&q, an, "What values can mtvec.MODE take?", 1, NULL), 0);
    assert_true(has(&q, "mtvec"));
    assert_true(has(&q, "mode"));
    assert_false(has(&q, "mtvec.mode"));
    assert_true(q.items[has(&q, "mtvec") - 1].from_compound);
    assert_string_equal(q.split, "mtvec.MODE");
    rag_qterms_fini(&q);
    /* present as a whole: kept whole */
    assert_int_equal(rag_qterms_analyze(&q, an, "What values can mtvec.MODE take?", 0, NULL), 0);
    assert_true(has(&q, "mtvec.mode"));
    assert_false(has(&q, "mtvec"));
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "What does misa.MXL encode?", 1, NULL), 0);
    assert_true(has(&q, "misa") && has(&q, "mxl"));
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "Where is trap_vector_base set?", 1, NULL), 0);
    assert_true(has(&q, "trap") && has(&q, "base"));
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "What does MachineTimer compare?", 1, NULL), 0);
    assert_true(has(&q, "machin") && has(&q, "timer"));
    rag_qterms_fini(&q);
    /* letters and digits without a connector are a name, never split */
    assert_int_equal(rag_qterms_analyze(&q, an, "What is RV128Q?", 1, NULL), 0);
    assert_true(has(&q, "rv128q"));
    assert_int_equal(q.n, 1);
    rag_qterms_fini(&q);
}

static void test_qterms__topicless_words_carry_no_weight(void **state)
{
    rag_qterms q;
    (void)state;
    assert_int_equal(rag_qterms_analyze(&q, an, "What happened to the vector extension later, "
                                               "and describe the draft", 0, NULL), 0);
    assert_false(has(&q, "happen"));
    assert_false(has(&q, "later"));
    assert_false(has(&q, "describ"));
    assert_false(has(&q, "draft"));
    assert_true(has(&q, "vector") && has(&q, "extens"));
    assert_non_null(strstr(q.ignored, "happened"));
    rag_qterms_fini(&q);
}

static void test_qterms__comparison_sides(void **state)
{
    rag_qterms q;
    uint64_t a, b;
    (void)state;
    assert_int_equal(rag_qterms_analyze(&q, an, "What is the difference between RV32I and "
                                               "RV64E?", 0, NULL), 0);
    assert_int_equal(q.n_parts, 2);
    assert_true(q.comparison);
    assert_string_equal(q.part_text[0], "RV32I");
    assert_string_equal(q.part_text[1], "RV64E");
    a = rag_qterms_part_mask(&q, 0);
    b = rag_qterms_part_mask(&q, 1);
    assert_true(a & ((uint64_t)1 << (has(&q, "rv32i") - 1)));
    assert_false(b & ((uint64_t)1 << (has(&q, "rv32i") - 1)));
    assert_true(b & ((uint64_t)1 << (has(&q, "rv64e") - 1)));
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "How does direct mode differ from vectored "
                                               "mode?", 0, NULL), 0);
    assert_int_equal(q.n_parts, 2);
    assert_string_equal(q.part_text[1], "vectored mode");
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "Sv39 vs Sv48 page tables", 0, NULL), 0);
    assert_int_equal(q.n_parts, 2);
    assert_string_equal(q.part_text[0], "Sv39");
    rag_qterms_fini(&q);
}

static void test_qterms__multi_part_questions(void **state)
{
    rag_qterms q;
    (void)state;
    assert_int_equal(rag_qterms_analyze(&q, an, "What is mcause and how is mepc written?", 0,
                                        NULL), 0);
    assert_int_equal(q.n_parts, 2);
    assert_false(q.comparison);
    assert_string_equal(q.part_text[0], "What is mcause");
    assert_string_equal(q.part_text[1], "how is mepc written");
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "What is mcause? Which bits hold the code?",
                                        0, NULL), 0);
    assert_int_equal(q.n_parts, 2);
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "What do loads and stores do?", 0, NULL), 0);
    assert_int_equal(q.n_parts, 1);
    rag_qterms_fini(&q);
}

static void test_qterms__asked_for_attributes(void **state)
{
    rag_qterms q;
    (void)state;
    assert_int_equal(rag_qterms_analyze(&q, an, "What is the price of the Keystone enclave "
                                               "framework?", 0, NULL), 0);
    assert_true(has(&q, "price"));
    assert_true(q.items[has(&q, "price") - 1].attr);
    assert_false(q.items[has(&q, "keyston") - 1].attr);
    rag_qterms_fini(&q);
    /* attributes technical documents rarely state, wherever they are asked */
    assert_int_equal(rag_qterms_analyze(&q, an, "How much does a XuanTie C910 chip cost?", 0,
                                        NULL), 0);
    assert_true(q.items[has(&q, "cost") - 1].attr);
    assert_false(q.items[has(&q, "chip") - 1].attr);
    rag_qterms_fini(&q);
    /* "who wrote the X of Y" asks for a person, not an attribute */
    assert_int_equal(rag_qterms_analyze(&q, an, "Who wrote the dissertation Design of the "
                                               "RISC-V ISA?", 0, NULL), 0);
    for (size_t i = 0; i < q.n; i++)
        assert_false(q.items[i].attr);
    rag_qterms_fini(&q);
    /* generic attributes are answered without being named */
    assert_int_equal(rag_qterms_analyze(&q, an, "What is the purpose of the mscratch "
                                               "register?", 0, NULL), 0);
    for (size_t i = 0; i < q.n; i++)
        assert_false(q.items[i].attr);
    rag_qterms_fini(&q);
}

static void test_qterms__answer_type_from_the_question_words(void **state)
{
    static const struct {
        const char *q;
        rag_atype t;
    } cases[] = {
        {"Who wrote the dissertation Design of the RISC-V ISA and when?", RAG_ATYPE_PERSON},
        {"When was the General Principles of Software Validation guidance issued?",
         RAG_ATYPE_DATE},
        {"How many PMP entries can a RISC-V hart have?", RAG_ATYPE_NUMBER},
        {"Which privileged architecture versions came out in 2015 and 2016?",
         RAG_ATYPE_VERSION},
        {"At which event was the Introduction to the RISC-V Vector Extension presented?",
         RAG_ATYPE_EVENT},
        {"In what year was RV32E defined?", RAG_ATYPE_DATE},
        /* the first question word decides: a name is asked, not a person */
        {"Which ABI name does register x1 have and who saves it?", RAG_ATYPE_NONE},
        {"What does the WFI instruction do?", RAG_ATYPE_NONE},
    };
    rag_qterms q;
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(rag_qterms_analyze(&q, an, cases[i].q, 0, NULL), 0);
        if (q.atype != cases[i].t)
            fail_msg("%s: type %s, expected %s", cases[i].q, rag_atype_name(q.atype),
                     rag_atype_name(cases[i].t));
        rag_qterms_fini(&q);
    }
    assert_int_equal(rag_qterms_analyze(&q, an, "How many registers did the 2011 ISA v1.7 have?",
                                        0, NULL), 0);
    assert_string_equal(q.numbers, "2011, 1.7");
    rag_qterms_fini(&q);
}

static rag_gate_report gate_on(const char *question, const char *title, const char *version,
                               const char *text, const char *text2)
{
    rag_qterms q;
    rag_hit items[2];
    rag_hits hits;
    rag_gate_opts o = rag_gate_default_opts();
    rag_gate_report rep;
    double cov = 0;
    memset(items, 0, sizeof items);
    memset(&hits, 0, sizeof hits);
    for (int i = 0; i < 2; i++) {
        items[i].row.title = (char *)title;
        items[i].row.section = (char *)"";
        items[i].row.version = (char *)version;
        items[i].row.text = (char *)(i ? text2 : text);
    }
    hits.items = items;
    hits.n = text2 ? 2 : 1;
    assert_int_equal(rag_qterms_analyze(&q, an, question, 0, NULL), 0);
    assert_true(rag_gate_check(&q, an, &hits, &o, &cov, &rep, NULL) >= 0);
    rag_qterms_fini(&q);
    return rep;
}

static void test_qterms__named_version_must_exist(void **state)
{
    rag_qterms q;
    rag_gate_report rep;
    (void)state;
    assert_int_equal(rag_qterms_analyze(&q, an, "What is new in vector extension version 3.0?", 0,
                                        NULL), 0);
    assert_string_equal(q.version, "3.0");
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "What changed in v1.12 of the spec?", 0, NULL), 0);
    assert_string_equal(q.version, "1.12");
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "What does RV32I provide?", 0, NULL), 0);
    assert_string_equal(q.version, "");
    rag_qterms_fini(&q);

    rep = gate_on("What is new in vector extension version 3.0?", "Vector Extension", "1.0",
                  "The vector extension version 1.0 is new: it adds 3.0 times more registers.",
                  NULL);
    assert_false(rep.relevant);
    assert_non_null(strstr(rep.reason, "version 3.0"));
    /* the document is that version, or its text names it */
    rep = gate_on("What is new in vector extension version 3.0?", "Vector Extension 3.0", "3.0",
                  "The vector extension is new.", NULL);
    assert_true(rep.relevant);
    rep = gate_on("What is new in vector extension version 3.0?", "Vector Extension", "",
                  "New in vector extension Version  3.0: segment loads.", NULL);
    assert_true(rep.relevant);
    /* 3.01 is not 3.0 */
    rep = gate_on("What is new in vector extension version 3.0?", "Vector Extension", "",
                  "New in vector extension version 3.01: segment loads.", NULL);
    assert_false(rep.relevant);
}

static void test_qterms__ordinal_beyond_the_passages_is_refused(void **state)
{
    rag_gate_report rep;
    (void)state;
    /* a reference list's "20th" is no 20th principle */
    rep = gate_on("What is the 20th guiding principle?", "Guiding Principles", "",
                  "These 10 guiding principles lay the foundation. 1. Expertise is used.",
                  "[7] Proceedings of the 20th Annual Symposium on Computer Architecture.");
    assert_false(rep.relevant);
    assert_non_null(strstr(rep.reason, "20th"));
    rep = gate_on("What is the 20th guiding principle?", "Guiding Principles", "",
                  "The 20th guiding principle: models are monitored.", NULL);
    assert_true(rep.relevant);
    /* the bare number counts too */
    rep = gate_on("What is the 8th guiding principle?", "Guiding Principles", "",
                  "Guiding principle 8 and the 8th guiding principle: testing.", NULL);
    assert_true(rep.relevant);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qterms__absent_dotted_names_split),
        cmocka_unit_test(test_qterms__topicless_words_carry_no_weight),
        cmocka_unit_test(test_qterms__comparison_sides),
        cmocka_unit_test(test_qterms__multi_part_questions),
        cmocka_unit_test(test_qterms__asked_for_attributes),
        cmocka_unit_test(test_qterms__answer_type_from_the_question_words),
        cmocka_unit_test(test_qterms__named_version_must_exist),
        cmocka_unit_test(test_qterms__ordinal_beyond_the_passages_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
