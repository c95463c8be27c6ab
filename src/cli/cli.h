/* cli.h - the docrag command line: one file per subcommand (cmd_*.c).
 *
 * The command line is a front end of the public API only (include/docrag.h,
 * as `docrag serve` is): each command opens one engine (and one session),
 * calls the API and prints what it returns. Results come back as JSON; the
 * text forms are built from that JSON (jansson).
 *
 * Each command gets argv starting at its own name and returns the process
 * exit status: 0 success, 1 failure (message already printed), 2 usage.
 */
#ifndef RAG_CLI_H
#define RAG_CLI_H

#include "docrag.h"

#include <jansson.h>
#include <stddef.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_command;

int cmd_index(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_docs(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_rerank(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_mcp(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* Print "docrag: <msg>" for err to stderr; returns 1. */
int cli_error(const docrag_error *err);
/* Print a usage line for a command to stderr; returns 2. */
int cli_usage(const char *usage);
/* s as a terminal may show it (docrag_visible: control characters and
 * bytes that are not UTF-8 escaped), in buf; for every file name, path,
 * title or section printed as text. Returns buf. */
#define CLI_NAME_BYTES 1024
const char *cli_name(char buf[CLI_NAME_BYTES], const char *s);
/* A result's or citation's document as text output shows it: "Title,
 * version V (file.pdf)", or the file name alone when the title is it. */
const char *cli_doc_label(char buf[CLI_NAME_BYTES], const json_t *o);

#define CLI_MAX_SETS 32

/* Common flags every command accepts, pulled out of argv in place:
 * --db F, --config F, --profile P, --set key=value (repeatable), -q/-v.
 * They fill `engine` (docrag_engine_opts); a command adds its own scope,
 * read_only and settings before cli_open. */
typedef struct {
    docrag_engine_opts engine;
    const char *sets[CLI_MAX_SETS + 8];   /* the user's, then the command's */
} cli_common;

/* argv/argc are compacted to what is left. Returns 0, or 2 on a usage
 * error (printed). */
int cli_common_parse(cli_common *c, int *argc, char **argv);
/* Append a "key=value" setting of the command's own (after the user's
 * --set flags, so it wins). kv is borrowed until cli_open. Returns 0, or 2
 * (printed) when there are too many. */
int cli_common_set(cli_common *c, const char *kv);
/* Open the engine with the common flags, and a session on it when s is
 * not NULL. Prints errors; returns 0 or 1 (nothing to close then). */
int cli_open(docrag_engine **e, docrag_session **s, cli_common *c);
/* Close both (NULL is a no-op). */
void cli_close(docrag_engine *e, docrag_session *s);

/* Parse JSON text returned by the API (text stays the caller's). NULL
 * (printed) if text is NULL, not JSON, or memory ran out. */
json_t *cli_json(const char *text);
/* Print API JSON text on stdout with a newline and free it; returns 0, or
 * 1 if stdout failed. */
int cli_print_json(char *text);
/* JSON getters that tolerate missing keys: "" / 0 / 0.0. */
const char *cli_str(const json_t *o, const char *key);
long long cli_int(const json_t *o, const char *key);
double cli_num(const json_t *o, const char *key);

/* Join argv[from..argc) with spaces into a new string (caller frees with
 * free()); NULL when out of memory. */
char *cli_join_args(int argc, char **argv, int from);
/* 1 if name is a search mode (bm25, dense, hybrid). */
int cli_mode_known(const char *name);
/* The last path component ("a/b.pdf" -> "b.pdf"). */
const char *cli_base_name(const char *path);
/* The largest n' <= n that does not cut a UTF-8 sequence of s. */
size_t cli_utf8_floor(const char *s, size_t n);
/* Monotonic milliseconds. */
double cli_now_ms(void);

#endif
