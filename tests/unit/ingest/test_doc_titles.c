/* test_doc_titles.c - the titles, versions and dates extracted from the 19
 * corpus PDFs are the ones their first pages show (expected values written
 * by reading each first page), and the heuristics behind them. */
#include "test_support.h"

#include "ingest/ingest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *file, *title, *version, *date;
} corpus[] = {
    /* file, then title, version, date as its first page prints them (the
     * metadata titles "PowerPoint Presentation", "Presentación de
     * PowerPoint", "AIML_SaMD_Action_Plan" and "Guiding Principles - GMLP"
     * are not; the EECS reports and the two current manuals have none). The
     * General Principles' "Version 1.1" is the draft it supersedes. */
    {"15.20-15.55-18.05.06.VEXT-bcn-v1.pdf",
     "The RISC-V Vector ISA Tutorial", "", "2018-05"},
    {"2107.04175.pdf",
     "A Survey on RISC-V Security: Hardware and Architecture", "", "2021-07-09"},
    {"2505.24363.pdf",
     "Ramping Up Open-Source RISC-V Cores: Assessing the Energy Efficiency of Superscalar, Out-of-Order Execution", "", "2025-05-30"},
    {"2507.01457.pdf",
     "Tensor Program Optimization for the RISC-V Vector Extension Using Probabilistic Programs", "", "2025-07-02"},
    {"AIML-SaMD-Action-Plan.pdf",
     "Artificial Intelligence/Machine Learning (AI/ML)-Based Software as a Medical Device (SaMD) Action Plan", "", "2021-01"},
    {"Communications_Signal_Processing_Using_RISC-V_Vector_Extension.pdf",
     "Communications Signal Processing Using RISC-V Vector Extension", "", "2022-05"},
    {"EECS-2011-62.pdf",
     "The RISC-V Instruction Set Manual, Volume I: Base User-Level ISA", "", "2011-05-13"},
    {"EECS-2014-54.pdf",
     "The RISC-V Instruction Set Manual, Volume I: User-Level ISA, Version 2.0", "2.0", "2014-05-06"},
    {"EECS-2015-49.pdf",
     "The RISC-V Instruction Set Manual Volume II: Privileged Architecture Version 1.7", "1.7", "2015-05-09"},
    {"EECS-2016-1.pdf",
     "Design of the RISC-V Instruction Set Architecture", "", "2016-01-03"},
    {"EECS-2016-118.pdf",
     "The RISC-V Instruction Set Manual, Volume I: User-Level ISA, Version 2.1", "2.1", "2016-05-31"},
    {"EECS-2016-129.pdf",
     "The RISC-V Instruction Set Manual Volume II: Privileged Architecture Version 1.9", "1.9", "2016-07-08"},
    {"GMLP_Guiding_Principles.pdf",
     "Good Machine Learning Practice for Medical Device Development: Guiding Principles", "", "2021-10"},
    {"General-Principles-of-Software-Validation---Final-Guidance-for-Industry-and-FDA-Staff.pdf",
     "General Principles of Software Validation; Final Guidance for Industry and FDA Staff", "", "2002-01-11"},
    {"Premarket-Software-Functions-Guidance.pdf",
     "Content of Premarket Submissions for Device Software Functions", "", "2023-06-14"},
    {"RISC-V-VectorExtension-1-1.pdf",
     "Introduction to the RISC-V Vector Extension", "", "2022-08"},
    {"riscv-base-instructions.pdf",
     "The RISC-V Instruction Set Manual, Volume I: Unprivileged ISA", "20191213", "2019-12-13"},
    {"riscv-card.pdf",
     "RISC-V Reference Card", "1.0", ""},
    {"riscv-privileged.pdf",
     "The RISC-V Instruction Set Manual, Volume II: Privileged Architecture", "20211203", "2021-12-04"},
};

static rag_meta_line L(const char *text, float size, int block)
{
    return (rag_meta_line){text, strlen(text), size, block};
}

static void test_titles__placeholder_metadata_titles_are_junk(void **state)
{
    (void)state;
    assert_true(rag_title_is_junk("Microsoft Word - spec_v2.doc", NULL));
    assert_true(rag_title_is_junk("PowerPoint Presentation", NULL));
    assert_true(rag_title_is_junk("Presentación de PowerPoint", NULL));
    assert_true(rag_title_is_junk("AIML_SaMD_Action_Plan", NULL));
    assert_true(rag_title_is_junk("", NULL));
    assert_true(rag_title_is_junk("   ", NULL));
    assert_true(rag_title_is_junk("untitled", NULL));
    assert_true(rag_title_is_junk("main.tex", NULL));
    assert_true(rag_title_is_junk("EECS 2016 1", "/c/EECS-2016-1.pdf"));
    assert_false(rag_title_is_junk("A Survey on RISC-V Security", "/c/2107.04175.pdf"));
    assert_false(rag_title_is_junk("Guiding Principles - GMLP", NULL));
    assert_true(rag_title_is_file_name("AIML_SaMD_Action_Plan_forOC-OPLIA.WGB1 VI.pdf"));
    assert_true(rag_title_is_file_name("AIML action plan cover.pdf "));
    assert_false(rag_title_is_file_name("3.2 The pdf format"));
}

