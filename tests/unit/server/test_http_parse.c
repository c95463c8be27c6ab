/* test_http_parse.c - the server's input parsers: multipart/form-data, safe
 * file names, query strings, paths and ids, Range, Accept-Encoding, API keys.
 */
#include "test_support.h"

#include "server/http_parse.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* rc is code and the message contains needle (printed when not). */
static void check_err(int rc, const rag_err *err, int code, const char *needle)
{
    if (rc != code || !strstr(err->msg, needle))
        print_message("got rc %d \"%s\"; want rc %d with \"%s\"\n", rc, err->msg, code,
                      needle);
    assert_int_equal(rc, code);
    assert_non_null(strstr(err->msg, needle));
}

/* ---- multipart: boundary ----------------------------------------------- */

static void test_boundary__token_quoted_and_case_insensitive(void **state)
{
    char b[RAG_MULTIPART_BOUNDARY_MAX + 1];
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_multipart_boundary(b, "multipart/form-data; boundary=abc", &err),
                     RAG_OK);
    assert_string_equal(b, "abc");
    assert_int_equal(rag_multipart_boundary(
                         b, "Multipart/Form-Data;charset=utf-8 ; BOUNDARY=\"a b:c=d?\"", &err),
                     RAG_OK);
    assert_string_equal(b, "a b:c=d?");
    assert_int_equal(rag_multipart_boundary(
                         b, "multipart/form-data; boundary=----WebKitFormBoundary7MA4Y;", &err),
                     RAG_OK);
    assert_string_equal(b, "----WebKitFormBoundary7MA4Y");
    /* empty parameters are tolerated */
    assert_int_equal(rag_multipart_boundary(b, "multipart/form-data;; boundary=q ;", &err),
                     RAG_OK);
    assert_string_equal(b, "q");
    /* 70 characters is the maximum */
    assert_int_equal(rag_multipart_boundary(b,
                                            "multipart/form-data; boundary="
                                            "0123456789012345678901234567890123456789"
                                            "012345678901234567890123456789",
                                            &err),
                     RAG_OK);
    assert_int_equal(strlen(b), 70);
}

static void test_boundary__rejects_wrong_type_missing_repeated_and_bad_values(void **state)
{
    char b[RAG_MULTIPART_BOUNDARY_MAX + 1];
    rag_err err = {0};
    int rc;
    (void)state;
    rc = rag_multipart_boundary(b, NULL, &err);
    check_err(rc, &err, RAG_EFORMAT, "no Content-Type");
    rc = rag_multipart_boundary(b, "application/json", &err);
    check_err(rc, &err, RAG_EFORMAT, "'application/json' is not multipart/form-data");
    rc = rag_multipart_boundary(b, "multipart/mixed; boundary=a", &err);
    check_err(rc, &err, RAG_EFORMAT, "not multipart/form-data");
    rc = rag_multipart_boundary(b, "multipart/form-data", &err);
    check_err(rc, &err, RAG_EFORMAT, "no boundary parameter");
    rc = rag_multipart_boundary(b, "multipart/form-data; boundary=a; boundary=b", &err);
    check_err(rc, &err, RAG_EFORMAT, "boundary parameter twice");
    rc = rag_multipart_boundary(b, "multipart/form-data; boundary=\"\"", &err);
    check_err(rc, &err, RAG_EFORMAT, "0 characters, not 1..70");
    rc = rag_multipart_boundary(b,
                                "multipart/form-data; boundary="
                                "0123456789012345678901234567890123456789"
                                "0123456789012345678901234567890",
                                &err);
    check_err(rc, &err, RAG_EFORMAT, "71 characters, not 1..70");
    rc = rag_multipart_boundary(b, "multipart/form-data; boundary=\"a@b\"", &err);
    check_err(rc, &err, RAG_EFORMAT, "'@' at character 2");
    rc = rag_multipart_boundary(b, "multipart/form-data; boundary=\"ab \"", &err);
    check_err(rc, &err, RAG_EFORMAT, "ends in a space");
    rc = rag_multipart_boundary(b, "multipart/form-data; boundary=\"abc", &err);
    check_err(rc, &err, RAG_EFORMAT, "Content-Type: quoted string opened at byte 30");
    rc = rag_multipart_boundary(b, "multipart/form-data boundary=abc", &err);
    check_err(rc, &err, RAG_EFORMAT, "expected ';' at byte 20");
    assert_string_equal(b, "");
}

/* ---- multipart: bodies ------------------------------------------------- */

#define BND "----WebKitFormBoundary7MA4YWxkTrZu0gW"

/* A browser form: a text field and a file whose data hold a NUL, blank
 * lines, "--" lines and the boundary minus its last character. */
static const char FORM[] =
    "--" BND "\r\n"
    "Content-Disposition: form-data; name=\"title\"\r\n"
    "\r\n"
    "RISC-V manual\r\n"
    "--" BND "\r\n"
    "content-disposition: FORM-DATA; name=\"file\"; filename=\"spec.pdf\"\r\n"
    "Content-Type: application/pdf\r\n"
    "X-Ignored: yes\r\n"
    "\r\n"
    "%PDF-1.7\r\n\r\n\0--x\r\n----" BND "Z\r\n--" "----WebKitFormBoundary7MA4YWxkTrZu0g\r\n"
    "\r\n"
    "--" BND "--\r\n";

static const char FILE_DATA[] =
    "%PDF-1.7\r\n\r\n\0--x\r\n----" BND "Z\r\n--" "----WebKitFormBoundary7MA4YWxkTrZu0g\r\n";

static rag_multipart *parse_ok(const char *body, size_t n, const char *bnd)
{
    rag_multipart *m = NULL;
    rag_err err = {0};
    int rc = rag_multipart_parse(&m, body, n, bnd, NULL, &err);
    if (rc != RAG_OK)
        print_message("multipart parse failed: %s\n", err.msg);
    assert_int_equal(rc, RAG_OK);
    assert_non_null(m);
    return m;
}

static void parse_fails(const char *body, const char *bnd, const rag_multipart_limits *lim,
                        int code, const char *needle)
{
    rag_multipart *m = (rag_multipart *)1;
    rag_err err = {0};
    int rc = rag_multipart_parse(&m, body, strlen(body), bnd, lim, &err);
    check_err(rc, &err, code, needle);
    assert_null(m);
}

static void test_multipart__browser_form_gives_fields_and_zero_copy_file(void **state)
{
    rag_multipart *m = parse_ok(FORM, sizeof FORM - 1, BND);
    const rag_multipart_part *p;
    (void)state;
    assert_int_equal(m->n_parts, 2);
    p = &m->parts[0];
    assert_string_equal(p->name, "title");
    assert_null(p->filename);
    assert_null(p->raw_filename);
    assert_null(p->content_type);
    assert_int_equal(p->n_data, 13);
    assert_memory_equal(p->data, "RISC-V manual", 13);
    p = &m->parts[1];
    assert_string_equal(p->name, "file");
    assert_string_equal(p->filename, "spec.pdf");
    assert_string_equal(p->raw_filename, "spec.pdf");
    assert_string_equal(p->content_type, "application/pdf");
    assert_int_equal(p->n_data, sizeof FILE_DATA - 1);
    assert_memory_equal(p->data, FILE_DATA, sizeof FILE_DATA - 1);
    /* zero copy: the data lie inside the body */
    assert_true(p->data > FORM && p->data + p->n_data < FORM + sizeof FORM);
    rag_multipart_destroy(m);
}

