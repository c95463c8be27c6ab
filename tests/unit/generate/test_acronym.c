/* test_acronym.c - a question's acronyms and their long forms as the
 * indexed text defines them (acronym.c), and the answer search they feed. */
#include "test_support.h"

#include "generate/generate.h"

#include <string.h>

static void test_acronym__capitalised_words_of_the_question(void **state)
{
    char a[4][RAG_ACRONYM_MAX + 1];
    (void)state;
    /* digits (RV32I), a dotted field (misa.MXL), a word too long or too
     * short, lower case: none of them */
    assert_int_equal(rag_acronyms_in("What does the WFI do in RV32I, misa.MXL, I, ABCDEFGHI "
                                     "and fcsr, and is TOR-mode like PMP?", a, 4), 2);
    assert_string_equal(a[0], "WFI");
    assert_string_equal(a[1], "PMP");
    assert_int_equal(rag_acronyms_in("AB CD EF GH IJ", a, 3), 3);
    assert_int_equal(rag_acronyms_in("", a, 3), 0);
}

static void test_acronym__long_form_from_the_text(void **state)
{
    char out[96];
    const char *wfi[] = {
        "3.2.3 Wait for Interrupt\nThe Wait for Interrupt instruction (WFI) provides a hint.",
        "Use WFI (WFI) when idle.",   /* no long form before it */
        NULL,                         /* a chunk without text */
    };
    const char *csr[] = {"The Control and Status Register (CSR) instructions; a (CSR)."};
    const char *votes[] = {"physical memory protection (PMP)", "Physical Memory Protection (PMP)",
                           "per mode protection (PMP)"};
    const char *none[] = {"hello world (XYZ) and (XYZ", "(XYZ)", "x, Y Z (XYZ)"};
    (void)state;
    /* a letter from "for", a generic noun between the form and the bracket */
    assert_int_equal(rag_acronym_form(wfi, 3, "WFI", out, sizeof out), 1);
    assert_string_equal(out, "wait for interrupt");
    /* "and" passed over */
    assert_int_equal(rag_acronym_form(csr, 1, "CSR", out, sizeof out), 1);
    assert_string_equal(out, "control and status register");
    /* the form most texts give, whatever its case */
    assert_int_equal(rag_acronym_form(votes, 3, "PMP", out, sizeof out), 1);
    assert_string_equal(out, "physical memory protection");
    /* initials that do not spell it, a bracket at the start, punctuation */
    assert_int_equal(rag_acronym_form(none, 3, "XYZ", out, sizeof out), 0);
    assert_string_equal(out, "");
    assert_int_equal(rag_acronym_form(csr, 1, "C", out, sizeof out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acronym__capitalised_words_of_the_question),
        cmocka_unit_test(test_acronym__long_form_from_the_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
