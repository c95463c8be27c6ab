/* cmd_ask.c - docrag ask [--json] [--stream] QUESTION
 *
 * retrieve (BM25) -> off-topic gate -> extractive answer with citations.
 * Extractive answers arrive whole, so --stream prints them at once.
 */
#include "api/render.h"
#include "cli.h"
#include "generate/generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] = "docrag ask [--db F] [--json] [--stream] QUESTION";

static void print_text(const rag_answer *a)
{
    printf("%s\n", a->answer);
    if (a->n_citations)
        printf("\nSources:\n");
    for (size_t i = 0; i < a->n_citations; i++) {
        const rag_citation *c = &a->citations[i];
        const char *base = strrchr(c->doc, '/');
        printf("  [%d] %s, p. %d", c->n, base ? base + 1 : c->doc, c->page_start);
        if (c->page_end != c->page_start)
            printf("-%d", c->page_end);
        if (c->section[0])
            printf(", %s", c->section);
        putchar('\n');
    }
    printf("\nconfidence %.2f, answered by %s\n", a->confidence, a->backend);
}

int cmd_ask(int argc, char **argv)
{
    cli_common common;
    rag_config *cfg = NULL;
    rag_index *ix = NULL;
    rag_answer ans;
    rag_ask_timings t;
    rag_ask_opts opts;
    rag_err err = {0};
    char *question = NULL;
    int json = 0, first = argc, rc = 1;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--stream"))
            continue;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_usage(usage);
        else {
            first = i;
            break;
        }
    }
    if (first >= argc)
        return cli_usage(usage);
    if (cli_load_config(&cfg, &common))
        return 1;
    opts = rag_ask_opts_from_config(cfg);
    question = cli_join_args(argc, argv, first);
    if (!question || cli_open_index(&ix, cfg, 1))
        goto done;
    if (rag_ask(&ans, &t, ix, question, &opts, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    if (json) {
        json_t *o = rag_render_answer(question, &ans, &t);
        char *text = o ? rag_render_dump(o) : NULL;
        json_decref(o);
        if (text) {
            printf("%s\n", text);
            free(text);
            rc = 0;
        } else {
            fprintf(stderr, "docrag: out of memory\n");
        }
    } else {
        print_text(&ans);
        rc = 0;
    }
    rag_answer_fini(&ans);
done:
    rag_index_close(ix);
    rag_config_destroy(cfg);
    rag_free(question);
    return rc;
}
