/* eval.h - retrieval evaluation on BEIR-layout collections.
 *
 * The corpus (corpus.jsonl: _id, title, text) goes into a temporary
 * in-memory index through the same chunker and analyzer as real
 * documents; each query ranks chunks, a document scores as its best
 * chunk, and the ranking is scored against qrels/test.tsv exactly as
 * trec_eval / pytrec_eval do (../shared/tools/ireval.py): nDCG@10 with
 * linear gains, Recall@100 and MRR@10, averaged over the judged queries.
 *
 * Thread safety: one evaluation per thread.
 */
#ifndef RAG_EVAL_H
#define RAG_EVAL_H

#include "core/core.h"
#include "embed/embed_index.h"
#include "index/index.h"
#include "retrieve/retrieve.h"
#include "text/chunker.h"

#include <stdio.h>

typedef struct {
    rag_chunk_opts chunk;
    size_t chunk_depth;      /* chunks read per query before folding to docs */
    size_t doc_depth;        /* documents ranked per query (run file depth) */
    FILE *run;               /* TREC run output, or NULL */
    const char *run_tag;
    rag_search_mode mode;    /* bm25 ranks the postings directly; other
                                modes go through rag_search */
    int rerank;              /* the "+rerank" of hybrid+rerank */
    const struct rag_config *cfg; /* chains and search.* for dense, hybrid
                                     and rerank; NULL = BM25 only */
    rag_index *ix;           /* NULL: the corpus is indexed in memory; else an
                                index that already holds it (rag_eval_index_corpus
                                with the same chunk options), borrowed: a copy
                                of another store is scored as it is */
} rag_eval_opts;

rag_eval_opts rag_eval_default_opts(void);

typedef struct {
    double ndcg10;
    double recall100;
    double mrr10;
    size_t n_queries;        /* judged queries */
    size_t n_docs;
    size_t n_chunks;
    double index_seconds;
    double query_seconds;
    rag_search_mode mode_used;   /* what actually ran */
    char notice[512];            /* "" or why a mode or stage fell back */
    rag_embed_report embed;      /* the embedding pass (n_chunks 0: none ran) */
} rag_eval_result;

/* Evaluate BM25 on the BEIR folder dir. Errors name the file and line. */
int rag_eval_beir(rag_eval_result *out, const char *dir, const rag_eval_opts *opts,
                  rag_err *err);

/* Load a BEIR corpus.jsonl into ix (one transaction, then FTS optimize):
 * each record becomes a one-page text document "title\n\ntext" keyed by
 * its _id. Used by eval and by bench/. */
int rag_eval_index_corpus(rag_index *ix, const char *corpus_path,
                          const rag_chunk_opts *chunk, size_t *n_docs,
                          size_t *n_chunks, rag_err *err);

/* The metrics alone, for testing against ireval.py: ranked holds n_ranked
 * document ids best first; rel_ids/rel_grades the judged-relevant
 * documents (grade > 0) of one query. */
typedef struct {
    double ndcg10, recall100, mrr10;
} rag_query_metrics;
rag_query_metrics rag_eval_query(const char *const *ranked, size_t n_ranked,
                                 const char *const *rel_ids, const int *rel_grades,
                                 size_t n_rel);

/* ---- QA evaluation: page-hit@k over a document folder (qa.c) ------------
 *
 * A QA file (data/qa/questions.jsonl; format in docs/evaluation.md) holds
 * one JSON object per line:
 *   {"id":"gmlp-4","question":"...","doc":"GMLP_Guiding_Principles.pdf",
 *    "pages":[2],"evidence":["Training Data Sets Are Independent"]}
 * doc is a file name relative to the documents folder; pages are 1-based
 * physical pages (as MuPDF counts); evidence holds one string per expected
 * page that the page's extracted text must contain (whitespace runs and
 * ASCII case are ignored), so the file cannot rot silently. Optional keys
 * (kind, note) are ignored.
 *
 * A question is hit at rank r when result r is a chunk of the expected
 * document whose page span [page_start, page_end] contains an expected
 * page. Refusals and empty results are misses.
 */

#define RAG_QA_MAX_PAGES 8

typedef struct {
    char *id;
    char *question;
    char *doc;                         /* file name under the docs folder */
    int pages[RAG_QA_MAX_PAGES];       /* 1-based */
    char *evidence[RAG_QA_MAX_PAGES];  /* one per page */
    size_t n_pages;
    int line;                          /* line in the QA file */
} rag_qa_item;

typedef struct {
    rag_qa_item *items;
    size_t n;
    char *path;
} rag_qa_set;

