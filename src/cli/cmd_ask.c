/* cmd_ask.c - docrag ask [--mode bm25|dense|hybrid] [--json] [--stream] QUESTION
 *
 * One docrag_ask: retrieve (search.mode or --mode, then the rerank stage
 * if configured) -> off-topic gate -> answer from the LLM chain
 * (chains.llm, e.g. [hf_router, ollama, extractive]) with citations. The
 * engine is read-only for the documents but records usage and cost in the
 * index file (write_usage), so budgets hold from one run to the next.
 * --stream prints the answer as it is generated, then the sources; in that
 * mode the sources carry the numbers the model wrote ("n_given": the
 * streamed text cannot be renumbered after the fact). If a back-end fails
 * midway, a notice line says so and the next back-end's answer follows.
 * With --json the answer is printed whole (--stream has no effect).
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "docrag ask [--db F] [--mode bm25|dense|hybrid] [--prefer-newest] [--json] [--stream] "
    "QUESTION";

static int stream_delta(void *ctx, const char *text, size_t n)
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

static void print_text(const json_t *a, int streamed)
{
    const json_t *cites = json_object_get(a, "citations"), *c, *dropped, *d;
    const char *notice = cli_str(a, "notice"), *model = cli_str(a, "model");
    size_t i;

    if (!streamed)
        printf("%s\n", cli_str(a, "answer"));
    else
        putchar('\n');
    if (json_array_size(cites))
        printf("\nSources:\n");
    json_array_foreach(cites, i, c) {
        const char *section = cli_str(c, "section");
        long long p0 = cli_int(c, "page_start"), p1 = cli_int(c, "page_end");
        char nb[CLI_NAME_BYTES], sb[CLI_NAME_BYTES];
        printf("  [%lld] %s, p. %lld", cli_int(c, streamed ? "n_given" : "n"),
               cli_doc_label(nb, c), p0);
        if (p1 != p0)
            printf("-%lld", p1);
        if (section[0])
            printf(", %s", cli_name(sb, section));
        putchar('\n');
    }
    dropped = json_object_get(a, "dropped_citations");
    if (json_array_size(dropped)) {
        printf("\n(dropped citations to chunks that were not given:");
        json_array_foreach(dropped, i, d)
            printf(" [%lld]", (long long)json_integer_value(d));
        printf(")\n");
    }
    if (notice[0])
        printf("\nnotice: %s\n", notice);
    printf("\nconfidence %.2f, answered by %s", cli_num(a, "confidence"),
           cli_str(a, "backend"));
    if (model[0])
        printf(" (%s)", model);
    putchar('\n');
}

int cmd_ask(int argc, char **argv)
{
    cli_common common;
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_ask_opts ao;
    docrag_stream st;
    docrag_error err;
    char *question = NULL, *out = NULL, mode_set[64];
    const char *mode = NULL;
    json_t *a = NULL;
    int json = 0, stream = 0, first = argc, rc = 1;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--prefer-newest")) {
            if (cli_common_set(&common, "search.prefer_newest=true"))
                return 2;
            continue;
        }
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
    if (mode && !cli_mode_known(mode)) {
        fprintf(stderr, "docrag: unknown search mode '%s' (bm25, dense, hybrid)\n", mode);
        return 2;
    }
    snprintf(mode_set, sizeof mode_set, "search.mode=%s", mode ? mode : "");
    if (mode && cli_common_set(&common, mode_set))
        return 2;
    common.engine.read_only = 1;
    common.engine.write_usage = 1;
    common.engine.single_mode = 1;
    docrag_ask_opts_init(&ao);
    if (stream && !json) {
        memset(&st, 0, sizeof st);
        st.on_delta = stream_delta;
        st.on_abandon = stream_abandon;
        ao.stream = &st;
    }
    if (!(question = cli_join_args(argc, argv, first))) {
        fprintf(stderr, "docrag: out of memory\n");
        return 1;
    }
    if (cli_open(&e, &s, &common))
        goto done;
    if (docrag_ask(s, question, &ao, &out, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    if (!(a = cli_json(out)))
        goto done;
    if (cli_str(a, "search_notice")[0])
        fprintf(stderr, "docrag: notice: %s\n", cli_str(a, "search_notice"));
    if (json) {
        rc = cli_print_json(out);
        out = NULL;
    } else {
        print_text(a, ao.stream != NULL);
        rc = fflush(stdout) != 0;
    }
done:
    json_decref(a);
    docrag_free(out);
    cli_close(e, s);
    free(question);
    return rc;
}
