/* cli_query.h - the options `docrag search` and `docrag ask` share:
 * -k, --mode, --doc, --pages, --no-rerank, --prefer-newest.
 *
 * Each command's option table starts with CLI_QUERY_OPTS(k_help), so those
 * options have the indexes CLI_Q_K .. CLI_Q_PREFER_NEWEST in both; the
 * command's own options follow from CLI_Q_N. The command hands every option
 * index below CLI_Q_N to cli_query_opt, then calls cli_query_text for the
 * query and cli_query_open to open the engine and check --doc.
 */
#ifndef RAG_CLI_QUERY_H
#define RAG_CLI_QUERY_H

#include "cli.h"

enum { CLI_Q_K, CLI_Q_MODE, CLI_Q_DOC, CLI_Q_PAGES, CLI_Q_NO_RERANK, CLI_Q_PREFER_NEWEST, CLI_Q_N };

#define CLI_QUERY_OPTS(k_help)                                                                 \
    {"-k", "--k", "N", k_help},                                                                \
    {"--mode", NULL, "M", "bm25, dense or hybrid (default: search.mode, bm25)"},               \
    {"--doc", NULL, "GLOB", "only documents whose base name (as shown) or path matches"},      \
    {"--pages", NULL, "A-B", "only chunks on pages A-B, A- (from A on) or A"},                 \
    {"--no-rerank", NULL, NULL, "skip the rerank stage (default: as configured)"},             \
    {"--prefer-newest", NULL, NULL, "near-duplicate passages of several versions of one text\n" \
                                    "collapse to the newest (search.prefer_newest)"}

typedef struct {
    cli_common common;
    const cli_help *help;
    docrag_search_opts *so;   /* the command's: filled by the options */
    const char *mode;         /* --mode, or NULL */
    char mode_set[64];        /* "search.mode=M", borrowed by common until open */
} cli_query;

/* Parse the common options out of argv (cli_common_parse) and set q up for
 * so. Returns 0, or 2 (printed). */
int cli_query_init(cli_query *q, const cli_help *h, docrag_search_opts *so, int *argc,
                   char **argv);
/* Take option opt (< CLI_Q_N) of ar. Returns 0, or the exit status of a bad
 * value (printed). */
int cli_query_opt(cli_query *q, cli_args *ar, int opt);
/* After the options: check --mode, take the query text from the n_pos
 * positionals (cli_text_arg: "-" reads stdin) into *text (free()), and set
 * the mode as a setting, so the engine loads that mode's stages only.
 * Returns 0, or the exit status (printed; *text is NULL then). */
int cli_query_text(cli_query *q, char **pos, int n_pos, char **text);
/* Open the engine and a session (cli_open), then check --doc against the
 * index (cli_doc_check). Returns 0, or 1 (printed; nothing to close). */
int cli_query_open(cli_query *q, docrag_engine **e, docrag_session **s);

#endif
