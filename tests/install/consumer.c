/* consumer.c - a program built against an installed docrag with nothing but
 * `pkg-config --cflags --libs docrag` (tests/integration/install_pkgconfig.sh).
 *
 * usage: consumer DIR VERSION
 * Writes DIR/wombat.txt, indexes it into DIR/consumer.db, searches it, asks
 * about it, and checks docrag_version() against VERSION (the installed
 * docrag.pc's). Prints one "ok - " line per check; exits 1 at the first
 * mismatch, naming it. Only include/docrag.h is used, so the results are
 * read from the JSON text with strstr rather than a JSON library.
 */
#include <docrag.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORD "wombat"

static int n_checks;

static void check(int ok, const char *what, const char *detail)
{
    if (!ok) {
        fprintf(stderr, "consumer: FAIL - %s%s%s\n", what, detail ? ": " : "",
                detail ? detail : "");
        exit(1);
    }
    n_checks++;
    printf("ok - %s\n", what);
}

/* The integer after "key": in compact or spaced JSON; -1 when absent. */
static long json_long(const char *json, const char *key)
{
    char pat[64];
    const char *p;

    snprintf(pat, sizeof pat, "\"%s\"", key);
    p = strstr(json, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    while (*p == ' ' || *p == ':')
        p++;
    return strtol(p, NULL, 10);
}

static int write_doc(const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fputs("Installing docrag\n\n"
          "The " WORD " is a short-legged marsupial native to Australia. "
          "A " WORD " digs burrows with its claws and rodent-like front teeth.\n\n"
          "Unrelated paragraph: shared libraries export a versioned soname so that "
          "programs built against one release keep working with the next.\n",
          f);
    return fclose(f);
}

static int open_engine(docrag_engine **e, const char *db, docrag_error *err)
{
    docrag_engine_opts o;
    docrag_engine_opts_init(&o);
    o.db_path = db;
    o.quiet = 1;
    return docrag_engine_open(e, &o, err);
}

int main(int argc, char **argv)
{
    char doc[4096], db[4096];
    const char *paths[1];
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_search_opts so;
    docrag_error err;
    char *json = NULL;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: consumer DIR VERSION\n");
        return 2;
    }
    snprintf(doc, sizeof doc, "%s/" WORD ".txt", argv[1]);
    snprintf(db, sizeof db, "%s/consumer.db", argv[1]);
    check(write_doc(doc) == 0, "wrote the text file", doc);

    check(strcmp(docrag_version(), argv[2]) == 0,
          "docrag_version() is the installed docrag.pc's Version", docrag_version());
    check(docrag_status_name(-4) && *docrag_status_name(-4),
          "docrag_status_name names a status", NULL);

    memset(&err, 0, sizeof err);
    rc = open_engine(&e, "/nonexistent-dir/x.db", &err);
    check(rc < 0 && e == NULL && err.code == rc && strstr(err.msg, "/nonexistent-dir/x.db"),
          "docrag_engine_open in a missing folder fails and names the path", err.msg);

    memset(&err, 0, sizeof err);
    rc = open_engine(&e, db, &err);
    check(rc == 0 && e != NULL, "docrag_engine_open creates the database", err.msg);
    rc = docrag_session_open(&s, e, &err);
    check(rc == 0 && s != NULL, "docrag_session_open", err.msg);

    paths[0] = doc;
    rc = docrag_index(s, paths, 1, NULL, &json, &err);
    check(rc == 0 && json, "docrag_index succeeds", err.msg);
    check(json_long(json, "files") == 1 && json_long(json, "added") == 1 &&
              json_long(json, "failed") == 0 && json_long(json, "chunks") >= 1,
          "index report: 1 file added, none failed, chunks >= 1", json);
    docrag_free(json);
    json = NULL;

    rc = docrag_index(s, paths, 1, NULL, &json, &err);
    check(rc == 0 && json && json_long(json, "unchanged") == 1 &&
              json_long(json, "added") == 0,
          "indexing it again finds it unchanged", json ? json : err.msg);
    docrag_free(json);
    json = NULL;

    docrag_search_opts_init(&so);
    so.k = 3;
    rc = docrag_search(s, WORD, &so, &json, &err);
    check(rc == 0 && json, "docrag_search succeeds", err.msg);
    check(json_long(json, "rank") == 1 && strstr(json, WORD ".txt") &&
              strstr(json, "marsupial"),
          "search: rank 1 is the indexed file's chunk with the word", json);
    docrag_free(json);
    json = NULL;

    rc = docrag_search(s, "zyzzyva", &so, &json, &err);
    check(rc == 0 && json && !strstr(json, "\"rank\""),
          "search for an absent word returns no results", json ? json : err.msg);
    docrag_free(json);
    json = NULL;

    rc = docrag_ask(s, "What does a " WORD " dig with?", NULL, &json, &err);
    check(rc == 0 && json && strstr(json, "\"answer\"") && strstr(json, "\"citations\""),
          "docrag_ask returns an answer with citations", json ? json : err.msg);
    docrag_free(json);

    docrag_session_close(s);
    docrag_engine_close(e);
    docrag_engine_close(NULL);
    printf("consumer: %d checks passed\n", n_checks);
    return 0;
}