static void test_multipart__preamble_padding_and_epilogue_are_skipped(void **state)
{
    static const char body[] = "This is the preamble.\r\n--b\r\nstill preamble\r\n"
                               "--xyz \t\r\n"
                               "Content-Disposition: form-data; name=a\r\n\r\n1\r\n"
                               "--xyz\r\n"
                               "Content-Disposition: form-data; name=b\r\n\r\n2\r\n"
                               "--xyz--  \r\nthe epilogue\r\n--xyz\r\nignored";
    rag_multipart *m = parse_ok(body, sizeof body - 1, "xyz");
    (void)state;
    assert_int_equal(m->n_parts, 2);
    assert_string_equal(m->parts[0].name, "a");
    assert_int_equal(m->parts[0].n_data, 1);
    assert_memory_equal(m->parts[0].data, "1", 1);
    assert_string_equal(m->parts[1].name, "b");
    assert_memory_equal(m->parts[1].data, "2", 1);
    rag_multipart_destroy(m);
}

static void test_multipart__close_delimiter_alone_is_zero_parts(void **state)
{
    rag_multipart *m = parse_ok("--b--", 5, "b");
    (void)state;
    assert_int_equal(m->n_parts, 0);
    rag_multipart_destroy(m);
    m = parse_ok("--b--\r\n", 7, "b");
    assert_int_equal(m->n_parts, 0);
    rag_multipart_destroy(m);
}

static void test_multipart__empty_data_and_headers_only_parts(void **state)
{
    static const char body[] = "--b\r\n"
                               "Content-Disposition: form-data; name=empty\r\n\r\n"
                               "\r\n--b\r\n"
                               "Content-Disposition: form-data; name=nobody\r\n"
                               "\r\n--b--";
    rag_multipart *m = parse_ok(body, sizeof body - 1, "b");
    (void)state;
    assert_int_equal(m->n_parts, 2);
    assert_string_equal(m->parts[0].name, "empty");
    assert_int_equal(m->parts[0].n_data, 0);
    assert_string_equal(m->parts[1].name, "nobody");
    assert_int_equal(m->parts[1].n_data, 0);
    rag_multipart_destroy(m);
}

/* The filename and raw_filename of a one-part body with this disposition,
 * "(null)" for NULL. */
static void filenames(const char *disposition, char safe[300], char raw[300])
{
    char body[1024];
    rag_multipart *m;
    snprintf(body, sizeof body, "--b\r\nContent-Disposition: %s\r\n\r\nx\r\n--b--\r\n",
             disposition);
    m = parse_ok(body, strlen(body), "b");
    assert_int_equal(m->n_parts, 1);
    snprintf(safe, 300, "%s", m->parts[0].filename ? m->parts[0].filename : "(null)");
    snprintf(raw, 300, "%s", m->parts[0].raw_filename ? m->parts[0].raw_filename : "(null)");
    rag_multipart_destroy(m);
}

static void test_multipart__filenames_quoted_escaped_rfc5987_and_stripped(void **state)
{
    char safe[300], raw[300];
    (void)state;
    filenames("form-data; name=f; filename=\"a\\\"b.txt\"", safe, raw);
    assert_string_equal(safe, "a\"b.txt");
    assert_string_equal(raw, "a\"b.txt");
    /* filename* wins over filename, in either order */
    filenames("form-data; name=f; filename=\"EUR rates.txt\"; "
              "filename*=UTF-8''%e2%82%ac%20rates.txt",
              safe, raw);
    assert_string_equal(safe, "\xe2\x82\xac rates.txt");
    filenames("form-data; filename*=utf-8'en'%C3%A9t%C3%A9.md; name=f; filename=ete.md", safe,
              raw);
    assert_string_equal(safe, "\xc3\xa9t\xc3\xa9.md");
    /* an old browser's full Windows path: backslashes are kept, then cut */
    filenames("form-data; name=f; filename=\"C:\\Users\\x\\report.pdf\"", safe, raw);
    assert_string_equal(safe, "report.pdf");
    assert_string_equal(raw, "C:\\Users\\x\\report.pdf");
    filenames("form-data; name=f; filename=\"../../etc/passwd\"", safe, raw);
    assert_string_equal(safe, "passwd");
    assert_string_equal(raw, "../../etc/passwd");
    /* raw UTF-8 in a quoted string, as browsers send it; an escaped backslash */
    filenames("form-data; name=f; filename=\"\xc3\xa9\\\\z\"", safe, raw);
    assert_string_equal(safe, "z");
    assert_string_equal(raw, "\xc3\xa9\\z");
    /* no file chosen, and no filename at all */
    filenames("form-data; name=f; filename=\"\"", safe, raw);
    assert_string_equal(safe, "(null)");
    assert_string_equal(raw, "");
    filenames("form-data; name=f", safe, raw);
    assert_string_equal(safe, "(null)");
    assert_string_equal(raw, "(null)");
}

static void test_multipart__part_names_are_decoded_and_kept_exactly(void **state)
{
    static const char body[] = "--b\r\n"
                               "Content-Disposition: form-data; NAME=\"x y;\\\"z\"\r\n\r\n1"
                               "\r\n--b\r\n"
                               "Content-Disposition: form-data; name=t.k-n\r\n\r\n2"
                               "\r\n--b--";
    rag_multipart *m = parse_ok(body, sizeof body - 1, "b");
    (void)state;
    assert_string_equal(m->parts[0].name, "x y;\"z");
    assert_string_equal(m->parts[1].name, "t.k-n");
    rag_multipart_destroy(m);
}

static void test_multipart__structure_errors_name_the_part_and_place(void **state)
{
    (void)state;
    parse_fails("no boundary here", "b", NULL, RAG_EFORMAT, "no opening boundary '--b'");
    parse_fails("", "b", NULL, RAG_EFORMAT, "no opening boundary");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\n\r\ndata", "b", NULL,
                RAG_EFORMAT, "no closing boundary: the body ends inside part 1");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b\r\n"
                "Content-Disposition: form-data; name=c\r\n\r\n2\r\n--b",
                "b", NULL, RAG_EFORMAT, "ends after the boundary at byte");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--bX\r\n", "b",
                NULL, RAG_EFORMAT, "followed by 'X\\x0d\\x0a', not CRLF or '--'");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b-\r\n", "b",
                NULL, RAG_EFORMAT, "followed by '-\\x0d\\x0a', not CRLF or '--'");
    parse_fails("--b\nContent-Disposition: form-data; name=a\n\n1\n--b--\n", "b", NULL,
                RAG_EFORMAT, "followed by '\\x0aContent', not CRLF");
    parse_fails("--b\r\n\r\n1\r\n--b--", "b", NULL, RAG_EFORMAT,
                "part 1 has no Content-Disposition header");
    parse_fails("--b\r\n\r\n--b--", "b", NULL, RAG_EFORMAT,
                "part 1 has no Content-Disposition header");
    parse_fails("--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--", "b", NULL, RAG_EFORMAT,
                "part 1 has no Content-Disposition header");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b\r\n"
                "Content-Disposition: form-data; name=b\r\n\r\n\r\n--b\r\n"
                "Content-Disposition: form-data; filename=x\r\n\r\n\r\n--b--",
                "b", NULL, RAG_EFORMAT, "multipart: part 3 has no name");
    parse_fails("--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n1\r\n--b--", "b",
                NULL, RAG_EFORMAT, "part 1 has an empty name");
    parse_fails("--b\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--b--", "b",
                NULL, RAG_EFORMAT, "part 1: Content-Disposition is 'attachment', not form-data");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a; Name=b\r\n\r\n1\r\n--b--", "b",
                NULL, RAG_EFORMAT, "part 1: Content-Disposition parameter 'Name' repeated");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\n"
                "Content-Disposition: form-data; name=b\r\n\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "part 1 has two Content-Disposition headers");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\nContent-Type: a/b\r\n"
                "Content-Type: c/d\r\n\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "part 1 has two Content-Type headers");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\nContent-Type:\r\n\r\n1\r\n"
                "--b--",
                "b", NULL, RAG_EFORMAT, "part 1: empty Content-Type");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\nContent-Type: text/\xc3\xa9\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "part 1: Content-Type has a non-ASCII byte");
}