/* Load and validate a QA file. Caller owns *out's contents: free with
 * rag_qa_set_fini (also safe after a failed load). Errors name the file
 * and line: bad JSON, a missing or mistyped key, pages/evidence of unequal
 * length, a page < 1, a duplicate id, or no questions. */
int rag_qa_load(rag_qa_set *out, const char *path, rag_err *err);
void rag_qa_set_fini(rag_qa_set *set);

/* One ranked result, as scoring needs it (strings borrowed). */
typedef struct {
    const char *doc;       /* document path as stored (may be absolute) */
    int page_start;
    int page_end;
} rag_qa_span;

/* 1-based rank of the first of ranked[0..n) that hits q, or 0. A stored
 * path matches q->doc when it equals it or ends with "/" + q->doc. */
size_t rag_qa_first_hit(const rag_qa_item *q, const rag_qa_span *ranked, size_t n);

typedef struct {
    double hit1, hit5, hit10;  /* fraction of questions hit within rank k */
    double mrr10;              /* mean of 1/rank of the first hit within 10 */
} rag_qa_metrics;

/* Average page-hit@1/@5/@10 and MRR@10 over n first-hit ranks (0 = miss). */
rag_qa_metrics rag_qa_summarize(const size_t *first_hit, size_t n);

typedef struct {
    rag_search_mode mode;
    int rerank;                /* the "+rerank" of hybrid+rerank */
    size_t k;                  /* results read per question (default 10) */
    rag_indexer_opts indexer;
    const char *db;            /* NULL: a temporary in-memory index */
    const struct rag_config *cfg; /* embedder/reranker chains and search.*
                                     for dense, hybrid and rerank; NULL = BM25
                                     only (other modes fall back, with notice) */
} rag_qa_opts;

/* Defaults: bm25, no rerank, k 10, the indexer's own defaults, no db. */
rag_qa_opts rag_qa_default_opts(void);

typedef struct {
    rag_qa_metrics m;
    size_t n_questions;
    size_t *first_hit;         /* per question, set order; owned */
    rag_indexer_report index;  /* what the indexing pass did */
    int64_t n_docs, n_chunks;  /* in the index after the pass */
    rag_embed_report embed;    /* the embedding pass (n_chunks 0: none ran) */
    rag_search_mode mode_used;
    size_t n_reranked;         /* questions whose ranking the rerank stage made */
    char notice[512];          /* "" or why a mode or stage fell back (each
                                  distinct reason once) */
    double query_seconds;
} rag_qa_result;

/* Index docs_dir (into opts->db, reusing what it already holds unchanged,
 * or into a temporary index); for dense and hybrid modes embed its chunks
 * with the configured embedder (cached: an unchanged --db costs no
 * inference) and open the retriever; run every question of set through
 * rag_search and score it. An embedder that fails mid-pass is an error. Files that fail to index are counted in
 * out->index.n_failed; an expected document missing from the index is an
 * error naming it. Caller owns out's contents: rag_qa_result_fini. */
int rag_eval_qa(rag_qa_result *out, const rag_qa_set *set, const char *docs_dir,
                const rag_qa_opts *opts, rag_err *err);
void rag_qa_result_fini(rag_qa_result *res);

/* Check every question's evidence against the text our extractor gives
 * for its page in docs_dir. Each problem (document missing or unreadable,
 * page out of range, evidence not on the page) goes to on_problem (may be
 * NULL) and is counted in *n_bad. Returns <0 only for out of memory. */
typedef void (*rag_qa_problem_fn)(void *ctx, const rag_qa_item *q, const char *msg);
int rag_qa_check_evidence(const rag_qa_set *set, const char *docs_dir,
                          const rag_extract_opts *extract, rag_qa_problem_fn on_problem,
                          void *ctx, size_t *n_bad, rag_err *err);

/* ---- answer-quality evaluation (answers.c) --------------------------------
 *
 * An answers file (data/qa/answers.jsonl; format in docs/evaluation.md)
 * holds one JSON object per line:
 *   {"id":"priv-3","kind":"value","question":"...",
 *    "sources":[{"doc":"riscv-privileged.pdf","pages":[43]}],
 *    "nuggets":["Vectored","re:base *\\+ *4"]}
 * for an answerable question, or {"id","kind","question","answerable":false}
 * for one that must be refused. A nugget is a literal (whitespace runs and
 * ASCII case ignored) unless it starts with "re:": the rest is a POSIX
 * extended regular expression, matched case-insensitively against the same
 * whitespace-squashed text (no back-references, repeat counts at most
 * RAG_ANS_MAX_REPEAT: the file is input). Answerable kinds: definition, value, procedure,
 * list, comparison, multi-hop, version; refusal kinds: off-topic,
 * near-miss, absent-attribute.
 */

