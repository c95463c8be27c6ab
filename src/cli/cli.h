/* cli.h - the docrag command line: one file per subcommand (cmd_*.c).
 *
 * Each command gets argv starting at its own name and returns the process
 * exit status: 0 success, 1 failure (message already printed), 2 usage.
 */
#ifndef RAG_CLI_H
#define RAG_CLI_H

#include "config/config.h"
#include "core/core.h"
#include "index/index.h"
#include "retrieve/retrieve.h"

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
int cmd_config(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_rerank(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_check(int argc, char **argv);

/* Print "docrag: <msg>" for err to stderr; returns 1. */
int cli_error(const rag_err *err);
/* Print a usage line for a command to stderr; returns 2. */
int cli_usage(const char *usage);
/* s as a terminal may show it (docrag_visible: control characters and
 * bytes that are not UTF-8 escaped), in buf; for every file name, path,
 * title or section printed as text. Returns buf. */
#define CLI_NAME_BYTES 1024
const char *cli_name(char buf[CLI_NAME_BYTES], const char *s);

/* Common flags every command accepts, pulled out of argv in place:
 * --db F, --config F, --profile P, --set key=value (repeatable), -q/-v.
 * argv/argc are compacted to what is left. Returns 0, or 2 on a usage
 * error (printed). */
typedef struct {
    const char *db;
    rag_config_source src;
    const char *sets[32];
    int verbosity_set;        /* -q or -v given: log_level is not applied */
} cli_common;
int cli_common_parse(cli_common *c, int *argc, char **argv);
/* Load the config with the common flags applied; prints errors. */
int cli_load_config(rag_config **out, cli_common *c);

/* Open the index named by the config (read-only for queries). Prints
 * errors; returns 0 or 1. */
int cli_open_index(rag_index **out, const rag_config *cfg, int read_only);
/* Join argv[from..argc) with spaces into a new string (caller frees). */
char *cli_join_args(int argc, char **argv, int from);
/* --mode NAME (bm25, dense, hybrid) into *mode; prints the error and
 * returns 2 for an unknown name, else 0. */
int cli_search_mode(const char *name, rag_search_mode *mode);

#endif