static void test_multipart__header_syntax_errors(void **state)
{
    (void)state;
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\n1\r\n--b--", "b",
                NULL, RAG_EFORMAT, "part 1: header line 1 ends in a bare LF, not CRLF");
    parse_fails("--b\r\nX: y\rZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "part 1: header line 1 ends in a bare CR");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\nX-A: b\r\n c\r\n\r\n1\r\n"
                "--b--",
                "b", NULL, RAG_EFORMAT, "part 1: header line 3 is folded");
    parse_fails("--b\r\nContent-Disposition form-data\r\n\r\n1\r\n--b--", "b", NULL,
                RAG_EFORMAT, "header line 1 'Content-Disposition form-data' is not 'Name: value'");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\x01\r\n\r\n1\r\n--b--", "b",
                NULL, RAG_EFORMAT, "header 'Content-Disposition' has control character 0x01");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\n"
                "Content-Transfer-Encoding: base64\r\n\r\nMQ==\r\n--b--",
                "b", NULL, RAG_EFORMAT, "Content-Transfer-Encoding 'base64' is not supported");
    parse_fails("--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\n1\r\n--b--", "b", NULL,
                RAG_EFORMAT, "part 1: Content-Disposition: quoted string opened at byte 16");
    parse_fails("--b\r\nContent-Disposition: form-data; name\r\n\r\n1\r\n--b--", "b", NULL,
                RAG_EFORMAT, "parameter 'name' has no '='");
    parse_fails("--b\r\nContent-Disposition: form-data; name=\r\n\r\n1\r\n--b--", "b", NULL,
                RAG_EFORMAT, "parameter 'name' has no value");
    parse_fails("--b\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\n1\r\n--b--", "b",
                NULL, RAG_EFORMAT, "part 1: name is not valid UTF-8");
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\nno blank line\r\n--b--", "b",
                NULL, RAG_EFORMAT, "part 1: headers are not ended by a blank line");
}

static void test_multipart__bad_filenames_fail_the_parse(void **state)
{
    (void)state;
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename=\"..\"\r\n\r\n1\r\n"
                "--b--",
                "b", NULL, RAG_EFORMAT, "part 1: filename '..' ends in '..'");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename=\"a/\"\r\n\r\n1\r\n"
                "--b--",
                "b", NULL, RAG_EFORMAT, "has no name after its last");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''a%0Ab\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "filename 'a\\x0ab' has control character U+000A");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''%00\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "filename*: ext-value decodes to a NUL byte");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''%ff\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "not valid UTF-8 after decoding");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''%e\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "bad percent escape at byte 7");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename*=ISO-8859-1''%e9\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "charset 'ISO-8859-1' is not supported (only UTF-8)");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename*=a.txt\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "no charset'language' prefix");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename*=\"UTF-8''a\"\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "filename* must not be quoted");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''a*b\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "other than attr-char");
    parse_fails("--b\r\nContent-Disposition: form-data; name=f; filename=\"\xc3\"\r\n"
                "\r\n1\r\n--b--",
                "b", NULL, RAG_EFORMAT, "part 1: filename is not valid UTF-8");
}

static void test_multipart__limits_on_parts_and_header_bytes(void **state)
{
    rag_multipart_limits two = {.max_parts = 2};
    rag_multipart_limits small = {.max_header_bytes = 48};
    static const char three[] = "--b\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--b\r\n"
                                "Content-Disposition: form-data; name=b\r\n\r\n\r\n--b\r\n"
                                "Content-Disposition: form-data; name=c\r\n\r\n\r\n--b--";
    /* 48 bytes of header block incl. its CRLF: exactly the limit */
    static const char fits[] = "--b\r\nContent-Disposition: form-data; name=abcdefghi\r\n\r\n"
                               "data\r\n--b--";
    rag_multipart *m;
    rag_err err = {0};
    (void)state;
    parse_fails(three, "b", &two, RAG_ELIMIT, "multipart: more than 2 parts");
    m = parse_ok(three, sizeof three - 1, "b");
    assert_int_equal(m->n_parts, 3);
    rag_multipart_destroy(m);

    assert_int_equal(rag_multipart_parse(&m, fits, sizeof fits - 1, "b", &small, &err),
                     RAG_OK);
    rag_multipart_destroy(m);
    parse_fails("--b\r\nContent-Disposition: form-data; name=abcdefghij\r\n\r\nx\r\n--b--",
                "b", &small, RAG_ELIMIT, "part 1: headers exceed 48 bytes");
    /* no blank line within reach, long data after */
    parse_fails("--b\r\nContent-Disposition: form-data; name=abcd\r\nX-Long: "
                "0123456789012345678901234567890123456789\r\n\r\nx\r\n--b--",
                "b", &small, RAG_ELIMIT, "part 1: headers exceed 48 bytes");
    /* a headers-only part just over the limit */
    parse_fails("--b\r\nContent-Disposition: form-data; name=abcdefghij\r\n\r\n--b--", "b",
                &small, RAG_ELIMIT, "headers exceed 48 bytes");
}

static void test_multipart__a_line_starting_with_the_boundary_ends_the_part(void **state)
{
    /* RFC 2046: "--b" at a line start is a delimiter whatever follows; it
     * is refused, not taken as data */
    parse_fails("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--bb\r\n--b--", "b",
                NULL, RAG_EFORMAT, "is followed by 'b\\x0d\\x0a--b--', not CRLF or '--'");
    (void)state;
}

static void test_multipart__bad_boundary_argument_is_invalid(void **state)
{
    rag_multipart *m;
    rag_err err = {0};
    (void)state;
    check_err(rag_multipart_parse(&m, "--b--", 5, "", NULL, &err), &err, RAG_EINVAL,
              "1..70");
    check_err(rag_multipart_parse(&m, "--b--", 5, NULL, NULL, &err), &err, RAG_EINVAL,
              "1..70");
}

static void test_multipart__out_of_memory_at_every_allocation(void **state)
{
    long n_ok = -1;
    (void)state;
    for (long n = 0; n < 100 && n_ok < 0; n++) {
        rag_multipart *m = NULL;
        rag_err err = {0};
        int rc;
        ts_fail_alloc_after(n);
        rc = rag_multipart_parse(&m, FORM, sizeof FORM - 1, BND, NULL, &err);
        ts_fail_alloc_after(-1);
        if (rc == RAG_OK)
            n_ok = n;
        else
            check_err(rc, &err, RAG_ENOMEM, "out of memory");
        rag_multipart_destroy(m);
    }
    assert_true(n_ok >= 3); /* handle, arena block, parts table */
}

