/* test_sentence_kind.c - what an extractive answer may quote: junk classes,
 * lists and near-duplicates. Examples are lines extracted from the corpus
 * PDFs (the failure classes of issue 12). */
#include "test_support.h"

#include "generate/generate.h"

#include <string.h>

static rag_sentence_kind kind(const char *s)
{
    return rag_sentence_classify(s, strlen(s));
}

static void test_sentence_kind__prose_is_prose(void **state)
{
    (void)state;
    assert_int_equal(kind("The mtvec register is an MXLEN-bit WARL read/write register "
                          "that holds trap vector configuration."), RAG_SENT_PROSE);
    assert_int_equal(kind("When MODE=Vectored, all synchronous exceptions into machine "
                          "mode cause the pc to be set to the address in the BASE field."),
                     RAG_SENT_PROSE);
    assert_int_equal(kind("RV32I was designed to be sufficient to form a compiler "
                          "target and to support modern operating system environments."),
                     RAG_SENT_PROSE);
    assert_int_equal(kind("- the software validation plan is reviewed and approved."),
                     RAG_SENT_PROSE);
}

static void test_sentence_kind__headings(void **state)
{
    (void)state;
    assert_int_equal(kind("3.1.7 Machine Trap-Vector Base-Address Register (mtvec)"),
                     RAG_SENT_HEADING);
    assert_int_equal(kind("Hardware-assisted Security Units"), RAG_SENT_HEADING);
    assert_int_equal(kind("Base Version Draft Frozen?"), RAG_SENT_HEADING);
    assert_int_equal(kind("Chapter 2\nRV32I Base Integer Instruction Set"), RAG_SENT_HEADING);
}

static void test_sentence_kind__captions(void **state)
{
    (void)state;
    assert_int_equal(kind("Figure 3.6: Machine trap-vector base-address register (mtvec)."),
                     RAG_SENT_CAPTION);
    assert_int_equal(kind("Table 2.1: Encoding of mtvec MODE field."), RAG_SENT_CAPTION);
    assert_int_equal(kind("Fig. 4. Energy efficiency of the cores."), RAG_SENT_CAPTION);
}

static void test_sentence_kind__tables(void **state)
{
    (void)state;
    assert_int_equal(kind("0 Direct All exceptions set pc to BASE. 1 Vectored 2 3 4 5"),
                     RAG_SENT_TABLE);
    assert_int_equal(kind("0x300 MRW mstatus Machine status register. 0x301 MRW misa"),
                     RAG_SENT_TABLE);
    assert_int_equal(kind("31 30 25 24 21 20 19 15 14 12 11 8 7 6 0"), RAG_SENT_TABLE);
}

static void test_sentence_kind__urls_references_editors(void **state)
{
    (void)state;
    assert_int_equal(kind("Available at https://riscv.org/specifications/ for download."),
                     RAG_SENT_URL);
    assert_int_equal(kind("[41] D. Lee, D. Kohlbrenner, S. Shinde, K. Asanovic, and D. Song. "
                          "Keystone: An open framework for architecting trusted execution "
                          "environments."), RAG_SENT_REFERENCE);
    assert_int_equal(kind("\xE2\x80\x9CKeystone: An open framework for architecting trusted "
                          "execution environments\xE2\x80\x9D."), RAG_SENT_REFERENCE);
    assert_int_equal(kind("In Proceedings of the Fifteenth European Conference on Computer "
                          "Systems, pages 1-16, 2020."), RAG_SENT_REFERENCE);
    assert_int_equal(kind("Editors: Andrew Waterman, Krste Asanovic, SiFive Inc., CS "
                          "Division, EECS Department, University of California, Berkeley"),
                     RAG_SENT_EDITORS);
    assert_int_equal(kind("Andrew Waterman, Yunsup Lee, Rimas Avizienis, Henry Cook, "
                          "David Patterson, Krste Asanovic"), RAG_SENT_EDITORS);
}

static void test_sentence_kind__figure_text_and_fragments(void **state)
{
    (void)state;
    assert_int_equal(kind("BASE[MXLEN-1:2]\nMODE\nWARL\nMXLEN-2\n2"), RAG_SENT_FIGURE);
    assert_int_equal(kind("See above."), RAG_SENT_FRAGMENT);
}

static void test_sentence_kind__lists(void **state)
{
    (void)state;
    assert_true(rag_sentence_is_list_item("\xE2\x80\xA2 Direct mode", 14));
    assert_true(rag_sentence_is_list_item("- item", 6));
    assert_true(rag_sentence_is_list_item("(a) the first", 13));
    assert_true(rag_sentence_is_list_item("2. The second", 13));
    assert_false(rag_sentence_is_list_item("2.5 is a number", 15));
    assert_false(rag_sentence_is_list_item("The MODE field", 14));
    assert_true(rag_sentence_introduces_list("The encodings are as follows:", 29));
    assert_true(rag_sentence_introduces_list("It holds: \n", 11));
    assert_false(rag_sentence_introduces_list("It holds the base.", 18));
}

static void test_sentence_kind__near_duplicates(void **state)
{
    const char *a = "The misa CSR is a WARL read-write register reporting the ISA "
                    "supported by the hart.";
    const char *b = "The misa CSR is a WARL read-write register reporting the ISA supported "
                    "by the hart. ";
    const char *c = "The misa register is a WARL read-write register reporting the ISA "
                    "supported by the hart.";
    const char *d = "The mtvec register holds trap vector configuration, consisting of a "
                    "vector base address and a vector mode.";
    (void)state;
    assert_true(rag_sentence_near_duplicate(a, strlen(a), b, strlen(b)));
    assert_true(rag_sentence_near_duplicate(a, strlen(a), c, strlen(c)));
    assert_false(rag_sentence_near_duplicate(a, strlen(a), d, strlen(d)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sentence_kind__prose_is_prose),
        cmocka_unit_test(test_sentence_kind__headings),
        cmocka_unit_test(test_sentence_kind__captions),
        cmocka_unit_test(test_sentence_kind__tables),
        cmocka_unit_test(test_sentence_kind__urls_references_editors),
        cmocka_unit_test(test_sentence_kind__figure_text_and_fragments),
        cmocka_unit_test(test_sentence_kind__lists),
        cmocka_unit_test(test_sentence_kind__near_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
