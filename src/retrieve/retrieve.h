/* retrieve.h - ranking chunks for a query: the retrieval pipeline.
 *
 *   query -> BM25 top-N (rag_index_bm25)      \
 *   query -> embed -> kNN top-N (vector index) -+- fuse (RRF | weighted)
 *         -> [graph boost] -> rerank top-N -> top k rows read back
 *
 * A rag_retriever, opened once per process, holds what the dense and
 * rerank stages need (the embedder chain, the vector index of its model,
 * the reranker chain) and the fusion parameters (search.*). Any missing
 * piece is not an error: dense and hybrid modes then fall back to BM25 and
 * rag_hits.notice says why, once. Without a retriever (or in bm25 mode with
 * no reranker) search is BM25 exactly as before. Formulas: fusion.h and
 * docs/retrieval.md.
 *
 * Thread safety: one call at a time per rag_index; a retriever from
 * rag_retriever_open / _create serves one search at a time, one from
 * rag_retriever_open_shared any number at once.
 */
#ifndef RAG_RETRIEVE_H
#define RAG_RETRIEVE_H

#include "config/config.h"
#include "core/core.h"
#include "embed/embed.h"
#include "index/index.h"
#include "index/vector_index.h"
#include "rerank/rerank.h"
#include "retrieve/fusion.h"
#include "text/analyzer.h"

typedef enum {
    RAG_MODE_BM25 = 0,
    RAG_MODE_DENSE,
    RAG_MODE_HYBRID,
} rag_search_mode;

/* Parse "bm25" | "dense" | "hybrid"; -1 if unknown. */
int rag_search_mode_parse(const char *s);
const char *rag_search_mode_name(rag_search_mode m);

typedef enum {
    RAG_FUSION_RRF = 0,
    RAG_FUSION_WEIGHTED,
} rag_fusion_kind;

/* ---- the retriever --------------------------------------------------------- */

typedef struct rag_retriever rag_retriever;

typedef struct {
    size_t candidates;        /* BM25 / kNN list length before fusion */
    rag_fusion_kind fusion;
    double rrf_k;
    double dense_weight;      /* weighted fusion: share of the dense score */
    double graph_boost;       /* 0 = off */
    int prefer_newest;        /* collapse near-duplicates across versions */
    size_t rerank_top_n;      /* 0 = no rerank stage */
    double rerank_weight;     /* final = w * rerank + (1 - w) * first stage */
    int int8;                 /* vectors in memory as int8 (exact rescoring) */
} rag_retriever_params;

/* search.* and embed.vectors from the configuration. */
rag_retriever_params rag_retriever_params_from_config(const rag_config *cfg);

/* Personalised PageRank over the chunk graph (the hook for graph-boosted
 * fusion; see graph.h): out[i] gets the score of ids[i] for the seeds. */
typedef int (*rag_ppr_fn)(void *ctx, const int64_t *seeds, const double *seed_w,
                          size_t n_seeds, const int64_t *ids, size_t n_ids, double *out,
                          rag_err *err);

/* A retriever over ix from parts. embedder and reranker are TAKEN (the
 * retriever destroys them, also on failure); either may be NULL. With an
 * embedder, the vectors of its model are loaded from ix; if the index
 * holds none, or vectors of another model, dense search is unavailable
 * and rag_retriever_dense_reason says why (not an error). Errors: only
 * RAG_ENOMEM and database errors. ix is borrowed and must outlive the
 * retriever. Caller owns *out: rag_retriever_destroy. */
int rag_retriever_create(rag_retriever **out, rag_index *ix,
                         const rag_retriever_params *params, rag_embedder *embedder,
                         rag_reranker *reranker, rag_err *err);

/* From the configuration: the embedder chain (chains.embed) and its
 * vectors when mode is dense or hybrid; the reranker chain (chains.rerank)
 * when search.rerank_top_n > 0 and the chain is not just `none`. Missing
 * pieces (no embedder configured, a local model folder that does not
 * exist, a back-end that cannot be built, no vectors) leave dense search
 * unavailable with the reason recorded. usage (may be NULL) meters remote
 * calls and must outlive the retriever; cfg is borrowed likewise. */
int rag_retriever_open(rag_retriever **out, rag_index *ix, const rag_config *cfg,
                       rag_search_mode mode, rag_usage *usage, rag_err *err);
void rag_retriever_destroy(rag_retriever *r);   /* NULL is a no-op */

/* A retriever that every thread of a process shares (the engine's,
 * src/api): opened for every mode (each search picks its own), with the
 * embedder and reranker behind locks (rag_embedder_locked_create: one
 * model copy, one pass at a time per stage) and the embedder kept even
 * when the index has no vectors yet, so a later reload can enable dense
 * search. rag_search may then run on many threads at once, each with its
 * own rag_index connection. ix is borrowed (used to load vectors and the
 * graph) and must outlive the retriever. */