/* ---- safe file names --------------------------------------------------- */

static void test_safe_filename__keeps_only_the_last_component(void **state)
{
    char out[RAG_FILENAME_MAX + 1];
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_safe_filename(out, sizeof out, "dir/sub/a.pdf", &err), RAG_OK);
    assert_string_equal(out, "a.pdf");
    assert_int_equal(rag_safe_filename(out, sizeof out, "C:\\x\\b.txt", &err), RAG_OK);
    assert_string_equal(out, "b.txt");
    assert_int_equal(rag_safe_filename(out, sizeof out, "a/..\\c", &err), RAG_OK);
    assert_string_equal(out, "c");
    assert_int_equal(rag_safe_filename(out, sizeof out, "\xc3\xbcn\xc3\xaf" "code \xe2\x98\x83.md",
                                       &err),
                     RAG_OK);
    assert_string_equal(out, "\xc3\xbcn\xc3\xaf" "code \xe2\x98\x83.md");
    assert_int_equal(rag_safe_filename(out, sizeof out, "...", &err), RAG_OK);
    assert_string_equal(out, "...");
}

static void test_safe_filename__rejects_empty_dots_controls_and_overrides(void **state)
{
    char out[RAG_FILENAME_MAX + 1], big[RAG_FILENAME_MAX + 2];
    rag_err err = {0};
    (void)state;
    check_err(rag_safe_filename(out, sizeof out, "", &err), &err, RAG_EFORMAT, "is empty");
    check_err(rag_safe_filename(out, sizeof out, "dir/", &err), &err, RAG_EFORMAT,
              "filename 'dir/' has no name after its last");
    check_err(rag_safe_filename(out, sizeof out, "dir\\", &err), &err, RAG_EFORMAT,
              "has no name after");
    check_err(rag_safe_filename(out, sizeof out, ".", &err), &err, RAG_EFORMAT,
              "ends in '.'");
    check_err(rag_safe_filename(out, sizeof out, "a/..", &err), &err, RAG_EFORMAT,
              "filename 'a/..' ends in '..'");
    check_err(rag_safe_filename(out, sizeof out, "a\x01" "b", &err), &err, RAG_EFORMAT,
              "control character U+0001");
    check_err(rag_safe_filename(out, sizeof out, "a\x7f", &err), &err, RAG_EFORMAT,
              "U+007F");
    check_err(rag_safe_filename(out, sizeof out, "a\xc2\x85", &err), &err, RAG_EFORMAT,
              "U+0085");
    check_err(rag_safe_filename(out, sizeof out, "\xe2\x80\xae" "fdp.exe", &err), &err,
              RAG_EFORMAT, "U+202E");
    check_err(rag_safe_filename(out, sizeof out, "x\xe2\x81\xa6", &err), &err, RAG_EFORMAT,
              "U+2066");
    check_err(rag_safe_filename(out, sizeof out, "a\xff.txt", &err), &err, RAG_EFORMAT,
              "not valid UTF-8 (at byte 1");
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    check_err(rag_safe_filename(out, sizeof out, big, &err), &err, RAG_ELIMIT,
              "longer than 255 bytes");
    big[RAG_FILENAME_MAX] = '\0';
    assert_int_equal(rag_safe_filename(out, sizeof out, big, &err), RAG_OK);
    assert_int_equal(strlen(out), RAG_FILENAME_MAX);
    check_err(rag_safe_filename(out, 4, "dir/abcd", &err), &err, RAG_ELIMIT,
              "does not fit in 4 bytes");
    assert_string_equal(out, "");
    check_err(rag_safe_filename(out, sizeof out, NULL, &err), &err, RAG_EINVAL, "none given");
}

/* ---- query strings ----------------------------------------------------- */

static rag_query *query_ok(const char *s)
{
    rag_query *q = NULL;
    rag_err err = {0};
    int rc = rag_query_parse(&q, s, NULL, &err);
    if (rc != RAG_OK)
        print_message("query parse failed: %s\n", err.msg);
    assert_int_equal(rc, RAG_OK);
    return q;
}

static void query_fails(const char *s, const rag_query_limits *lim, int code,
                        const char *needle)
{
    rag_query *q = (rag_query *)1;
    rag_err err = {0};
    check_err(rag_query_parse(&q, s, lim, &err), &err, code, needle);
    assert_null(q);
}

static void test_query__decodes_percent_and_plus(void **state)
{
    rag_query *q = query_ok("a=1&b=x%20y+z&c=%E2%82%AC%2b&d=a=b");
    const char *k, *v;
    (void)state;
    assert_int_equal(rag_query_count(q), 4);
    assert_string_equal(rag_query_get(q, "a"), "1");
    assert_string_equal(rag_query_get(q, "b"), "x y z");
    assert_string_equal(rag_query_get(q, "c"), "\xe2\x82\xac+");
    assert_string_equal(rag_query_get(q, "d"), "a=b");
    assert_null(rag_query_get(q, "e"));
    assert_null(rag_query_get(q, "A"));
    rag_query_at(q, 1, &k, &v);
    assert_string_equal(k, "b");
    assert_string_equal(v, "x y z");
    rag_query_destroy(q);
}

static void test_query__empty_pairs_skipped_and_bare_keys_are_empty(void **state)
{
    rag_query *q = query_ok("&&stream&b=&&my+key=%41&");
    (void)state;
    assert_int_equal(rag_query_count(q), 3);
    assert_string_equal(rag_query_get(q, "stream"), "");
    assert_string_equal(rag_query_get(q, "b"), "");
    assert_string_equal(rag_query_get(q, "my key"), "A");
    rag_query_destroy(q);
    q = query_ok(NULL);
    assert_int_equal(rag_query_count(q), 0);
    assert_null(rag_query_get(q, "a"));
    rag_query_destroy(q);
    q = query_ok("");
    assert_int_equal(rag_query_count(q), 0);
    rag_query_destroy(q);
}

static void test_query__rejects_bad_escapes_nul_utf8_controls_empty_and_repeats(void **state)
{
    (void)state;
    query_fails("a=%zz", NULL, RAG_EFORMAT, "invalid percent escape '%zz' at byte 2");
    query_fails("ab=1&c=%4", NULL, RAG_EFORMAT, "invalid percent escape '%4' at byte 7");
    query_fails("a=1%", NULL, RAG_EFORMAT, "invalid percent escape '%' at byte 3");
    query_fails("%g1=1", NULL, RAG_EFORMAT, "at byte 0");
    query_fails("a=x%00y", NULL, RAG_EFORMAT, "parameter 'a' value contains a NUL byte");
    query_fails("a%00=1", NULL, RAG_EFORMAT, "name contains a NUL byte");
    query_fails("a=%ff", NULL, RAG_EFORMAT, "parameter 'a' value is not valid UTF-8");
    query_fails("a=%C0%AF", NULL, RAG_EFORMAT, "not valid UTF-8"); /* overlong '/' */
    query_fails("a=\x01", NULL, RAG_EFORMAT, "control character 0x01 at byte 2");
    query_fails("a=1&=x", NULL, RAG_EFORMAT, "parameter 2 (at byte 4) has an empty name");
    query_fails("k=1&j=2&k=3", NULL, RAG_EFORMAT, "query: parameter 'k' repeated");
    query_fails("k=1&%6B=2", NULL, RAG_EFORMAT, "query: parameter 'k' repeated");
    query_fails("stream&stream=1", NULL, RAG_EFORMAT, "parameter 'stream' repeated");
}

