/* retriever.c - building the retriever: embedder chain, vectors of its
 * model, reranker chain (retrieve.h).
 *
 * Every piece that is missing leaves a reason instead of an error, because
 * BM25 always works: a search asked for dense or hybrid then runs BM25 and
 * says why once. The reasons are the ones a user can act on: no embedder
 * in chains.embed, a local model folder that is not there, no vectors of
 * the embedder's model in the index, vectors of another model.
 */
#include "retrieve_int.h"

#include "embed/embed_index.h"
#include "retrieve/graph.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

rag_retriever_params rag_retriever_params_from_config(const rag_config *cfg)
{
    rag_retriever_params p;
    memset(&p, 0, sizeof p);
    p.candidates = cfg->search_candidates > 0 ? (size_t)cfg->search_candidates : 50;
    p.fusion = cfg->search_fusion && !strcmp(cfg->search_fusion, "weighted")
                   ? RAG_FUSION_WEIGHTED : RAG_FUSION_RRF;
    p.rrf_k = cfg->search_rrf_k;
    p.dense_weight = cfg->search_dense_weight;
    p.graph_boost = cfg->search_graph_boost;
    p.prefer_newest = cfg->search_prefer_newest;
    p.rerank_top_n = cfg->search_rerank_top_n > 0 ? (size_t)cfg->search_rerank_top_n : 0;
    p.rerank_weight = cfg->search_rerank_weight;
    p.int8 = rag_embed_vector_opts(cfg).int8_only;   /* the default is int8, as for index */
    return p;
}

/* The vectors of the embedder's model, in the form embed.vectors asks
 * for; anything short of them leaves r->dense_reason (BM25 still works). */
static int load_vectors(rag_retriever *r, rag_err *err)
{
    rag_vector_opts vo = rag_vector_default_opts();
    rag_err lerr = {0};
    int rc;

    /* embed.vectors: int8 = int8 rows in memory, float32 re-scoring of the
     * error-bounded candidates read from the index (same results as f32) */
    vo.int8 = r->params.int8;
    vo.int8_only = r->params.int8;
    rc = rag_embed_load_vectors(&r->vectors, r->ix, rag_embedder_model_id(r->embedder), &vo,
                                &lerr);
    if (rc == RAG_ENOMEM)
        return rag_fail(err, rc, "%s", lerr.msg);
    if (rc < 0)
        snprintf(r->dense_reason, sizeof r->dense_reason, "%s", lerr.msg);
    else
        /* the stored vectors fix the dimension: a chain member of another
         * one then fails and the next is tried, instead of the first
         * member's answer deciding for all (a refusal here, from a local
         * model of another size, is reported by the dense stage) */
        (void)rag_embedder_set_dim(r->embedder, rag_vector_index_dim(r->vectors));
    return RAG_OK;
}

static int create(rag_retriever **out, rag_index *ix, const rag_retriever_params *params,
                  rag_embedder *embedder, rag_reranker *reranker, int shared,
                  rag_err *err)
{
    rag_retriever *r = rag_calloc(1, sizeof *r);
    int rc;

    *out = NULL;
    if (!r) {
        rag_embedder_destroy(embedder);
        rag_reranker_destroy(reranker);
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    }
    pthread_rwlock_init(&r->vec_lock, NULL);
    r->ix = ix;
    r->params = *params;
    r->shared = shared;
    r->embedder = embedder;
    r->reranker = reranker;
    if (!embedder)
        snprintf(r->dense_reason, sizeof r->dense_reason,
                 "needs an embedder and none is configured (chains.embed)");
    else if ((rc = load_vectors(r, err)) < 0) {
        rag_retriever_destroy(r);
        return rc;
    }
    if (!r->vectors && r->embedder && !r->shared) {
        /* nothing to search: do not keep a model in memory for nothing */
        rag_embedder_destroy(r->embedder);
        r->embedder = NULL;
    }
    *out = r;
    return RAG_OK;
}

int rag_retriever_create(rag_retriever **out, rag_index *ix,
                         const rag_retriever_params *params, rag_embedder *embedder,
                         rag_reranker *reranker, rag_err *err)
{
    return create(out, ix, params, embedder, reranker, 0, err);
}

/* A local member whose model folder is missing makes the chain fail to
 * build; name the folder, which is what the user has to fix. */
