/* test_api.c - the public API end to end on a temporary database. */
#include "test_support.h"

#include "docrag.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void test_api__index_search_ask_round_trip(void **state)
{
    char *dir = ts_tmpdir("api");
    char *db = rag_asprintf("%s/t.db", dir);
    char *doc = rag_asprintf("%s/notes.md", dir);
    const char *text =
        "# Vector unit\n\nThe vector length register vl holds the number of "
        "elements to process.\n\n## Masks\n\nMask register v0 controls which "
        "elements are active.\n";
    const char *paths[1];
    docrag *d = NULL;
    docrag_error err;
    char *out = NULL;
    json_t *o;
    (void)state;

    ts_write_file(doc, text, strlen(text));
    paths[0] = doc;
    assert_int_equal(docrag_open(&d, db, NULL, &err), 0);
    assert_int_equal(docrag_index(d, paths, 1, &out, &err), 0);
    o = json_loads(out, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "added")), 1);
    json_decref(o);
    docrag_free(out);

    assert_int_equal(docrag_search(d, "mask register", 3, &out, &err), 0);
    o = json_loads(out, 0, NULL);
    assert_non_null(o);
    assert_true(json_array_size(json_object_get(o, "results")) >= 1);
    assert_non_null(strstr(json_string_value(json_object_get(
        json_array_get(json_object_get(o, "results"), 0), "text")), "v0"));
    json_decref(o);
    docrag_free(out);

    assert_int_equal(docrag_ask(d, "Which register holds the vector length?", &out, &err), 0);
    o = json_loads(out, 0, NULL);
    assert_false(json_is_true(json_object_get(o, "refused")));
    assert_non_null(strstr(json_string_value(json_object_get(o, "answer")), "vl"));
    json_decref(o);
    docrag_free(out);

    assert_int_equal(docrag_ask(d, "Who won the football world cup?", &out, &err), 0);
    o = json_loads(out, 0, NULL);
    assert_true(json_is_true(json_object_get(o, "refused")));
    json_decref(o);
    docrag_free(out);
    docrag_close(d);
    rag_free(db);
    rag_free(doc);
    rag_free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api__index_search_ask_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