static void test_query__limits_on_length_count_key_and_value(void **state)
{
    rag_query_limits lim = {.max_query_bytes = 10};
    rag_query *q;
    rag_err err = {0};
    (void)state;
    query_fails("a=123456789", &lim, RAG_ELIMIT, "query: longer than 10 bytes");
    assert_int_equal(rag_query_parse(&q, "a=12345678", &lim, &err), RAG_OK);
    rag_query_destroy(q);
    lim = (rag_query_limits){.max_params = 2};
    query_fails("a&b&c", &lim, RAG_ELIMIT, "query: more than 2 parameters");
    assert_int_equal(rag_query_parse(&q, "a&&b&", &lim, &err), RAG_OK);
    rag_query_destroy(q);
    lim = (rag_query_limits){.max_key_bytes = 3};
    query_fails("abcd=1", &lim, RAG_ELIMIT, "parameter 'abcd' name is longer than 3 bytes");
    assert_int_equal(rag_query_parse(&q, "%61bc=1", &lim, &err), RAG_OK); /* decoded: 3 */
    rag_query_destroy(q);
    lim = (rag_query_limits){.max_value_bytes = 4};
    query_fails("k=abcde", &lim, RAG_ELIMIT, "parameter 'k' value is longer than 4 bytes");
    assert_int_equal(rag_query_parse(&q, "k=%41%42%43%44", &lim, &err), RAG_OK);
    assert_string_equal(rag_query_get(q, "k"), "ABCD");
    rag_query_destroy(q);
}

static void test_query__int_parses_fully_and_checks_the_range(void **state)
{
    rag_query *q = query_ok("k=5&neg=-3&big=99999999999999999999&x=5x&e=1e3&sp=+5&hex=0x10"
                            "&empty=&bare&over=500&min=-&zero=0&lead=007");
    rag_err err = {0};
    long v = 42;
    (void)state;
    assert_int_equal(rag_query_int(q, "k", 1, 100, 10, &v, &err), RAG_OK);
    assert_int_equal(v, 5);
    assert_int_equal(rag_query_int(q, "missing", 1, 100, 10, &v, &err), RAG_OK);
    assert_int_equal(v, 10);
    assert_int_equal(rag_query_int(q, "neg", -5, 5, 0, &v, &err), RAG_OK);
    assert_int_equal(v, -3);
    assert_int_equal(rag_query_int(q, "zero", 0, 5, 1, &v, &err), RAG_OK);
    assert_int_equal(v, 0);
    assert_int_equal(rag_query_int(q, "lead", 0, 10, 1, &v, &err), RAG_OK);
    assert_int_equal(v, 7);
    v = 42;
    check_err(rag_query_int(q, "x", 1, 100, 10, &v, &err), &err, RAG_EFORMAT,
              "query: parameter 'x' must be an integer in 1..100, got '5x'");
    check_err(rag_query_int(q, "e", 1, 10000, 10, &v, &err), &err, RAG_EFORMAT, "got '1e3'");
    check_err(rag_query_int(q, "sp", 1, 100, 10, &v, &err), &err, RAG_EFORMAT, "got ' 5'");
    check_err(rag_query_int(q, "hex", 1, 100, 10, &v, &err), &err, RAG_EFORMAT, "got '0x10'");
    check_err(rag_query_int(q, "empty", 1, 100, 10, &v, &err), &err, RAG_EFORMAT, "got ''");
    check_err(rag_query_int(q, "bare", 1, 100, 10, &v, &err), &err, RAG_EFORMAT, "got ''");
    check_err(rag_query_int(q, "min", 1, 100, 10, &v, &err), &err, RAG_EFORMAT, "got '-'");
    check_err(rag_query_int(q, "over", 1, 100, 10, &v, &err), &err, RAG_ELIMIT,
              "query: parameter 'over' = 500 is out of range 1..100");
    check_err(rag_query_int(q, "neg", 0, 100, 10, &v, &err), &err, RAG_ELIMIT,
              "'neg' = -3 is out of range 0..100");
    check_err(rag_query_int(q, "big", LONG_MIN, LONG_MAX, 10, &v, &err), &err, RAG_ELIMIT,
              "= 99999999999999999999 is out of range");
    assert_int_equal(v, 42); /* untouched on error */
    rag_query_destroy(q);
}

static void test_query__bool_words_bare_key_and_errors(void **state)
{
    rag_query *q = query_ok("a=true&b=YES&c=on&d=1&e=False&f=no&g=OFF&h=0&bare&i=maybe&j=");
    rag_err err = {0};
    static const char *const t[] = {"a", "b", "c", "d", "bare"};
    static const char *const f[] = {"e", "f", "g", "h"};
    int v;
    (void)state;
    for (size_t i = 0; i < 5; i++) {
        v = 0;
        assert_int_equal(rag_query_bool(q, t[i], 0, &v, &err), RAG_OK);
        assert_int_equal(v, 1);
    }
    for (size_t i = 0; i < 4; i++) {
        v = 1;
        assert_int_equal(rag_query_bool(q, f[i], 1, &v, &err), RAG_OK);
        assert_int_equal(v, 0);
    }
    assert_int_equal(rag_query_bool(q, "missing", 1, &v, &err), RAG_OK);
    assert_int_equal(v, 1);
    check_err(rag_query_bool(q, "i", 0, &v, &err), &err, RAG_EFORMAT,
              "query: parameter 'i' must be true or false, got 'maybe'");
    check_err(rag_query_bool(q, "j", 0, &v, &err), &err, RAG_EFORMAT, "got ''");
    rag_query_destroy(q);
}

static void test_query__check_known_names_the_stray_parameter(void **state)
{
    static const char *const known[] = {"k", "mode", "stream", NULL};
    rag_query *q = query_ok("k=1&stream");
    rag_err err = {0};
    (void)state;
    assert_int_equal(rag_query_check_known(q, known, &err), RAG_OK);
    rag_query_destroy(q);
    q = query_ok("k=1&kk=2");
    check_err(rag_query_check_known(q, known, &err), &err, RAG_EFORMAT,
              "query: unknown parameter 'kk' (known: k, mode, stream)");
    rag_query_destroy(q);
}

static void test_query__out_of_memory(void **state)
{
    rag_query *q = (rag_query *)1;
    rag_err err = {0};
    int rc;
    (void)state;
    ts_fail_alloc_after(0);
    rc = rag_query_parse(&q, "a=1", NULL, &err);
    ts_fail_alloc_after(-1);
    check_err(rc, &err, RAG_ENOMEM, "query: out of memory");
    assert_null(q);
}

/* ---- paths and ids ----------------------------------------------------- */

static rag_span span(const char *s)
{
    rag_span sp = {s, strlen(s)};
    return sp;
}

static rag_path *path_ok(const char *s)
{
    rag_path *p = NULL;
    rag_err err = {0};
    int rc = rag_path_split(&p, s, NULL, &err);
    if (rc != RAG_OK)
        print_message("path split failed: %s\n", err.msg);
    assert_int_equal(rc, RAG_OK);
    return p;
}

