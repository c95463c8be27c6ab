/* cmd_ask.c - docrag ask [--json] [--stream] QUESTION
 *
 * retrieve (BM25) -> off-topic gate -> extractive answer with citations.
 */
#include "cli.h"
#include "generate/generate.h"
#include "retrieve/retrieve.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char usage[] = "docrag ask [--db F] [--json] [--stream] QUESTION";

typedef struct {
    double search, gate, answer, total;
} ask_timings;

static json_t *answer_json(const char *question, const rag_answer *a,
                           const ask_timings *t)
{
    json_t *cites = json_array();
    for (size_t i = 0; cites && i < a->n_citations; i++) {
        const rag_citation *c = &a->citations[i];
        json_array_append_new(cites, json_pack(
            "{s:i,s:I,s:s,s:i,s:i,s:s}", "n", c->n, "chunk_id", (json_int_t)c->chunk_id,
            "doc", c->doc, "page_start", c->page_start, "page_end", c->page_end,
            "section", c->section));
    }
    return json_pack("{s:s,s:s,s:o,s:f,s:b,s:s,s:{s:f,s:f,s:f,s:f}}", "question",
                     question, "answer", a->answer, "citations", cites, "confidence",
                     a->confidence, "refused", a->refused, "backend", a->backend,
                     "timings_ms", "search", t->search, "gate", t->gate, "answer",
                     t->answer, "total", t->total);
}

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
    rag_analyzer *an = NULL;
    rag_hits hits = {0};
    rag_qterms q = {0};
    rag_answer ans = {0};
    rag_err err = {0};
    ask_timings t = {0};
    char *question = NULL;
    int json = 0, first = argc, rc = 1, have_answer = 0;
    double t0 = rag_now_ms(), t1, cov = 0;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--stream"))
            continue; /* extractive answers arrive whole */
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
    question = cli_join_args(argc, argv, first);
    if (!question || cli_open_index(&ix, cfg, 1))
        goto done;
    if (rag_analyzer_create(&an, &err) < 0)
        goto fail;
    {
        rag_search_opts so = {RAG_MODE_BM25, (size_t)cfg->answer_context_chunks};
        if (rag_search(&hits, ix, an, question, &so, &err) < 0)
            goto fail;
    }
    t1 = rag_now_ms();
    t.search = t1 - t0;
    if (rag_qterms_build(&q, ix, an, question, &err) < 0)
        goto fail;
    {
        rag_gate_opts go = rag_gate_default_opts();
        int relevant = rag_gate_check(&q, an, &hits, &go, &cov, &err);
        if (relevant < 0)
            goto fail;
        t.gate = rag_now_ms() - t1;
        t1 = rag_now_ms();
        if (relevant) {
            rag_extractive_opts eo = rag_extractive_default_opts();
            eo.max_sentences = cfg->answer_max_sentences;
            eo.context_chunks = (size_t)cfg->answer_context_chunks;
            if (rag_answer_extractive(&ans, ix, an, &q, &hits, &eo, &err) < 0)
                goto fail;
        } else if (rag_answer_refuse(&ans, cov * 0.5, &err) < 0) {
            goto fail;
        }
        have_answer = 1;
    }
    t.answer = rag_now_ms() - t1;
    t.total = rag_now_ms() - t0;
    if (json) {
        json_t *o = answer_json(question, &ans, &t);
        if (o) {
            json_dumpf(o, stdout, JSON_COMPACT | JSON_REAL_PRECISION(6));
            fputc('\n', stdout);
            json_decref(o);
        }
    } else {
        print_text(&ans);
    }
    rc = 0;
    goto done;
fail:
    cli_error(&err);
done:
    if (have_answer)
        rag_answer_fini(&ans);
    rag_qterms_fini(&q);
    rag_hits_fini(&hits);
    rag_analyzer_destroy(an);
    rag_index_close(ix);
    rag_config_destroy(cfg);
    rag_free(question);
    return rc;
}
