/* cmd_ask.c - docrag ask [-k N] [--mode bm25|dense|hybrid] [--doc GLOB] [--pages A-B]
 * [--no-rerank] [--json] [--stream] QUESTION... (options anywhere; "-": stdin)
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
#include "cli_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = CLI_Q_N, OPT_STREAM };

static const cli_opt opts[] = {
    CLI_QUERY_OPTS("chunks given to the answer, 1..1000\n"
                   "(default: answer.context_chunks, 5)"),
    {"--json", NULL, NULL, "print the answer as JSON (docs/server.md, the JSON contract)"},
    {"--stream", NULL, NULL, "print the answer as it is generated (not with --json)"},
    {NULL, NULL, NULL, NULL},
};

static const cli_help help = {
    "ask",
    "docrag ask [options] QUESTION...   (QUESTION '-': read it from stdin)",
    "Answer QUESTION from the index with numbered citations: by the LLM chain\n"
    "(chains.llm), or extractively (quoted sentences) without one. Options may\n"
    "come before or after QUESTION; '--' ends them.",
    opts,
    "docrag ask \"What is RV32I?\" --json\n"
    "docrag ask --doc riscv-privileged.pdf --pages 20-40 \"What does mtvec.MODE select?\"\n"
    "docrag ask - < question.txt",
    1,
};

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

/* -v: what the off-topic gate saw, on stderr */
static void print_gate(const json_t *a)
{
    const json_t *g = json_object_get(a, "gate"), *v;
    size_t i;
    if (!json_is_object(g))
        return;
    fprintf(stderr, "docrag: gate: %s, coverage %.2f (threshold %.2f)",
            json_is_true(json_object_get(g, "relevant")) ? "relevant" : "refused",
            json_real_value(json_object_get(g, "coverage")),
            json_real_value(json_object_get(g, "threshold")));
    if (json_array_size(json_object_get(g, "missing"))) {
        fputs("; missing:", stderr);
        json_array_foreach(json_object_get(g, "missing"), i, v)
            fprintf(stderr, " %s", json_string_value(v));
    }
    if (json_array_size(json_object_get(g, "ignored"))) {
        fputs("; ignored:", stderr);
        json_array_foreach(json_object_get(g, "ignored"), i, v)
            fprintf(stderr, " %s", json_string_value(v));
    }
    if (json_array_size(json_object_get(g, "split"))) {
        fputs("; matched through parts:", stderr);
        json_array_foreach(json_object_get(g, "split"), i, v)
            fprintf(stderr, " %s", json_string_value(v));
    }
    json_array_foreach(json_object_get(g, "parts"), i, v)
        fprintf(stderr, "; part \"%s\" %.2f", json_string_value(json_object_get(v, "text")),
                json_real_value(json_object_get(v, "coverage")));
    if (json_string_value(json_object_get(g, "reason")))
        fprintf(stderr, "; %s", json_string_value(json_object_get(g, "reason")));
    fputc('\n', stderr);
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
    cli_query q;
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_ask_opts ao;
    docrag_stream st;
    docrag_error err;
    cli_args ar;
    char *question = NULL, *out = NULL;
    json_t *a = NULL;
    int json = 0, stream = 0, n_pos = 0, opt, rc;

    docrag_ask_opts_init(&ao);
    if (cli_query_init(&q, &help, &ao.search, &argc, argv))
        return 2;
    cli_args_init(&ar, &help, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt >= 0 && opt < CLI_Q_N) {
            if ((rc = cli_query_opt(&q, &ar, opt)))
                return rc;
        } else if (opt == OPT_JSON) {
            json = 1;
        } else if (opt == OPT_STREAM) {
            stream = 1;
        } else if (opt == CLI_ARGS_POS) {
            argv[n_pos++] = (char *)ar.value;   /* positionals, compacted in place */
        } else {
            return cli_args_exit(opt);
        }
    }
    if ((rc = cli_query_text(&q, argv, n_pos, &question)))
        return rc;
    rc = 1;
    q.common.engine.read_only = 1;
    q.common.engine.write_usage = 1;
    q.common.engine.single_mode = 1;
    if (stream && !json) {
        memset(&st, 0, sizeof st);
        st.on_delta = stream_delta;
        st.on_abandon = stream_abandon;
        ao.stream = &st;
    }
    if (cli_query_open(&q, &e, &s))
        goto done;
    if (docrag_ask(s, question, &ao, &out, &err) < 0) {
        rc = cli_error(&err) + (err.code == DOCRAG_EINVAL);   /* a bad option: 2 */
        goto done;
    }
    if (!(a = cli_json(out)))
        goto done;
    if (cli_str(a, "search_notice")[0] && !q.common.engine.quiet)   /* -q: errors only */
        fprintf(stderr, "docrag: notice: %s\n", cli_str(a, "search_notice"));
    if (q.common.engine.verbose) {
        fprintf(stderr, "docrag: debug: ask: mode %s, %zu citations, confidence %.2f, by %s, "
                "%.1f ms\n", cli_str(a, "mode"), json_array_size(json_object_get(a, "citations")),
                cli_num(a, "confidence"), cli_str(a, "backend"),
                cli_num(json_object_get(a, "timings_ms"), "total"));
        print_gate(a);
    }
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