/* The AIML action plan is two merged files: its outline's top entries are
 * their file names, which began every citation's section. */
static void test_titles__merged_file_labels_are_no_section(void **state)
{
    char *path = ts_shared_path("corpus/AIML-SaMD-Action-Plan.pdf");
    rag_doc *doc = NULL;
    rag_err err = {0};
    size_t n_named = 0;
    (void)state;
    if (!path)
        skip();
    assert_int_equal(rag_extract_file(&doc, path, NULL, &err), RAG_OK);
    assert_true(doc->n_sections > 3);
    for (size_t i = 0; i < doc->n_sections; i++) {
        if (strstr(doc->sections[i].path, ".pdf"))
            print_message("section %zu: %s\n", i, doc->sections[i].path);
        n_named += strstr(doc->sections[i].path, ".pdf") != NULL;
    }
    assert_int_equal(n_named, 0);
    assert_non_null(strstr(doc->sections[doc->n_sections - 1].path, "Action Plan"));
    rag_doc_destroy(doc);
    rag_free(path);
}

static void test_titles__dates_in_the_forms_documents_print(void **state)
{
    char d[11];
    (void)state;
    assert_true(rag_meta_parse_date("May 13, 2011", 12, d));
    assert_string_equal(d, "2011-05-13");
    assert_true(rag_meta_parse_date("arXiv:2107.04175v1 [cs.CR] 9 Jul 2021", 38, d));
    assert_string_equal(d, "2021-07-09");
    assert_true(rag_meta_parse_date("Document issued on: January 11, 2002", 36, d));
    assert_string_equal(d, "2002-01-11");
    assert_true(rag_meta_parse_date("August/September 2022", 21, d));
    assert_string_equal(d, "2022-08");
    assert_true(rag_meta_parse_date("8th RISC-V Workshop, May, 2018", 30, d));
    assert_string_equal(d, "2018-05");
    assert_true(rag_meta_parse_date("built 2019-12-13", 16, d));
    assert_string_equal(d, "2019-12-13");
    assert_false(rag_meta_parse_date("Mayor of 2011", 13, d));
    assert_false(rag_meta_parse_date("March 3000", 10, d));
    assert_false(rag_meta_parse_date("Version 20191213", 16, d));
}

static void test_titles__version_skips_the_document_it_supersedes(void **state)
{
    rag_meta_line lines[] = {
        L("General Principles of Software", 30, 0),
        L("Document issued on: January 11, 2002", 14, 1),
        L("This document supersedes the draft document, \"General Principles of", 14, 2),
        L("Software Validation, Version 1.1, dated June 9, 1997.", 14, 2),
    };
    char *v, *d;
    (void)state;
    assert_int_equal(rag_meta_find_version(lines, 4, &v, &d, NULL), RAG_OK);
    assert_null(v);
    assert_string_equal(d, "2002-01-11");
    rag_free(d);
}

static void test_titles__version_forms_and_status(void **state)
{
    rag_meta_line a[] = {L("Volume I: Unprivileged ISA", 12, 0),
                         L("Document Version 20191213", 12, 0)};
    rag_meta_line b[] = {L("RISC-V Reference Card", 10, 0), L("V1.0", 10, 0)};
    rag_meta_line c[] = {L("The RISC-V Vector Extension", 20, 0),
                         L("Version 1.0", 12, 1), L("Ratified", 12, 2)};
    rag_meta_line e[] = {L("There is a working draft of an official vector extension "
                           "whose version of the spec differs", 10, 0)};
    char *v, *d;
    (void)state;
    assert_int_equal(rag_meta_find_version(a, 2, &v, &d, NULL), RAG_OK);
    assert_string_equal(v, "20191213");
    rag_free(v);
    assert_int_equal(rag_meta_find_version(b, 2, &v, &d, NULL), RAG_OK);
    assert_string_equal(v, "1.0");
    rag_free(v);
    assert_int_equal(rag_meta_find_version(c, 3, &v, &d, NULL), RAG_OK);
    assert_string_equal(v, "1.0 (Ratified)");
    rag_free(v);
    assert_int_equal(rag_meta_find_version(e, 1, &v, &d, NULL), RAG_OK);
    assert_null(v);
    assert_null(d);
}