static void path_fails(const char *s, const rag_path_limits *lim, int code,
                       const char *needle)
{
    rag_path *p = (rag_path *)1;
    rag_err err = {0};
    check_err(rag_path_split(&p, s, lim, &err), &err, code, needle);
    assert_null(p);
}

static void test_path__splits_and_decodes_segments(void **state)
{
    rag_path *p = path_ok("/v1/documents/12/pages/3.png");
    (void)state;
    assert_int_equal(p->n_segs, 5);
    assert_string_equal(p->segs[0], "v1");
    assert_string_equal(p->segs[1], "documents");
    assert_string_equal(p->segs[2], "12");
    assert_string_equal(p->segs[3], "pages");
    assert_string_equal(p->segs[4], "3.png");
    assert_int_equal(p->trailing_slash, 0);
    rag_path_destroy(p);
    p = path_ok("/a%20b/c+d/%E2%82%AC/..a/.b");
    assert_int_equal(p->n_segs, 5);
    assert_string_equal(p->segs[0], "a b");
    assert_string_equal(p->segs[1], "c+d");
    assert_string_equal(p->segs[2], "\xe2\x82\xac");
    assert_string_equal(p->segs[3], "..a");
    assert_string_equal(p->segs[4], ".b");
    rag_path_destroy(p);
    p = path_ok("/");
    assert_int_equal(p->n_segs, 0);
    assert_int_equal(p->trailing_slash, 0);
    rag_path_destroy(p);
    p = path_ok("/v1/models/");
    assert_int_equal(p->n_segs, 2);
    assert_string_equal(p->segs[1], "models");
    assert_int_equal(p->trailing_slash, 1);
    rag_path_destroy(p);
}

static void test_path__rejects_traversal_empty_encoded_slash_and_junk(void **state)
{
    (void)state;
    path_fails("", NULL, RAG_EFORMAT, "does not start with '/'");
    path_fails("v1/x", NULL, RAG_EFORMAT, "does not start with '/'");
    path_fails("//a", NULL, RAG_EFORMAT, "empty segment at byte 1 ('//')");
    path_fails("/a//b", NULL, RAG_EFORMAT, "empty segment at byte 3");
    path_fails("/a/./b", NULL, RAG_EFORMAT, "path: segment 2 is '.'");
    path_fails("/a/../b", NULL, RAG_EFORMAT, "path: segment 2 is '..'");
    path_fails("/a/%2e%2E/b", NULL, RAG_EFORMAT, "segment 2 is '..'");
    path_fails("/%2E", NULL, RAG_EFORMAT, "segment 1 is '.'");
    path_fails("/..", NULL, RAG_EFORMAT, "segment 1 is '..'");
    path_fails("/docs/a%2Fb", NULL, RAG_EFORMAT, "segment 2 has an encoded '/' (%2F)");
    path_fails("/a%2fb", NULL, RAG_EFORMAT, "encoded '/'");
    path_fails("/a%00", NULL, RAG_EFORMAT, "segment 1 contains a NUL byte (%00)");
    path_fails("/a%0a", NULL, RAG_EFORMAT, "segment 1 has control character 0x0a");
    path_fails("/ab/c%zz", NULL, RAG_EFORMAT, "invalid percent escape '%zz' at byte 5");
    path_fails("/a%f", NULL, RAG_EFORMAT, "invalid percent escape '%f' at byte 2");
    path_fails("/a%ff", NULL, RAG_EFORMAT, "segment 1 'a\\xff' is not valid UTF-8");
    path_fails("/a?x=1", NULL, RAG_EFORMAT, "'?' at byte 2");
    path_fails("/a#x", NULL, RAG_EFORMAT, "'#' at byte 2");
    path_fails("/a\tb", NULL, RAG_EFORMAT, "control character 0x09 at byte 2");
}

static void test_path__limits_on_length_and_segments(void **state)
{
    rag_path_limits lim = {.max_path_bytes = 8, .max_segments = 3};
    rag_path *p;
    rag_err err = {0};
    (void)state;
    path_fails("/abcdefgh", &lim, RAG_ELIMIT, "path: longer than 8 bytes");
    path_fails("/a/b/c/d", &lim, RAG_ELIMIT, "path: more than 3 segments");
    assert_int_equal(rag_path_split(&p, "/a/b/c/", &lim, &err), RAG_OK);
    assert_int_equal(p->n_segs, 3);
    rag_path_destroy(p);
    check_err(rag_path_split(&p, NULL, NULL, &err), &err, RAG_EINVAL, "none given");
}

static void test_path__match_routes_with_captures_and_suffixes(void **state)
{
    rag_path *p = path_ok("/v1/documents/7/pages/3.png");
    rag_span caps[2] = {{"untouched", 9}, {NULL, 0}};
    rag_err err = {0};
    int64_t id;
    (void)state;
    /* the plain route also matches "3.png": the id parse then refuses it */
    assert_int_equal(rag_path_match(p, "/v1/documents/{id}/pages/{n}", caps, 2), 1);
    assert_int_equal(caps[1].n, 5);
    check_err(rag_parse_id(caps[1], &id, &err), &err, RAG_EFORMAT,
              "id '3.png' is not a positive decimal number");
    assert_int_equal(rag_path_match(p, "/v1/documents/{id}/pages/{n}.png", caps, 2), 1);
    assert_int_equal(caps[0].n, 1);
    assert_memory_equal(caps[0].s, "7", 1);
    assert_int_equal(caps[1].n, 1);
    assert_memory_equal(caps[1].s, "3", 1);
    assert_int_equal(rag_parse_id(caps[1], &id, &err), RAG_OK);
    assert_int_equal(id, 3);

    caps[0] = span("untouched");
    assert_int_equal(rag_path_match(p, "/v1/documents/{id}/pages/{n}.jpg", caps, 2), 0);
    assert_int_equal(rag_path_match(p, "/v1/documents/{id}/pages", caps, 2), 0);
    assert_int_equal(rag_path_match(p, "/v1/documents/{id}/pages/{n}.png/x", caps, 2), 0);
    assert_int_equal(rag_path_match(p, "/v1/documents/{id}/pages/{n}.png/", caps, 2), 0);
    assert_int_equal(rag_path_match(p, "/v1/Documents/{id}/pages/{n}.png", caps, 2), 0);
    assert_int_equal(rag_path_match(p, "/v1/documents/{id}/pages/{n}.png", caps, 1), 0);
    assert_string_equal(caps[0].s, "untouched"); /* only written on a match */
    rag_path_destroy(p);

    p = path_ok("/v1/documents/7/pages/.png");
    assert_int_equal(rag_path_match(p, "/v1/documents/{id}/pages/{n}.png", caps, 2), 0);
    rag_path_destroy(p);
    p = path_ok("/v1/models/");
    assert_int_equal(rag_path_match(p, "/v1/models", NULL, 0), 0);
    assert_int_equal(rag_path_match(p, "/v1/models/", NULL, 0), 1);
    rag_path_destroy(p);
    p = path_ok("/");
    assert_int_equal(rag_path_match(p, "/", NULL, 0), 1);
    assert_int_equal(rag_path_match(p, "/v1", NULL, 0), 0);
    rag_path_destroy(p);
}

