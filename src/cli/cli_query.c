/* cli_query.c - the options search and ask share (cli_query.h). */
#include "cli_query.h"

#include <stdio.h>
#include <stdlib.h>

int cli_query_init(cli_query *q, const cli_help *h, docrag_search_opts *so, int *argc,
                   char **argv)
{
    q->help = h;
    q->so = so;
    q->mode = NULL;
    q->mode_set[0] = '\0';
    return cli_common_parse(&q->common, argc, argv) ? 2 : 0;
}

int cli_query_opt(cli_query *q, cli_args *ar, int opt)
{
    char nb[CLI_NAME_BYTES];

    switch (opt) {
    case CLI_Q_K:
        return cli_args_int(ar, 1, DOCRAG_K_MAX, &q->so->k);
    case CLI_Q_MODE:
        q->mode = ar->value;
        return 0;
    case CLI_Q_DOC:
        q->so->doc = ar->value;
        return 0;
    case CLI_Q_PAGES:
        if (docrag_parse_pages(ar->value, &q->so->page_min, &q->so->page_max) != DOCRAG_OK)
            return cli_bad(q->help, "--pages '%s': expected A-B, A- or A (1-based pages, "
                           "A <= B)", cli_name(nb, ar->value));
        return 0;
    case CLI_Q_NO_RERANK:
        q->so->rerank = 0;
        return 0;
    case CLI_Q_PREFER_NEWEST:
        return cli_common_set(&q->common, "search.prefer_newest=true");
    default:
        return cli_bad(q->help, "option %d is not a query option", opt);
    }
}

int cli_query_text(cli_query *q, char **pos, int n_pos, char **text)
{
    char nb[CLI_NAME_BYTES];
    int rc;

    *text = NULL;
    if (q->mode && !cli_mode_known(q->mode))
        return cli_bad(q->help, "--mode '%s': expected bm25, dense or hybrid",
                       cli_name(nb, q->mode));
    if ((rc = cli_text_arg(text, q->help, pos, n_pos)))
        return rc;
    if (q->mode) {
        snprintf(q->mode_set, sizeof q->mode_set, "search.mode=%s", q->mode);
        if (cli_common_set(&q->common, q->mode_set)) {
            free(*text);
            *text = NULL;
            return 1;
        }
    }
    return 0;
}

int cli_query_open(cli_query *q, docrag_engine **e, docrag_session **s)
{
    if (cli_open(e, s, &q->common))
        return 1;
    if (q->so->doc && cli_doc_check(*s, q->help, q->so->doc)) {
        cli_close(*e, *s);
        *e = NULL;
        *s = NULL;
        return 1;
    }
    return 0;
}