static void test_titles__largest_heading_joins_its_lines(void **state)
{
    rag_meta_line a[] = {
        L("arXiv:2505.24363v1 [cs.AR] 30 May 2025", 20, 0),
        L("Ramping Up Open-Source RISC-V Cores: Assessing the Energy", 17.2f, 1),
        L("Efficiency of Superscalar, Out-of-Order Execution", 17.2f, 1),
        L("Zexin Fu", 12, 2),
    };
    rag_meta_line b[] = {
        L("The RISC-V Instruction Set Manual, Volume I: User-", 18, 0),
        L("Level ISA, Version 2.0", 18, 0),
        L("Andrew Waterman", 14, 1),
    };
    rag_meta_line c[] = {
        L("The RISC-V Instruction Set Manual", 14.3f, 0),
        L("Volume II: Privileged Architecture", 12, 1),
        L("Document Version 20211203", 12, 1),
    };
    rag_meta_line body[] = {L("Just body text here.", 10, 0), L("More of it.", 10, 0)};
    int oom;
    char *t;
    (void)state;
    t = rag_meta_heading_title(a, 4, 10, &oom);
    assert_string_equal(t, "Ramping Up Open-Source RISC-V Cores: Assessing the Energy "
                           "Efficiency of Superscalar, Out-of-Order Execution");
    rag_free(t);
    t = rag_meta_heading_title(b, 3, 10, &oom);
    assert_string_equal(t, "The RISC-V Instruction Set Manual, Volume I: User-Level ISA, "
                           "Version 2.0");
    rag_free(t);
    t = rag_meta_heading_title(c, 3, 10, &oom);
    assert_string_equal(t, "The RISC-V Instruction Set Manual, Volume II: Privileged "
                           "Architecture");
    rag_free(t);
    assert_null(rag_meta_heading_title(body, 2, 10, &oom));
    assert_int_equal(oom, 0);
}

static void test_titles__newer_by_date_then_by_version(void **state)
{
    (void)state;
    assert_true(rag_doc_version_cmp("20191213", "2019-12-13", "2.1", "2016-05-31") > 0);
    assert_true(rag_doc_version_cmp("2.0", "2014-05-06", "2.1", "2016-05-31") < 0);
    assert_true(rag_doc_version_cmp("2.10", "", "2.9", "") > 0);
    assert_true(rag_doc_version_cmp("1.9", "2016-07", "1.7", "2016-07-08") > 0);
    assert_true(rag_doc_version_cmp("", "2011-05-13", "", "") > 0);
    assert_int_equal(rag_doc_version_cmp(NULL, NULL, "", ""), 0);
}

static void test_titles__families_are_versions_of_one_text(void **state)
{
    const char *v1a = "The RISC-V Instruction Set Manual, Volume I: Base User-Level ISA";
    const char *v1b = "The RISC-V Instruction Set Manual, Volume I: User-Level ISA, Version 2.1";
    const char *v1c = "The RISC-V Instruction Set Manual, Volume I: Unprivileged ISA";
    const char *v2a = "The RISC-V Instruction Set Manual Volume II: Privileged Architecture "
                      "Version 1.7";
    const char *v2b = "The RISC-V Instruction Set Manual, Volume II: Privileged Architecture";
    (void)state;
    assert_true(rag_title_same_family(v1a, v1b));
    assert_true(rag_title_same_family(v1b, v1c));
    assert_true(rag_title_same_family(v2a, v2b));
    assert_false(rag_title_same_family(v1c, v2b));
    assert_false(rag_title_same_family(v1a, "Design of the RISC-V Instruction Set Architecture"));
    assert_false(rag_title_same_family("", ""));
}

static void test_titles__corpus_pdfs_have_their_real_titles(void **state)
{
    char *dir = ts_shared_path("corpus");
    int bad = 0;
    (void)state;
    if (!dir)
        skip();
    for (size_t i = 0; i < sizeof corpus / sizeof corpus[0]; i++) {
        char *path = rag_asprintf("%s/%s", dir, corpus[i].file);
        rag_doc *doc = NULL;
        rag_err err = {0};
        assert_int_equal(rag_extract_file(&doc, path, NULL, &err), RAG_OK);
        const char *v = doc->version ? doc->version : "", *d = doc->date ? doc->date : "";
        if (strcmp(doc->title, corpus[i].title) != 0 || strcmp(v, corpus[i].version) != 0 ||
            strcmp(d, corpus[i].date) != 0) {
            print_message("%s:\n  got      \"%s\" \"%s\" \"%s\"\n  expected \"%s\" \"%s\" \"%s\"\n",
                          corpus[i].file, doc->title, v, d, corpus[i].title,
                          corpus[i].version, corpus[i].date);
            bad++;
        }
        rag_doc_destroy(doc);
        rag_free(path);
    }
    rag_free(dir);
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_titles__placeholder_metadata_titles_are_junk),
        cmocka_unit_test(test_titles__dates_in_the_forms_documents_print),
        cmocka_unit_test(test_titles__version_skips_the_document_it_supersedes),
        cmocka_unit_test(test_titles__version_forms_and_status),
        cmocka_unit_test(test_titles__largest_heading_joins_its_lines),
        cmocka_unit_test(test_titles__newer_by_date_then_by_version),
        cmocka_unit_test(test_titles__families_are_versions_of_one_text),
        cmocka_unit_test(test_titles__merged_file_labels_are_no_section),
        cmocka_unit_test(test_titles__corpus_pdfs_have_their_real_titles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
