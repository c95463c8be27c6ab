/* test_answer_type.c - does a sentence hold what the question asks for
 * (a date, a number, a version), and where a title page's block of lines
 * ends. Examples are lines extracted from the corpus PDFs. */
#include "test_support.h"

#include "generate/generate.h"
#include "text/analyzer.h"

#include <string.h>

static int holds(const char *s, rag_atype t, const char *q_numbers)
{
    return rag_sentence_holds_type(s, strlen(s), t, q_numbers);
}

static void test_answer_type__dates(void **state)
{
    (void)state;
    assert_true(holds("Document issued on June 14, 2023.", RAG_ATYPE_DATE, ""));
    assert_true(holds("January 2021", RAG_ATYPE_DATE, ""));
    assert_true(holds("8th RISC-V Workshop, May, 2018", RAG_ATYPE_DATE, ""));
    assert_true(holds("Copyright (c) 2011, by the author(s).", RAG_ATYPE_DATE, ""));
    /* a modal "may", report numbers, paths and the question's own year */
    assert_false(holds("The hart may stall until an interrupt is pending.", RAG_ATYPE_DATE, ""));
    assert_false(holds("Technical Report No. UCB/EECS-2014-54", RAG_ATYPE_DATE, ""));
    assert_false(holds("http://www.eecs.berkeley.edu/Pubs/TechRpts/2016/EECS-2016-1.html",
                       RAG_ATYPE_DATE, ""));
    assert_false(holds("the 2011 base user ISA", RAG_ATYPE_DATE, "2011"));
    assert_false(holds("A page holds 4096 bytes.", RAG_ATYPE_DATE, ""));
}

static void test_answer_type__numbers(void **state)
{
    (void)state;
    assert_true(holds("Up to 64 PMP entries are supported.", RAG_ATYPE_NUMBER, ""));
    assert_true(holds("we will briefly describe a five-part Action Plan", RAG_ATYPE_NUMBER, ""));
    assert_true(holds("The ISA has 32 integer registers.", RAG_ATYPE_NUMBER, "2011"));
    /* names with digits are no numbers; nor is the question's own */
    assert_false(holds("RV32I and RV64I use x1 as the link register.", RAG_ATYPE_NUMBER, ""));
    assert_false(holds("the 2011 ISA", RAG_ATYPE_NUMBER, "2011"));
}

static void test_answer_type__versions(void **state)
{
    (void)state;
    assert_true(holds("The RISC-V Instruction Set Manual, Volume I: User-Level ISA, Version 2.1",
                      RAG_ATYPE_VERSION, ""));
    assert_false(holds("This version of the document is a draft.", RAG_ATYPE_VERSION, ""));
    assert_false(holds("Privileged Architecture Version 1.7", RAG_ATYPE_VERSION, "1.7"));
    /* other types have no test of their own */
    assert_false(holds("Andrew Waterman", RAG_ATYPE_PERSON, ""));
    assert_false(holds("Andrew Waterman", RAG_ATYPE_NONE, ""));
}

static void test_answer_type__title_block_ends_at_prose(void **state)
{
    const char *thesis = "Design of the RISC-V Instruction Set Architecture\n\n"
                         "Andrew Waterman\n\n"
                         "Electrical Engineering and Computer Sciences\n"
                         "University of California at Berkeley\n\n"
                         "January 3, 2016\n\n"
                         "Copyright \xC2\xA9 2016, by the author(s).\nAll rights reserved.\n";
    const char *fda = "Content of Premarket Submissions for\n\nDevice Software Functions\n\n"
                      "Document issued on June 14, 2023.\n\n"
                      "The draft of this document was issued on November 4, 2021.\n";
    const char *prose = "the vector unit executes one instruction per cycle and so on.\nX\n";
    (void)state;
    assert_int_equal(rag_title_block_end(thesis, strlen(thesis)),
                     strstr(thesis, "2016\n") + 4 - thesis);
    assert_int_equal(rag_title_block_end(fda, strlen(fda)), strstr(fda, "2023.") + 5 - fda);
    assert_int_equal(rag_title_block_end(prose, strlen(prose)), 0);
    assert_int_equal(rag_title_block_end("", 0), 0);
    assert_true(rag_atype_on_title_page(RAG_ATYPE_PERSON));
    assert_true(rag_atype_on_title_page(RAG_ATYPE_DATE));
    assert_false(rag_atype_on_title_page(RAG_ATYPE_NUMBER));
    assert_false(rag_atype_on_title_page(RAG_ATYPE_NONE));
}

static void test_answer_type__sizes_and_a_part_of_its_own(void **state)
{
    rag_analyzer *an = NULL;
    rag_qterms q;
    (void)state;
    assert_true(holds("Compressed instructions are 16-bit wide.", RAG_ATYPE_SIZE, ""));
    assert_true(holds("a 4 KiB page", RAG_ATYPE_SIZE, ""));
    assert_true(holds("each entry holds 64 bits", RAG_ATYPE_SIZE, ""));
    assert_true(holds("a 32-byte line", RAG_ATYPE_SIZE, ""));
    /* a register name, a count of registers, a unit the number lacks, a
     * size the question itself gives */
    assert_false(holds("x16 is a bit of the state", RAG_ATYPE_SIZE, ""));
    assert_false(holds("RV32E has 16 registers.", RAG_ATYPE_SIZE, ""));
    assert_false(holds("bits 3 to 5", RAG_ATYPE_SIZE, ""));
    assert_false(holds("the 32-bit base ISA", RAG_ATYPE_SIZE, "32"));
    /* each part of a question its own type: "why" for the first part,
     * "how large" for the second */
    assert_int_equal(rag_analyzer_create(&an, NULL), RAG_OK);
    assert_int_equal(rag_qterms_analyze(&q, an, "Why does the C extension exist and how large "
                                        "are compressed instructions?", 0, NULL), RAG_OK);
    assert_int_equal(q.n_parts, 2);
    assert_int_equal(q.atype, RAG_ATYPE_NONE);
    assert_int_equal(q.part_atype[0], RAG_ATYPE_NONE);
    assert_int_equal(q.part_atype[1], RAG_ATYPE_SIZE);
    assert_string_equal(rag_atype_name(RAG_ATYPE_SIZE), "size");
    rag_qterms_fini(&q);
    assert_int_equal(rag_qterms_analyze(&q, an, "What size is a page?", 0, NULL), RAG_OK);
    assert_int_equal(q.atype, RAG_ATYPE_SIZE);
    rag_qterms_fini(&q);
    rag_analyzer_destroy(an);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_answer_type__dates),
        cmocka_unit_test(test_answer_type__numbers),
        cmocka_unit_test(test_answer_type__versions),
        cmocka_unit_test(test_answer_type__title_block_ends_at_prose),
        cmocka_unit_test(test_answer_type__sizes_and_a_part_of_its_own),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
