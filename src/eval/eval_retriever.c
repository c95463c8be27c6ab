/* eval_retriever.c - the embedding pass and retriever behind `docrag eval
 * --mode dense|hybrid|hybrid+rerank`, shared by the BEIR and QA paths.
 *
 * Eval indexes into its own (often temporary) index, so unlike `docrag
 * search` it must run the embedding pass itself before dense search can
 * find vectors.
 */
#include "eval_int.h"

#include "retrieve/graph.h"

#include <stdio.h>
#include <string.h>

void eval_notice_add(char *notice, size_t n_notice, const char *text)
{
    size_t used = strlen(notice);
    if (!text[0] || strstr(notice, text))
        return;
    snprintf(notice + used, n_notice - used, "%s%s", used ? "; " : "", text);
}

int eval_retriever_open(rag_retriever **out, rag_index *ix, const rag_config *cfg,
                        rag_search_mode mode, int rerank, rag_embed_report *rep,
                        char *notice, size_t n_notice, rag_err *err)
{
    rag_embedder *e = NULL;
    rag_err berr = {0};
    int rc;

    *out = NULL;
    if (rep)
        memset(rep, 0, sizeof *rep);
    if (!cfg || (mode == RAG_MODE_BM25 && !rerank))
        return RAG_OK;
    if (mode != RAG_MODE_BM25) {
        /* A chain that cannot be built is left to rag_retriever_open,
         * which records why dense search is unavailable. */
        rc = rag_embedder_chain_create(&e, cfg, NULL, NULL, &berr);
        if (rc == RAG_ENOMEM)
            return rag_fail(err, rc, "%s", berr.msg);
        if (rc == RAG_OK && e) {
            rag_embed_index_opts eo = rag_embed_index_opts_from_config(cfg);
            rag_embed_report local;
            rc = rag_embed_index(ix, e, &eo, rep ? rep : &local, err);
            rag_embedder_destroy(e);
            if (rc < 0)
                return rc;
        }
    }
    if (mode == RAG_MODE_HYBRID && cfg->search_graph_boost > 0) {
        /* graph-boosted fusion needs the chunk graph of this index */
        rag_graph_report g_rep;
        if ((rc = rag_graph_build(ix, NULL, &g_rep, err)) < 0)
            return rc;
    }
    rc = rag_retriever_open(out, ix, cfg, mode, NULL, err);
    if (rc < 0)
        return rc;
    if (rerank && !rag_retriever_has_rerank(*out)) {
        char msg[200];
        snprintf(msg, sizeof msg, "+rerank needs a reranker (chains.rerank, "
                 "search.rerank_top_n > 0) and none is available; ranking without rerank");
        eval_notice_add(notice, n_notice, msg);
    }
    return RAG_OK;
}
