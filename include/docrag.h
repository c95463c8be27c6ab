/* docrag.h - the public C API of docrag: index documents, search them and
 * answer questions with citations.
 *
 * Results come back as JSON text in the shapes of the command-line
 * contract (`docrag search --json`, `docrag ask --json`), so bindings need
 * no struct layouts. Every function returning int returns 0 on success or
 * a negative docrag status code and fills *err (err may be NULL).
 *
 * Thread safety: a docrag handle is used by one thread at a time; open one
 * handle per thread (each has its own SQLite connection).
 */
#ifndef DOCRAG_H
#define DOCRAG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct docrag docrag;

typedef struct {
    int code;       /* 0, or a negative status (see docrag_status_name) */
    char msg[256];  /* names the file, key or endpoint involved */
} docrag_error;

/* Open the index at db_path (NULL: the configured database) with the
 * configuration file config_path (NULL: $DOCRAG_CONFIG, ./docrag.yaml or
 * profile defaults). The database is created if missing. Caller owns
 * *out; close with docrag_close. */
int docrag_open(docrag **out, const char *db_path, const char *config_path,
                docrag_error *err);
void docrag_close(docrag *d);   /* NULL is a no-op */

/* Index files and folders incrementally. *report_json (may be NULL) gets
 * {"files","added","updated","unchanged","removed","failed","chunks",
 * "pages","seconds","errors":[...]}; free with docrag_free. */
int docrag_index(docrag *d, const char *const *paths, size_t n_paths,
                 char **report_json, docrag_error *err);

/* Top k chunks for query (k <= 0: the configured default). */
int docrag_search(docrag *d, const char *query, int k, char **results_json,
                  docrag_error *err);

/* Answer a question. Refusals are answers ("refused": true). */
int docrag_ask(docrag *d, const char *question, char **answer_json,
               docrag_error *err);

void docrag_free(char *s);
const char *docrag_status_name(int code);
const char *docrag_version(void);

#ifdef __cplusplus
}
#endif

#endif