static void test_parse_id__strict_positive_decimal(void **state)
{
    static const char *const bad[] = {"0", "-1", "+1", "1x", " 1", "1 ", "0x1F", "1e3", ""};
    rag_err err = {0};
    int64_t id = -7;
    (void)state;
    assert_int_equal(rag_parse_id(span("1"), &id, &err), RAG_OK);
    assert_int_equal(id, 1);
    assert_int_equal(rag_parse_id(span("9223372036854775807"), &id, &err), RAG_OK);
    assert_true(id == INT64_MAX);
    id = -7;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(rag_parse_id(span(bad[i]), &id, &err), RAG_EFORMAT);
    check_err(rag_parse_id(span("007"), &id, &err), &err, RAG_EFORMAT,
              "id '007' has a leading zero");
    check_err(rag_parse_id(span(""), &id, &err), &err, RAG_EFORMAT, "id is empty");
    check_err(rag_parse_id(span("9223372036854775808"), &id, &err), &err, RAG_ELIMIT,
              "is larger than 9223372036854775807");
    assert_true(id == -7);
}

/* ---- Range ------------------------------------------------------------- */

static void range_is(const char *h, uint64_t size, rag_range_kind kind, uint64_t first,
                     uint64_t last)
{
    rag_range r;
    rag_err err = {0};
    int rc = rag_range_parse(&r, h, size, &err);
    if (rc != RAG_OK || r.kind != kind || r.first != first || r.last != last)
        print_message("Range '%s' size %llu: rc %d kind %d %llu-%llu (%s)\n", h ? h : "(null)",
                      (unsigned long long)size, rc, r.kind, (unsigned long long)r.first,
                      (unsigned long long)r.last, err.msg);
    assert_int_equal(rc, RAG_OK);
    assert_int_equal(r.kind, kind);
    assert_true(r.first == first && r.last == last);
}

static void test_range__single_ranges_are_clipped_to_the_size(void **state)
{
    (void)state;
    range_is(NULL, 1000, RAG_RANGE_NONE, 0, 0);
    range_is("bytes=0-499", 1000, RAG_RANGE_SINGLE, 0, 499);
    range_is("bytes=500-", 1000, RAG_RANGE_SINGLE, 500, 999);
    range_is("bytes=-200", 1000, RAG_RANGE_SINGLE, 800, 999);
    range_is("bytes=-2000", 1000, RAG_RANGE_SINGLE, 0, 999);
    range_is("bytes=900-5000", 1000, RAG_RANGE_SINGLE, 900, 999);
    range_is("bytes=0-0", 1000, RAG_RANGE_SINGLE, 0, 0);
    range_is("bytes=999-999", 1000, RAG_RANGE_SINGLE, 999, 999);
    range_is("Bytes=1-2", 1000, RAG_RANGE_SINGLE, 1, 2);
    range_is(" bytes=1-2 , ,", 1000, RAG_RANGE_SINGLE, 1, 2);
    range_is("bytes=0-99999999999999999999999", 1000, RAG_RANGE_SINGLE, 0, 999);
    range_is("bytes=-99999999999999999999999", 1000, RAG_RANGE_SINGLE, 0, 999);
    range_is("bytes=0-", UINT64_MAX, RAG_RANGE_SINGLE, 0, UINT64_MAX - 1);
}

static void test_range__unsatisfiable_and_unsupported(void **state)
{
    (void)state;
    range_is("bytes=1000-", 1000, RAG_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=1000-2000", 1000, RAG_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=-0", 1000, RAG_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=99999999999999999999999-", 1000, RAG_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=0-", 0, RAG_RANGE_UNSATISFIABLE, 0, 0);
    range_is("bytes=-5", 0, RAG_RANGE_NONE, 0, 0);
    range_is("bytes=0-1,5-6", 1000, RAG_RANGE_UNSUPPORTED, 0, 0);
    range_is("bytes=2000-, -0, 0-1", 1000, RAG_RANGE_UNSUPPORTED, 0, 0);
    range_is("bytes=2000-,3000-3001", 1000, RAG_RANGE_UNSATISFIABLE, 0, 0);
    range_is("items=0-1", 1000, RAG_RANGE_UNSUPPORTED, 0, 0);
}

static void test_range__malformed_values_are_format_errors(void **state)
{
    static const struct {
        const char *h, *needle;
    } bad[] = {
        {"bytes=", "lists no range"},
        {"bytes=,", "lists no range"},
        {"bytes=5-2", "last byte 2 is before first byte 5"},
        {"bytes=abc", "expected first-last or -suffix at byte 6"},
        {"bytes=1-2x", "unexpected 'x' at byte 9"},
        {"bytes=1-2;3-4", "unexpected ';3-4'"},
        {"bytes 1-2", "expected 'bytes=' at byte 5"},
        {"=1-2", "expected 'bytes=' at byte 0"},
        {"bytes=--1", "no suffix length at byte 7"},
        {"bytes=-", "no suffix length"},
        {"bytes=1", "expected first-last"},
        {"bytes=1-2,x", "expected first-last"},
        {"", "expected 'bytes='"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rag_range r = {RAG_RANGE_SINGLE, 1, 2};
        rag_err err = {0};
        check_err(rag_range_parse(&r, bad[i].h, 1000, &err), &err, RAG_EFORMAT,
                  bad[i].needle);
        assert_int_equal(r.kind, RAG_RANGE_NONE);
    }
}

/* ---- Accept-Encoding --------------------------------------------------- */

static void test_accepts_gzip__listed_starred_and_q_zero(void **state)
{
    static const char *const yes[] = {
        "gzip", "gzip, deflate, br", "deflate;q=0.5, gzip;q=0.1", "x-gzip", "GZIP;Q=0.5",
        "*", "*;q=0, gzip", "br;q=1, gzip;q=0.001", "gzip;q=1.000", " gzip ; q=1 ",
        "gzip;level=\"a,b\";q=1",
    };
    static const char *const no[] = {
        "deflate", "", "gzip;q=0", "gzip; q=0.000", "*;q=0", "gzip;q=0, *", "identity",
        "gzip;q=1.001", "gzip;q=abc", "gzip;q=0.0001", "gzip;q=\"1\"", "deflate;foo=\"a,gzip\"",
        "gzip;q=0, gzip", "gzip;;q", "gzipx",
    };
    (void)state;
    assert_int_equal(rag_accepts_gzip(NULL), 0);
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (rag_accepts_gzip(yes[i]) != 1)
            print_message("should accept gzip: '%s'\n", yes[i]);
        assert_int_equal(rag_accepts_gzip(yes[i]), 1);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        if (rag_accepts_gzip(no[i]) != 0)
            print_message("should refuse gzip: '%s'\n", no[i]);
        assert_int_equal(rag_accepts_gzip(no[i]), 0);
    }
}

/* ---- API keys ---------------------------------------------------------- */

static void key_is(const char *x_api_key, const char *authorization, const char *want)
{
    rag_span k;
    rag_err err = {0};
    int rc = rag_auth_key(&k, x_api_key, authorization, &err);
    if (rc != RAG_OK)
        print_message("auth failed: %s\n", err.msg);
    assert_int_equal(rc, RAG_OK);
    assert_int_equal(k.n, strlen(want));
    assert_memory_equal(k.s, want, k.n);
}