#define RAG_ANS_MAX_SOURCES 4
#define RAG_ANS_MAX_NUGGETS 12
#define RAG_ANS_MAX_NUGGET_BYTES 512   /* a nugget's text */
#define RAG_ANS_MAX_REPEAT 32          /* largest {n,m} in a regex nugget */

typedef struct {
    char *doc;                         /* file name under the docs folder */
    int pages[RAG_QA_MAX_PAGES];       /* 1-based */
    size_t n_pages;
} rag_ans_source;

typedef struct {
    char *text;                        /* as written in the file */
    int is_regex;                      /* "re:" prefix */
    void *re;                          /* compiled regex_t (owned) */
    char *literal;                     /* squashed literal (owned) */
} rag_nugget;

typedef struct {
    char *id;
    char *question;
    char *kind;
    int answerable;
    rag_ans_source sources[RAG_ANS_MAX_SOURCES];
    size_t n_sources;
    rag_nugget nuggets[RAG_ANS_MAX_NUGGETS];
    size_t n_nuggets;
    int line;
} rag_ans_item;

typedef struct {
    rag_ans_item *items;
    size_t n;
    char *path;
} rag_ans_set;

/* Load and validate an answers file. Caller owns *out's contents: free
 * with rag_ans_set_fini (also safe after a failed load). Errors name the
 * file, line and key: bad JSON, an unknown kind, an answerable question
 * without sources or nuggets, a refusal with nuggets, a regex that does not
 * compile, a duplicate id, or no questions. */
int rag_ans_load(rag_ans_set *out, const char *path, rag_err *err);
void rag_ans_set_fini(rag_ans_set *set);

/* 1 if kind is one of the answerable kinds, 0 if a refusal kind, -1 if
 * unknown. */
int rag_ans_kind_answerable(const char *kind);

/* Lower-case ASCII, whitespace runs to one space, trimmed, and (strip)
 * citation groups "[1]", "[2, 3]" removed. Caller frees with rag_free. */
char *rag_ans_squash(const char *s, size_t n_bytes, int strip_citations);

/* 1 if nugget occurs in squashed (text from rag_ans_squash). */
int rag_ans_nugget_match(const rag_nugget *g, const char *squashed);

/* The sentences an answer quotes: split after each citation group (an
 * extractive answer is sentences each followed by its [n]) and, in text
 * without citations, after '.', '?' or '!' followed by a space. Citation
 * groups are removed and whitespace squashed (case kept). Caller owns
 * out: rag_ans_sentences_fini. */
typedef struct {
    char **items;
    size_t n;
} rag_ans_sentences;
int rag_ans_split(rag_ans_sentences *out, const char *answer, rag_err *err);
void rag_ans_sentences_fini(rag_ans_sentences *s);

/* What a quoted sentence is when it is not prose. */
typedef enum {
    RAG_JUNK_NONE = 0,
    RAG_JUNK_HEADING,     /* a section title, numbered heading or TOC line */
    RAG_JUNK_CAPTION,     /* "Figure 3.1: ...", "Table 2 ..." */
    RAG_JUNK_TABLE,       /* a table row: mostly numbers, codes, short cells */
    RAG_JUNK_URL,         /* a bare or footnote URL */
    RAG_JUNK_REFERENCE,   /* a bibliography entry */
    RAG_JUNK_FRAGMENT,    /* fewer than four words */
} rag_junk_kind;
rag_junk_kind rag_ans_junk_classify(const char *sentence);
const char *rag_ans_junk_name(rag_junk_kind k);

/* 1 if a and b are near-duplicates: their word sets overlap with Jaccard
 * >= 0.8, or the smaller (>= 5 words) lies >= 90% inside the larger. */
int rag_ans_near_duplicate(const char *a, const char *b);

/* Area under the ROC curve of score against label (1 positive, 0
 * negative): the probability that a random positive scores above a random
 * negative, ties counted half. -1 when either class is empty. */
double rag_ans_auc(const double *score, const int *label, size_t n);

/* Check every answerable question's nuggets against the text our
 * extractor gives for its source pages in docs_dir: each nugget must occur
 * on some page of some source. Each problem (document missing, page out of
 * range, nugget on no expected page) goes to on_problem (may be NULL,
 * q may be the item) and is counted in *n_bad. Returns <0 only for out of
 * memory. */
typedef void (*rag_ans_problem_fn)(void *ctx, const rag_ans_item *q, const char *msg);
int rag_ans_check(const rag_ans_set *set, const char *docs_dir,
                  const rag_extract_opts *extract, rag_ans_problem_fn on_problem,
                  void *ctx, size_t *n_bad, size_t *n_checked, rag_err *err);

#endif
