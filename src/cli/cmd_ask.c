/* cmd_ask.c - docrag ask [--json] [--stream] QUESTION
 *
 * retrieve (search.mode or --mode: bm25, dense or hybrid, then the rerank
 * stage if configured) -> off-topic gate -> answer from the LLM chain
 * (chains.llm, e.g. [hf_router, ollama, extractive]) with citations.
 * --stream prints the answer as it is generated, then the sources; in that
 * mode the sources carry the numbers the model wrote (the streamed text
 * cannot be renumbered after the fact). If a back-end fails midway, a
 * notice line says so and the next back-end's answer follows. With --json
 * the answer is printed whole (--stream has no effect).
 */
#include "api/render.h"
#include "cli.h"
#include "generate/generate.h"
#include "llm/llm.h"
#include "obs/obs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "docrag ask [--db F] [--mode bm25|dense|hybrid] [--json] [--stream] QUESTION";

static int stream_token(void *ctx, const char *text, size_t n)
{
    (void)ctx;
    fwrite(text, 1, n, stdout);
    fflush(stdout);
    return 0;
}

static void stream_abandon(void *ctx, const char *backend, const char *why)
{
    (void)ctx;
    printf("\n\n[%s failed mid-answer: %s -- the text above is discarded; "
           "answering again with the next back-end]\n\n", backend, why);
    fflush(stdout);
}

static void print_text(const rag_answer *a, int streamed)
{
    if (!streamed)
        printf("%s\n", a->answer);
    else
        putchar('\n');
    if (a->n_citations)
        printf("\nSources:\n");
    for (size_t i = 0; i < a->n_citations; i++) {
        const rag_citation *c = &a->citations[i];
        const char *base = strrchr(c->doc, '/');
        char name[CLI_NAME_BYTES];
        printf("  [%d] %s, p. %d", streamed ? c->n_given : c->n,
               cli_name(name, base ? base + 1 : c->doc), c->page_start);
        if (c->page_end != c->page_start)
            printf("-%d", c->page_end);
        if (c->section[0])
            printf(", %s", cli_name(name, c->section));
        putchar('\n');
    }
    if (a->n_dropped) {
        printf("\n(dropped citations to chunks that were not given:");
        for (size_t i = 0; i < a->n_dropped; i++)
            printf(" [%d]", a->dropped_citations[i]);
        printf(")\n");
    }
    if (a->notice)
        printf("\nnotice: %s\n", a->notice);
    printf("\nconfidence %.2f, answered by %s", a->confidence, a->backend);
    if (a->model)
        printf(" (%s)", a->model);
    putchar('\n');
}

int cmd_ask(int argc, char **argv)
{
    cli_common common;
    rag_config *cfg = NULL;
    rag_index *ix = NULL;
    rag_retriever *retriever = NULL;
    rag_llm_chain *chain = NULL;
    sqlite3 *usage_db = NULL;
    rag_usage *meter = NULL;
    rag_answer ans;
    rag_ask_timings t;
    rag_ask_opts opts;
    rag_err err = {0};
    char *question = NULL;
    const char *mode = NULL;
    int json = 0, stream = 0, first = argc, rc = 1;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--stream"))
            stream = 1;
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
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
    if (mode && cli_search_mode(mode, &opts.mode)) {
        rag_config_destroy(cfg);
        return 2;
    }
    question = cli_join_args(argc, argv, first);
    if (!question || cli_open_index(&ix, cfg, 1))
        goto done;
    if (rag_retriever_open(&retriever, ix, cfg, opts.mode, NULL, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    opts.retriever = retriever;
    if (rag_llm_chain_create(&chain, cfg, NULL, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    opts.llm = chain;
    /* Remote LLMs are metered: usage, cost and budgets persist in the
     * index file, through a connection of their own (the index itself is
     * opened read-only for asking). */
    if (!rag_llm_chain_extractive_only(chain)) {
        if (sqlite3_open_v2(cfg->db_path, &usage_db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
            fprintf(stderr, "docrag: %s: cannot record usage: %s\n", cfg->db_path,
                    usage_db ? sqlite3_errmsg(usage_db) : "out of memory");
            goto done;
        }
        sqlite3_busy_timeout(usage_db, 10000);
        if (rag_usage_open(&meter, usage_db, cfg, &err) < 0) {
            cli_error(&err);
            goto done;
        }
        opts.usage = meter;
    }
    if (stream && !json) {
        opts.stream.on_token = stream_token;
        opts.stream.on_abandon = stream_abandon;
    }
    if (rag_ask(&ans, &t, ix, question, &opts, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    if (t.search_notice[0])
        fprintf(stderr, "docrag: notice: %s\n", t.search_notice);
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
        print_text(&ans, stream);
        rc = 0;
    }
    rag_answer_fini(&ans);
done:
    rag_usage_close(meter);
    sqlite3_close(usage_db);
    rag_llm_chain_destroy(chain);
    rag_retriever_destroy(retriever);
    rag_index_close(ix);
    rag_config_destroy(cfg);
    rag_free(question);
    return rc;
}