static void test_auth__bearer_or_x_api_key(void **state)
{
    (void)state;
    key_is(NULL, "Bearer abc.DEF-123_~+/=", "abc.DEF-123_~+/=");
    key_is(NULL, "bearer k", "k");
    key_is(NULL, "BEARER   k!@#$%^&*()", "k!@#$%^&*()");
    key_is(NULL, "  Bearer k  ", "k");
    key_is(" sekrit ", NULL, "sekrit");
    /* X-API-Key wins: a private HF Space's proxy fills Authorization */
    key_is("sekrit", "Bearer hf_proxytoken", "sekrit");
    key_is("sekrit", "Basic dXNlcjpwYXNz", "sekrit");
}

static void test_auth__errors_never_quote_the_key(void **state)
{
    static const struct {
        const char *x, *auth;
        int code;
        const char *needle;
    } bad[] = {
        {NULL, NULL, RAG_ENOTFOUND, "auth: no API key"},
        {NULL, "Basic c2VjcmV0", RAG_EFORMAT, "scheme 'Basic' is not supported"},
        {NULL, "Verylongschemenamec2VjcmV0 x", RAG_EFORMAT, "Authorization is not 'Bearer"},
        {NULL, "c2VjcmV0", RAG_EFORMAT, "Authorization is not 'Bearer KEY'"},
        {NULL, "", RAG_EFORMAT, "Authorization has no scheme"},
        {NULL, "Bearer", RAG_EFORMAT, "'Bearer' has no key"},
        {NULL, "Bearer   ", RAG_EFORMAT, "'Bearer' has no key"},
        {NULL, "Bearer\tsecret", RAG_EFORMAT, "must be followed by a space"},
        {NULL, "Bearer:secret", RAG_EFORMAT, "must be followed by a space"},
        {NULL, "Bearer sec ret", RAG_EFORMAT, "Bearer key has a space at byte 3"},
        {NULL, "Bearer sec\x01ret", RAG_EFORMAT, "other than visible ASCII at byte 3"},
        {NULL, "Bearer s\xc3\xa9" "cret", RAG_EFORMAT, "other than visible ASCII at byte 1"},
        {"", "Bearer secret", RAG_EFORMAT, "X-API-Key is empty"},
        {"sec ret", NULL, RAG_EFORMAT, "X-API-Key has a space"},
        {"sec\tret", NULL, RAG_EFORMAT, "X-API-Key has a character other than visible ASCII"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rag_span k = {"x", 1};
        rag_err err = {0};
        check_err(rag_auth_key(&k, bad[i].x, bad[i].auth, &err), &err, bad[i].code,
                  bad[i].needle);
        assert_null(k.s);
        assert_null(strstr(err.msg, "secret"));
        assert_null(strstr(err.msg, "sec"));
        assert_null(strstr(err.msg, "c2VjcmV0"));
    }
}

static void test_auth__overlong_key_is_a_limit_error(void **state)
{
    char big[4098];
    rag_span k;
    rag_err err = {0};
    (void)state;
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    check_err(rag_auth_key(&k, big, NULL, &err), &err, RAG_ELIMIT, "longer than 4096 bytes");
    big[4096] = '\0';
    assert_int_equal(rag_auth_key(&k, big, NULL, &err), RAG_OK);
    assert_int_equal(k.n, 4096);
}

static void test_ct_equal__equal_only_for_same_bytes_and_length(void **state)
{
    (void)state;
    assert_int_equal(rag_ct_equal("secret", 6, "secret", 6), 1);
    assert_int_equal(rag_ct_equal("secret", 6, "Secret", 6), 0);
    assert_int_equal(rag_ct_equal("secret", 6, "secreT", 6), 0);
    assert_int_equal(rag_ct_equal("secret", 6, "secre", 5), 0);
    assert_int_equal(rag_ct_equal("secret", 6, "secretx", 7), 0);
    /* a guess padded with NULs is still not equal */
    assert_int_equal(rag_ct_equal("ab", 2, "ab\0", 3), 0);
    assert_int_equal(rag_ct_equal("a\0b", 3, "a\0c", 3), 0);
    assert_int_equal(rag_ct_equal("a\0b", 3, "a\0b", 3), 1);
    assert_int_equal(rag_ct_equal("", 0, "", 0), 1);
    assert_int_equal(rag_ct_equal("", 0, "x", 1), 0);
    assert_int_equal(rag_ct_equal("x", 1, NULL, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundary__token_quoted_and_case_insensitive),
        cmocka_unit_test(test_boundary__rejects_wrong_type_missing_repeated_and_bad_values),
        cmocka_unit_test(test_multipart__browser_form_gives_fields_and_zero_copy_file),
        cmocka_unit_test(test_multipart__preamble_padding_and_epilogue_are_skipped),
        cmocka_unit_test(test_multipart__close_delimiter_alone_is_zero_parts),
        cmocka_unit_test(test_multipart__empty_data_and_headers_only_parts),
        cmocka_unit_test(test_multipart__filenames_quoted_escaped_rfc5987_and_stripped),
        cmocka_unit_test(test_multipart__part_names_are_decoded_and_kept_exactly),
        cmocka_unit_test(test_multipart__structure_errors_name_the_part_and_place),
        cmocka_unit_test(test_multipart__header_syntax_errors),
        cmocka_unit_test(test_multipart__bad_filenames_fail_the_parse),
        cmocka_unit_test(test_multipart__limits_on_parts_and_header_bytes),
        cmocka_unit_test(test_multipart__a_line_starting_with_the_boundary_ends_the_part),
        cmocka_unit_test(test_multipart__bad_boundary_argument_is_invalid),
        cmocka_unit_test(test_multipart__out_of_memory_at_every_allocation),
        cmocka_unit_test(test_safe_filename__keeps_only_the_last_component),
        cmocka_unit_test(test_safe_filename__rejects_empty_dots_controls_and_overrides),
        cmocka_unit_test(test_query__decodes_percent_and_plus),
        cmocka_unit_test(test_query__empty_pairs_skipped_and_bare_keys_are_empty),
        cmocka_unit_test(test_query__rejects_bad_escapes_nul_utf8_controls_empty_and_repeats),
        cmocka_unit_test(test_query__limits_on_length_count_key_and_value),
        cmocka_unit_test(test_query__int_parses_fully_and_checks_the_range),
        cmocka_unit_test(test_query__bool_words_bare_key_and_errors),
        cmocka_unit_test(test_query__check_known_names_the_stray_parameter),
        cmocka_unit_test(test_query__out_of_memory),
        cmocka_unit_test(test_path__splits_and_decodes_segments),
        cmocka_unit_test(test_path__rejects_traversal_empty_encoded_slash_and_junk),
        cmocka_unit_test(test_path__limits_on_length_and_segments),
        cmocka_unit_test(test_path__match_routes_with_captures_and_suffixes),
        cmocka_unit_test(test_parse_id__strict_positive_decimal),
        cmocka_unit_test(test_range__single_ranges_are_clipped_to_the_size),
        cmocka_unit_test(test_range__unsatisfiable_and_unsupported),
        cmocka_unit_test(test_range__malformed_values_are_format_errors),
        cmocka_unit_test(test_accepts_gzip__listed_starred_and_q_zero),
        cmocka_unit_test(test_auth__bearer_or_x_api_key),
        cmocka_unit_test(test_auth__errors_never_quote_the_key),
        cmocka_unit_test(test_auth__overlong_key_is_a_limit_error),
        cmocka_unit_test(test_ct_equal__equal_only_for_same_bytes_and_length),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