int rag_retriever_open_shared(rag_retriever **out, rag_index *ix, const rag_config *cfg,
                              rag_usage *usage, rag_err *err);
/* Re-read the vectors of the embedder's model from the index file (a new
 * read-only connection of its own) and swap them in while searches go on:
 * searches already scanning finish on the old set, later ones see the new
 * one. No vectors (or another model) leaves dense search unavailable with
 * the reason, as at open. A no-op without an embedder. RAG_ENOMEM or a
 * database error; the old vectors then stay. Thread-safe. */
int rag_retriever_reload_vectors(rag_retriever *r, rag_err *err);
/* Vectors in memory (0 without a dense stage). Thread-safe. */
size_t rag_retriever_n_vectors(rag_retriever *r);
/* The retriever's embedder / reranker (borrowed; NULL if none). Callable
 * from any thread for a shared retriever. */
rag_embedder *rag_retriever_embedder(rag_retriever *r);
rag_reranker *rag_retriever_reranker(rag_retriever *r);

/* 1 if dense search can run. */
int rag_retriever_has_dense(const rag_retriever *r);
/* rag_retriever_has_dense, with the reason copied into reason (thread-safe
 * against rag_retriever_reload_vectors, which rag_retriever_dense_reason is
 * not). */
int rag_retriever_dense_state(rag_retriever *r, char *reason, size_t n_reason);
/* "" or why dense search is unavailable. Borrowed. */
const char *rag_retriever_dense_reason(const rag_retriever *r);
/* 1 if a rerank stage runs. */
int rag_retriever_has_rerank(const rag_retriever *r);
const rag_retriever_params *rag_retriever_params_get(const rag_retriever *r);
/* Install the graph hook (NULL fn = none). ctx is borrowed. The boost
 * runs only in hybrid mode with params.graph_boost > 0. */
void rag_retriever_set_graph(rag_retriever *r, rag_ppr_fn fn, void *ctx);

/* ---- search ---------------------------------------------------------------- */

typedef struct {
    rag_search_mode mode;
    size_t k;              /* results wanted */
    rag_retriever *retriever; /* borrowed; NULL = BM25 only */
    const char *doc_glob;  /* fnmatch on the document path; NULL = any */
    int page_min;          /* chunk pages must overlap [page_min, page_max]; */
    int page_max;          /* 0 = unbounded */
    int no_rerank;         /* skip the retriever's rerank stage */
} rag_search_opts;

/* Per-stage wall time in milliseconds (0 for stages that did not run). */
typedef struct {
    double bm25, embed, knn, fuse, graph, rerank, fetch, total;
} rag_search_timings;

typedef struct {
    int rank;              /* 1-based */
    double score;          /* the score ranked by: BM25, dense, fused, or the
                              rerank combination (0 below the rerank window) */
    rag_cand stages;       /* each stage's score and rank (0 = absent) */
    rag_chunk_row row;     /* owned */
} rag_hit;

typedef struct {
    rag_hit *items;
    size_t n;
    rag_search_mode mode_used;   /* what actually ran */
    int fusion_used;             /* hybrid: the rag_fusion_kind used */
    int reranked;                /* the rerank stage ran and succeeded */
    char rerank_backend[64];     /* "" or the back-end that served it */
    char notice[384];            /* "" or why a stage fell back */
    rag_search_timings t;
} rag_hits;

/* Rank chunks for query. Caller owns out's contents: free with
 * rag_hits_fini. A query without searchable terms gives zero BM25 hits.
 * A failing embedder or reranker never fails the search: the stage is
 * dropped with a notice. */
int rag_search(rag_hits *out, rag_index *ix, const char *query,
               const rag_search_opts *opts, rag_err *err);
void rag_hits_fini(rag_hits *hits);

/* ---- query terms, coverage and the off-topic gate ----------------------- */

/* The analysed, distinct terms of a query with their IDF in the index,
 * idf = ln(1 + (N - n + 0.5) / (n + 0.5)); a term absent from the index
 * gets the largest IDF (n = 0). At most 64 terms are kept.
 *
 * Query analysis (only for the gate and the extractive answer; BM25 sees
 * the question as it is):
 * - a compound technical name (mtvec.MODE, misa.MXL, snake_case,
 *   CamelCase) whose whole form occurs nowhere in the index is replaced
 *   by its parts, so it matches where the text writes the parts apart;
 * - question words that carry no topic ("what happened", "later",
 *   "difference", "describe", "draft", ...) are dropped;
 * - the question is cut into parts: the two sides of a comparison
 *   ("difference between A and B", "A vs B", "how does A differ from B")
 *   or the questions of a multi-part question ("What is A and how does B
 *   work?"); each term knows the parts it belongs to (`parts`, a bit per
 *   part; words outside every part belong to all);
 * - "the ATTR of ENTITY" questions mark ATTR's terms (`attr`) unless the
 *   attribute is generic ("purpose", "size", "format", ...): an answer
 *   must find them in a chunk about the entity. */