static int missing_local_folder(const rag_config *cfg, char *reason, size_t n_reason)
{
    for (size_t i = 0; i < cfg->n_chain_embed; i++) {
        const rag_backend_cfg *b = rag_config_backend(cfg, cfg->chain_embed[i]);
        struct stat sb;
        if (!strcmp(cfg->chain_embed[i], "none") || (b && b->type && !strcmp(b->type, "none")))
            break;
        if (!b || !b->type || strcmp(b->type, "local") || !b->model)
            continue;
        if (stat(b->model, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
            snprintf(reason, n_reason,
                     "needs an embedder: model folder %s not found (backends.%s.model)",
                     b->model, b->name);
            return 1;
        }
    }
    return 0;
}

static int graph_ppr(void *ctx, const int64_t *seeds, const double *seed_w, size_t n_seeds,
                     const int64_t *ids, size_t n_ids, double *out, rag_err *err)
{
    return rag_graph_ppr(ctx, seeds, seed_w, n_seeds, ids, n_ids, out, err);
}

/* Graph boosting needs the index's chunk graph (built by `docrag index`
 * when search.graph_boost > 0): load it, or record why it is off. */
static int open_graph(rag_retriever *r, rag_err *err)
{
    rag_err gerr = {0};
    int rc = rag_graph_load(&r->graph, r->ix, &gerr);
    if (rc == RAG_ENOMEM)
        return rag_fail(err, rc, "%s", gerr.msg);
    if (rc < 0)
        snprintf(r->graph_reason, sizeof r->graph_reason, "%s", gerr.msg);
    else if (!r->graph)
        snprintf(r->graph_reason, sizeof r->graph_reason,
                 "the index has no chunk graph: run `docrag index` with "
                 "search.graph_boost > 0");
    else
        rag_retriever_set_graph(r, graph_ppr, r->graph);
    return RAG_OK;
}

static int open_retriever(rag_retriever **out, rag_index *ix, const rag_config *cfg,
                          rag_search_mode mode, rag_usage *usage, int shared,
                          rag_err *err)
{
    rag_retriever_params p = rag_retriever_params_from_config(cfg);
    rag_embedder *emb = NULL;
    rag_reranker *rr = NULL;
    char dense_reason[256] = "", rerank_reason[256] = "";
    rag_err berr = {0};
    int rc;

    *out = NULL;
    if (mode == RAG_MODE_BM25) {
        snprintf(dense_reason, sizeof dense_reason,
                 "needs an embedder and none was loaded (the retriever was opened for bm25)");
    } else {
        if (!rag_config_chain_active(cfg, cfg->chain_embed, cfg->n_chain_embed)) {
            snprintf(dense_reason, sizeof dense_reason,
                     "needs an embedder and none is configured (chains.embed)");
        } else if (!missing_local_folder(cfg, dense_reason, sizeof dense_reason)) {
            rc = rag_embedder_chain_create(&emb, cfg, usage, NULL, &berr);
            if (rc == RAG_ENOMEM)
                return rag_fail(err, rc, "%s", berr.msg);
            if (rc < 0)
                snprintf(dense_reason, sizeof dense_reason, "needs an embedder: %s", berr.msg);
            else if (!emb)
                snprintf(dense_reason, sizeof dense_reason,
                         "needs an embedder and none is configured (chains.embed)");
        }
    }
    if (p.rerank_top_n > 0 && rag_config_chain_active(cfg, cfg->chain_rerank, cfg->n_chain_rerank)) {
        rc = rag_reranker_chain_create(&rr, cfg, usage, NULL, &berr);
        if (rc == RAG_ENOMEM) {
            rag_embedder_destroy(emb);
            return rag_fail(err, rc, "%s", berr.msg);
        }
        if (rc < 0)
            snprintf(rerank_reason, sizeof rerank_reason, "chains.rerank: %s", berr.msg);
    }
    if (shared) {
        /* one model copy for every thread: calls serialised per stage */
        rag_embedder *inner = emb;
        if (rag_embedder_locked_create(&emb, inner, err) < 0) {
            rag_reranker_destroy(rr);
            return RAG_ENOMEM;
        }
        if (rag_reranker_locked_create(&rr, rr, err) < 0) {
            rag_embedder_destroy(emb);
            return RAG_ENOMEM;
        }
    }
    rc = create(out, ix, &p, emb, rr, shared, err);
    if (rc < 0)
        return rc;
    if (dense_reason[0])
        memcpy((*out)->dense_reason, dense_reason, sizeof dense_reason);
    memcpy((*out)->rerank_reason, rerank_reason, sizeof rerank_reason);
    if (mode == RAG_MODE_HYBRID && p.graph_boost > 0 && (rc = open_graph(*out, err)) < 0) {
        rag_retriever_destroy(*out);
        *out = NULL;
        return rc;
    }
    return RAG_OK;
}

int rag_retriever_open(rag_retriever **out, rag_index *ix, const rag_config *cfg,
                       rag_search_mode mode, rag_usage *usage, rag_err *err)
{
    return open_retriever(out, ix, cfg, mode, usage, 0, err);
}

int rag_retriever_open_shared(rag_retriever **out, rag_index *ix, const rag_config *cfg,
                              rag_usage *usage, rag_err *err)
{
    return open_retriever(out, ix, cfg, RAG_MODE_HYBRID, usage, 1, err);
}

int rag_retriever_reload_vectors(rag_retriever *r, rag_err *err)
{
    rag_vector_opts vo = rag_vector_default_opts();
    rag_vector_index *vi = NULL, *old_vi;
    rag_index *vix = NULL, *old_vix;
    rag_err lerr = {0};
    char reason[256] = "";
    int rc;

    if (!r->embedder)
        return RAG_OK;   /* no dense stage to refresh */
    /* a connection of its own: the int8-only form reads the table while
     * it is searched, and the old index may still be in use meanwhile */
    rc = rag_index_open(&vix, rag_index_path(r->ix), RAG_INDEX_READ_ONLY, err);
    if (rc < 0)
        return rc;
    vo.int8 = r->params.int8;
    vo.int8_only = r->params.int8;
    rc = rag_embed_load_vectors(&vi, vix, rag_embedder_model_id(r->embedder), &vo, &lerr);
    if (rc == RAG_ENOMEM) {
        rag_index_close(vix);
        return rag_fail(err, rc, "%s", lerr.msg);
    }
    if (rc < 0) {
        snprintf(reason, sizeof reason, "%s", lerr.msg);
        rag_index_close(vix);
        vix = NULL;
        vi = NULL;
    }
    pthread_rwlock_wrlock(&r->vec_lock);
    old_vi = r->vectors;
    old_vix = r->vec_ix;
    r->vectors = vi;
    r->vec_ix = vix;
    memcpy(r->dense_reason, reason, sizeof reason);
    pthread_rwlock_unlock(&r->vec_lock);
    rag_vector_index_destroy(old_vi);
    rag_index_close(old_vix);
    return RAG_OK;
}

size_t rag_retriever_n_vectors(rag_retriever *r)
{
    size_t n;
    if (!r)
        return 0;
    pthread_rwlock_rdlock(&r->vec_lock);
    n = r->vectors ? rag_vector_index_count(r->vectors) : 0;
    pthread_rwlock_unlock(&r->vec_lock);
    return n;
}

rag_embedder *rag_retriever_embedder(rag_retriever *r)
{
    return r ? r->embedder : NULL;
}

rag_reranker *rag_retriever_reranker(rag_retriever *r)
{
    return r ? r->reranker : NULL;
}

void rag_retriever_destroy(rag_retriever *r)
{
    if (!r)
        return;
    rag_graph_destroy(r->graph);
    rag_embedder_destroy(r->embedder);
    rag_vector_index_destroy(r->vectors);
    rag_index_close(r->vec_ix);
    rag_reranker_destroy(r->reranker);
    pthread_rwlock_destroy(&r->vec_lock);
    rag_free(r);
}

int rag_retriever_has_dense(const rag_retriever *r)
{
    int has;
    if (!r || !r->embedder)
        return 0;
    pthread_rwlock_rdlock((pthread_rwlock_t *)&r->vec_lock);
    has = r->vectors != NULL;
    pthread_rwlock_unlock((pthread_rwlock_t *)&r->vec_lock);
    return has;
}

int rag_retriever_dense_state(rag_retriever *r, char *reason, size_t n_reason)
{
    int has;
    if (!r) {
        snprintf(reason, n_reason, "needs an embedder and none is configured");
        return 0;
    }
    pthread_rwlock_rdlock(&r->vec_lock);
    has = r->embedder && r->vectors;
    snprintf(reason, n_reason, "%s", r->dense_reason);
    pthread_rwlock_unlock(&r->vec_lock);
    return has;
}

const char *rag_retriever_dense_reason(const rag_retriever *r)
{
    return r ? r->dense_reason : "needs an embedder and none is configured";
}

int rag_retriever_has_rerank(const rag_retriever *r)
{
    return r && r->reranker && r->params.rerank_top_n > 0;
}

const rag_retriever_params *rag_retriever_params_get(const rag_retriever *r)
{
    return &r->params;
}

void rag_retriever_set_graph(rag_retriever *r, rag_ppr_fn fn, void *ctx)
{
    r->ppr = fn;
    r->ppr_ctx = ctx;
}
