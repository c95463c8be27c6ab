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
#include <stdio.h>

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
/* s as a terminal may show it (docrag_visible: control characters and
 * bytes that are not UTF-8 escaped), in buf; for every file name, path,
 * title or section printed as text. Returns buf. */
#define CLI_NAME_BYTES 1024
const char *cli_name(char buf[CLI_NAME_BYTES], const char *s);
/* A result's or citation's document as text output shows it: "Title,
 * version V (file.pdf)", or the file name alone when the title is it. */
const char *cli_doc_label(char buf[CLI_NAME_BYTES], const json_t *o);

/* ---- options ---------------------------------------------------------------
 *
 * Every command parses its argv with cli_args: options may come before and
 * after the positional arguments, "--opt=value" is "--opt value", "--" ends
 * the options (what follows is positional, "-mcause" included), and "-"
 * alone is a positional argument (commands read it as "stdin"). -h/--help
 * prints the command's help on stdout. Errors print "docrag: CMD: what is
 * wrong" and the usage line on stderr; the command then exits 2. */
typedef struct {
    const char *name;    /* "--mode" or "-k" */
    const char *alias;   /* another spelling ("--k"), or NULL */
    const char *value;   /* the value's name ("N"); NULL: a flag without one */
    const char *help;    /* what it does, and its default */
} cli_opt;

typedef struct {
    const char *name;     /* the command: "search", "models pull" */
    const char *usage;    /* "docrag search [options] QUERY..." (lines joined by \n) */
    const char *about;    /* what the command does (lines joined by \n) */
    const cli_opt *opts;  /* the command's own options, ending with {NULL} */
    const char *example;  /* example command lines (joined by \n) */
    int common;           /* 1: takes the common options (--db ... -v) */
} cli_help;

typedef struct {
    const cli_help *help;
    int argc;
    char **argv;
    int i;                /* the next argv index */
    int only_pos;         /* after "--" */
    const char *opt;      /* the option as written, for messages */
    const char *value;    /* its value, or the positional argument */
    char opt_buf[64];     /* the "--opt" of "--opt=value" */
} cli_args;

enum {
    CLI_ARGS_END = -1,    /* no more arguments */
    CLI_ARGS_POS = -2,    /* a positional argument, in value */
    CLI_ARGS_HELP = -3,   /* help printed on stdout: exit 0 */
    CLI_ARGS_BAD = -4     /* an error printed on stderr: exit 2 */
};

/* Iterate argv[1..argc) (argv[0] is the command's name). */
void cli_args_init(cli_args *a, const cli_help *h, int argc, char **argv);
/* The index in h->opts of the next option (its value in a->value), or a
 * CLI_ARGS_* code. */
int cli_args_next(cli_args *a);
/* The exit status for CLI_ARGS_HELP (0) and CLI_ARGS_BAD (2). */
int cli_args_exit(int code);
/* Print the command's help on f. */
void cli_help_print(const cli_help *h, FILE *f);
/* Print "docrag: NAME: <message>" and the usage line on stderr; returns 2. */
int cli_bad(const cli_help *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Parse text strictly as a decimal integer in [lo, hi] (no sign other than
 * a leading '-', no spaces, no suffix, no overflow) into *out; otherwise
 * print "docrag: NAME: FLAG 'text': expected an integer from lo to hi"
 * and return 2. h may be NULL. */
int cli_parse_int(const cli_help *h, const char *flag, const char *text, long lo, long hi,
                  int *out);
/* The value of the current option of a as an integer (cli_parse_int). */
int cli_args_int(cli_args *a, long lo, long hi, int *out);
/* The question or query into *out: the positional arguments joined with
 * spaces, or, for a single "-", all of stdin without its trailing newlines
 * (at most CLI_STDIN_MAX bytes). Caller frees *out with free(). Returns 0;
 * 2 (printed) when there is none or stdin holds none; 1 (printed) when
 * stdin is too long or cannot be read, or memory ran out. */
#define CLI_STDIN_MAX (1 << 20)
int cli_text_arg(char **out, const cli_help *h, char **pos, int n_pos);

/* Common flags every command accepts, pulled out of argv in place:
 * --db F, --config F, --profile P, --set key=value (repeatable), -q/-v.
 * They fill `engine` (docrag_engine_opts); a command adds its own scope,
 * read_only and settings before cli_open. --set has no fixed cap: the
 * settings live in one process-wide array (the process has one cli_common). */
typedef struct {
    docrag_engine_opts engine;
    const char **sets;   /* the user's, then the command's */
} cli_common;

/* argv/argc are compacted to what is left ("--" and what follows it stay).
 * Returns 0, or 2 on a usage error (printed). */
int cli_common_parse(cli_common *c, int *argc, char **argv);
/* Append a "key=value" setting of the command's own (after the user's
 * --set flags, so it wins). kv is borrowed until cli_open. Returns 0, or 1
 * (printed) when out of memory. */
int cli_common_set(cli_common *c, const char *kv);
/* The common options' help lines, for a command that prints its own help. */
extern const char cli_common_help[];
/* Open the engine with the common flags, and a session on it when s is
 * not NULL. Prints errors; returns 0 or 1 (nothing to close then). */
int cli_open(docrag_engine **e, docrag_session **s, cli_common *c);
/* --doc GLOB before a search: 0 when some indexed document's base name (as
 * results show it) or path matches; otherwise 1, with an error naming the
 * glob and a few of the names there are (printed). */
int cli_doc_check(docrag_session *s, const cli_help *h, const char *glob);
/* Close both (NULL is a no-op). */
void cli_close(docrag_engine *e, docrag_session *s);

/* A report command with no argument but --json (docrag stats, docrag docs):
 * parse argv (the common options and --json, option index 0 of h), open the
 * index read-only, call the API's report call and print its JSON (--json)
 * or print_text of it. Returns the exit status. */
typedef int (*cli_report_call)(docrag_session *s, char **json, docrag_error *err);
int cli_report(int argc, char **argv, const cli_help *h, cli_report_call call,
               void (*print_text)(const json_t *o));

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