typedef struct {
    char *term;
    uint64_t hash;
    double idf;
    int64_t n_docs;
    unsigned parts;     /* bit p: term of question part p */
    int attr;           /* 1: the asked-for attribute of an entity */
    int from_compound;  /* 1: a part of a compound absent as a whole */
} rag_qterm;

#define RAG_QPARTS_MAX 4

/* What kind of thing the question asks for, from its question words:
 * "who" a person, "when" a date, "how many" a number, "which version" a
 * version, "at which event" an event, "how large" / "what size" a size
 * (a number of bits or bytes). The answer prefers sentences that hold
 * one, and for person, date, version and event looks at title pages too. */
typedef enum {
    RAG_ATYPE_NONE = 0,
    RAG_ATYPE_PERSON,
    RAG_ATYPE_DATE,
    RAG_ATYPE_NUMBER,
    RAG_ATYPE_VERSION,
    RAG_ATYPE_EVENT,
    RAG_ATYPE_SIZE,
} rag_atype;

const char *rag_atype_name(rag_atype t);

typedef struct {
    rag_qterm items[64];
    size_t n;
    double idf_total;
    size_t n_parts;                    /* >= 1 */
    int comparison;                    /* 1: parts are the sides of a comparison */
    char part_text[RAG_QPARTS_MAX][128]; /* each part as written (trimmed) */
    char ignored[256];                 /* topic-less words dropped, ", "-separated */
    char split[256];                   /* compounds matched through their parts */
    rag_atype atype;                   /* what the question asks for */
    rag_atype part_atype[RAG_QPARTS_MAX]; /* ... each part, by its own words
                                          ("Why ... and how large ...?") */
    char numbers[64];                  /* numbers the question itself holds,
                                          ", "-separated ("2011, 1.7") */
    char version[32];                  /* N of "version N" / "vN" in the
                                          question, or "" */
} rag_qterms;

int rag_qterms_build(rag_qterms *out, rag_index *ix, const char *query,
                     rag_err *err);
/* The same analysis on a question alone: every term gets n_docs 1 (as if
 * each occurred, so compounds stay whole unless absent_compounds) and idf
 * 1. For tests and tools; analyzer borrowed. */
int rag_qterms_analyze(rag_qterms *out, rag_analyzer *an, const char *query,
                       int absent_compounds, rag_err *err);
void rag_qterms_fini(rag_qterms *q);
/* IDF-weighted fraction of q's terms that occur in text, in [0,1];
 * *matched gets a bit per matched term (may be NULL). */
int rag_qterms_coverage(const rag_qterms *q, rag_analyzer *an, const char *text,
                        size_t n_bytes, double *coverage, uint64_t *matched);
/* IDF-weighted share of the terms selected by mask that matched holds
 * (0 when mask selects none). */
double rag_qterms_share(const rag_qterms *q, uint64_t mask, uint64_t matched);
/* Mask of the terms of part p. */
uint64_t rag_qterms_part_mask(const rag_qterms *q, size_t p);

typedef struct {
    double min_coverage;   /* best chunk must cover this much IDF mass */
    size_t n_check;        /* how many top hits to look at */
} rag_gate_opts;

rag_gate_opts rag_gate_default_opts(void);

/* What the gate saw and decided, for `ask -v` and `gate` in --json. */
typedef struct {
    int relevant;
    double coverage;       /* best checked hit's coverage */
    double threshold;      /* opts->min_coverage */
    size_t best_hit;       /* index of that hit */
    char missing[256];     /* terms absent from that hit, ", "-separated */
    char reason[256];      /* "" or why the question was refused */
    char ignored[256];     /* the question's topic-less words (rag_qterms) */
    char split[256];       /* compounds matched through their parts */
    size_t n_parts;
    char part_text[RAG_QPARTS_MAX][128];
    double part_coverage[RAG_QPARTS_MAX]; /* best coverage of each part */
} rag_gate_report;

/* The off-topic gate, run before any answer (and any paid call): 1 if the
 * hits are relevant to the question, 0 if not. *best_coverage gets the best
 * hit's coverage; rep (may be NULL) what it saw. A question passes when
 * its best hit covers min_coverage of its IDF mass, or, for a question of
 * several parts, when some part is covered that well (the answer says
 * which part was not found); it fails when its asked-for attribute occurs
 * in no checked hit about the entity. */
int rag_gate_check(const rag_qterms *q, rag_analyzer *an, const rag_hits *hits,
                   const rag_gate_opts *opts, double *best_coverage,
                   rag_gate_report *rep, rag_err *err);

#endif
