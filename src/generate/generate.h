/* generate.h - answers with citations.
 *
 * The extractive answerer needs no model: it picks the sentences of the
 * top chunks that carry most of the question's IDF-weighted terms, and
 * cites each with [n]. Citations name the document, the exact pages of the
 * cited sentences, and the section.
 *
 * Thread safety: one call at a time per rag_index / rag_analyzer.
 */
#ifndef RAG_GENERATE_H
#define RAG_GENERATE_H

#include "core/core.h"
#include "index/index.h"
#include "retrieve/retrieve.h"

#define RAG_REFUSAL "No relevant information in the indexed documents."

typedef struct {
    int n;               /* the number used in the answer text, 1-based */
    int64_t chunk_id;
    char *doc;
    char *title;
    char *version;       /* the document's stated version ("" if none) */
    int page_start;
    int page_end;
    char *section;
    int n_given;         /* the chunk's number among the hits given to the
                            answer (the prompt's numbering, and the `n` of a
                            stream's sources event); LLM answers: the number
                            the model wrote, as streamed */
} rag_citation;

/* One quoted sentence of an extractive answer (a list quoted with the
 * sentence that introduces it is one entry). */
typedef struct {
    char *text;          /* as quoted, whitespace flattened, without [n] */
    int n;               /* its citation's n */
    int page;            /* page of its first byte */
} rag_answer_sentence;

typedef struct {
    char *answer;
    rag_citation *citations;
    size_t n_citations;
    rag_answer_sentence *sentences; /* extractive answers; NULL otherwise */
    size_t n_sentences;
    double confidence;   /* [0,1] */
    int refused;
    const char *backend; /* "extractive" (static) or the chain back-end's
                            config name (points into backend_owned) */
    char *backend_owned; /* owned copy of an LLM back-end's name */
    char *model;         /* LLM answers: the model that served it (owned) */
    char *notice;        /* owned; NULL or why back-ends were skipped or
                            failed before this one answered */
    int *dropped_citations; /* owned; numbers the model cited that were not
                               given in the prompt */
    size_t n_dropped;
    int64_t tokens_in;   /* LLM answers: tokens of the serving call (the
                            server's count, else an estimate); 0 otherwise */
    int64_t tokens_out;
    double cost_usd;     /* estimated from the back-end's prices */
} rag_answer;

typedef struct {
    int max_sentences;      /* sentences in the answer */
    size_t context_chunks;  /* top chunks sentences are drawn from */
    size_t max_sentence_bytes;
} rag_extractive_opts;

rag_extractive_opts rag_extractive_default_opts(void);

/* Build an extractive answer from hits (already gated). Caller owns
 * out's contents: free with rag_answer_fini. */
int rag_answer_extractive(rag_answer *out, rag_index *ix, rag_analyzer *an,
                          const rag_qterms *q, const rag_hits *hits,
                          const rag_extractive_opts *opts, rag_err *err);
/* Fill out as a refusal. */
int rag_answer_refuse(rag_answer *out, double confidence, rag_err *err);
void rag_answer_fini(rag_answer *a);

/* ---- prompts (prompt.c) ------------------------------------------------- */

/* The two messages sent to a chat LLM. The system message holds every
 * rule; the user message holds the numbered context chunks and the
 * question, each inside explicit delimiters, as data:
 *
 *   <<<CONTEXT
 *   <<<CHUNK 1 | doc: a.pdf | pages: 3-4 | section: Intro
 *   ...chunk text...
 *   CHUNK 1>>>
 *   CONTEXT>>>
 *   <<<QUESTION
 *   ...question...
 *   QUESTION>>>
 *
 * Delimiter look-alikes inside the data (runs of three or more '<' or '>')
 * become the same number of '‹' / '›', so data cannot close its block or
 * open a fake one. */
typedef struct {
    rag_buf system;
    rag_buf user;
    size_t n_chunks;   /* chunks numbered 1..n_chunks */
} rag_prompt;

typedef struct {
    size_t max_chunk_bytes;   /* per chunk (cut at a UTF-8 boundary) */
    size_t max_prompt_bytes;  /* whole user message; later chunks dropped */
} rag_prompt_opts;

rag_prompt_opts rag_prompt_default_opts(void); /* 2400 B/chunk, 24 KiB total */

/* Build the prompt for question from the first n_ctx hits. Caller owns
 * out's buffers: rag_prompt_fini. */
int rag_prompt_build(rag_prompt *out, const char *question, const rag_hits *hits,
                     size_t n_ctx, const rag_prompt_opts *opts, rag_err *err);
void rag_prompt_fini(rag_prompt *p);
/* Append s with delimiter look-alikes neutralised (see above). */
int rag_prompt_sanitize(rag_buf *out, const char *s, size_t n_bytes);

/* ---- citations (citations.c) --------------------------------------------- */

/* One bracketed citation group in an answer: "[2]", "[1, 3]", "[1-3]",
 * "[Document 2]", "[Doc 1; Source 4]". Adjacent groups ("[1][3]") are
 * separate groups. Ranges expand (at most 32 numbers per group). */
typedef struct {
    size_t start, end;   /* bytes of the group in the text, '[' .. ']' + 1 */
    int nums[32];
    size_t n;
} rag_cite_group;

typedef struct {
    rag_cite_group *items;
    size_t n;
} rag_cite_groups;

/* Find every citation group in text. Caller owns out: rag_cite_groups_fini.
 * Brackets holding anything else ("[x86]", "[a]") are not citations. */
int rag_citations_parse(rag_cite_groups *out, const char *text, rag_err *err);
void rag_cite_groups_fini(rag_cite_groups *g);

/* Turn an LLM reply into out's answer: keep only citations to chunks
 * 1..n_given (others go to out->dropped_citations, once each, ascending),
 * renumber the kept ones 1..k in order of first appearance, rewrite every
 * group as "[a][b]", and list exactly the cited chunks as out->citations
 * (pages = the chunk's pages). *cite_coverage gets the share of answer
 * sentences that carry a valid citation. */
int rag_citations_resolve(rag_answer *out, const char *text, const rag_hits *hits,
                          size_t n_given, double *cite_coverage, rag_err *err);

/* 1 if text says the answer is not in the documents ("not in the
 * documents", "no relevant information", ...). */
int rag_answer_says_not_found(const char *text);

/* ---- the whole question-answering path ---------------------------------- */

/* Streaming sink for answers (all callbacks may be NULL). on_token gets
 * text as the serving back-end produces it (the extractive answer arrives
 * as one piece); return nonzero to stop. on_abandon says that the text
 * streamed so far is void: back-end `backend` failed midway (`why`) and
 * the next back-end starts over from scratch. */
typedef struct {
    int (*on_token)(void *ctx, const char *text, size_t n_bytes);
    void (*on_abandon)(void *ctx, const char *backend, const char *why);
    /* rag_ask only: the hits the answer is built from (numbered 1..n as
     * the answer's [n]), after retrieval and the gate and before any
     * on_token; nonzero stops with RAG_ECANCELLED. */
    int (*on_sources)(void *ctx, const rag_hits *hits, int relevant);
    /* Polled while a remote back-end is waited on; nonzero closes the
     * request and the answer fails with RAG_ECANCELLED. */
    int (*is_cancelled)(void *ctx);
    void *ctx;
} rag_answer_stream;

struct rag_llm_chain;
struct rag_usage;

typedef struct {
    size_t context_chunks;       /* chunks retrieved and read for the answer */
    rag_gate_opts gate;
    rag_extractive_opts extractive;
    rag_prompt_opts prompt;
    int max_tokens;              /* LLM reply cap */
    double temperature;
    const struct rag_llm_chain *llm; /* borrowed; NULL = extractive only */
    struct rag_usage *usage;     /* borrowed; NULL = no accounting/budgets */
    rag_answer_stream stream;    /* zeroed = no streaming */
    rag_search_mode mode;        /* retrieval mode (search.mode) */
    struct rag_retriever *retriever; /* borrowed; NULL = BM25 only */
    const char *doc_glob;        /* retrieval filters, as rag_search_opts */
    int page_min, page_max;
    int no_rerank;
} rag_ask_opts;

/* Walk the LLM chain for an already gated question (gate_coverage = the
 * gate's best coverage): each back-end in order; disabled, open-circuit or
 * over-budget ones are skipped, failing ones fall through to the next; the
 * built-in extractive entry answers from the hits. out->backend names the
 * one that answered; out->notice says what was skipped or failed. Fails
 * (RAG_EBACKEND, naming each back-end's error) only if every entry
 * failed. */
int rag_answer_chain(rag_answer *out, rag_index *ix, rag_analyzer *an,
                     const rag_qterms *q, const rag_hits *hits, const char *question,
                     double gate_coverage, const rag_ask_opts *opts, rag_err *err);

rag_ask_opts rag_ask_default_opts(void);
/* Defaults overridden by answer.* from the configuration. */
struct rag_config;
rag_ask_opts rag_ask_opts_from_config(const struct rag_config *cfg);

/* What the retrieval stage of an answer did and how long each part took. */
typedef struct {
    double search_ms, gate_ms, answer_ms, total_ms;
    rag_search_timings stages;   /* the retrieval pipeline's stages */
    rag_search_mode mode_used;
    char reranked_by[64];        /* "" or the reranker back-end */
    char search_notice[384];     /* "" or why retrieval fell back */
    rag_gate_report gate;        /* what the off-topic gate saw and decided */
} rag_ask_timings;

/* The question with its acronyms spelled out (acronym.c): *out (rag_free)
 * is the question followed by the long form of each capitalised word the
 * index defines as "Long Form (WORD)", or NULL when there is none. base
 * gives the filters (documents, pages); the lookups are BM25. */
int rag_acronyms_expand(rag_index *ix, const char *question, const rag_search_opts *base,
                        char **out, rag_err *err);
#define RAG_ACRONYM_MAX 8
/* The question's words written in capitals, 2 to RAG_ACRONYM_MAX letters,
 * not part of a dotted or hyphened name: at most max, in order. */
size_t rag_acronyms_in(const char *question, char (*acrs)[RAG_ACRONYM_MAX + 1], size_t max);
/* The long form of acr that texts define most often as "Long Form (ACR)"
 * (lower-cased into out); 1, or 0 when none does. */
int rag_acronym_form(const char *const *texts, size_t n_texts, const char *acr, char *out,
                     size_t n_out);

/* Retrieve (opts->mode through opts->retriever: BM25, dense or hybrid,
 * then the rerank stage if configured), gate, answer. Caller owns out's contents: free with
 * rag_answer_fini. A refusal is an answer (out->refused = 1), not an
 * error. */
int rag_ask(rag_answer *out, rag_ask_timings *t, rag_index *ix,
            const char *question, const rag_ask_opts *opts, rag_err *err);

/* Split text into sentences: calls fn with each sentence's byte range
 * (trimmed). Splits at . ! ? followed by space and an upper-case letter,
 * digit or opening bracket/quote, and at blank lines and bullets;
 * abbreviations ("e.g.", "i.e.", "Fig.", "et al.") and decimals do not
 * split. Sentences longer than max_bytes are cut at a word boundary. */
typedef int (*rag_sentence_fn)(void *ctx, size_t start, size_t end);
int rag_sentences(const char *text, size_t n_bytes, size_t max_bytes,
                  rag_sentence_fn fn, void *ctx);

/* ---- what the question asks for (answer_type.c) ------------------------- */

/* 1 if s[0..n_bytes) holds a thing of type t that the question does not
 * hold itself: a date (a month with a number, or a year 19xx/20xx), a
 * number (digits standing alone, or a number word), a version ("Version
 * 2.1"). q_numbers is rag_qterms.numbers. 0 for other types. */
int rag_sentence_holds_type(const char *s, size_t n_bytes, rag_atype t,
                            const char *q_numbers);
/* 1 for the types a title page states (person, date, version, event). */
int rag_atype_on_title_page(rag_atype t);
/* Bytes of the title block at the start of a document's text: the lines
 * before its first prose line (seven or more words, most lower case), a
 * copyright line, or 600 bytes; 0 when the first line is prose. */
size_t rag_title_block_end(const char *text, size_t n_bytes);

/* ---- what a sentence is (sentence_kind.c) -------------------------------- */

typedef enum {
    RAG_SENT_PROSE = 0,
    RAG_SENT_HEADING,    /* short, no sentence end, or Title Case words */
    RAG_SENT_CAPTION,    /* "Figure 3: ...", "Table 2.1 ..." */
    RAG_SENT_TABLE,      /* rows and headers: numbers and names, few words */
    RAG_SENT_URL,        /* holds a URL (footnotes, links) */
    RAG_SENT_REFERENCE,  /* a bibliography entry */
    RAG_SENT_EDITORS,    /* a list of names ("Editors: ...", affiliations) */
    RAG_SENT_FIGURE,     /* running text of a figure: many short lines */
    RAG_SENT_FRAGMENT,   /* fewer than four words */
} rag_sentence_kind;

/* Classify one sentence as rag_sentences cut it (raw bytes, newlines
 * kept). A list item ("• x", "1. x", "(a) x") is judged by its text. */
rag_sentence_kind rag_sentence_classify(const char *s, size_t n_bytes);
const char *rag_sentence_kind_name(rag_sentence_kind k);
/* 1 if s starts with a list marker. */
int rag_sentence_is_list_item(const char *s, size_t n_bytes);
/* 1 if s ends with ':' (it introduces what follows). */
int rag_sentence_introduces_list(const char *s, size_t n_bytes);
/* 1 if a and b say the same words (case and punctuation ignored): word
 * sets with Jaccard >= 0.7, or the shorter (>= 6 words) nearly inside the
 * longer. */
int rag_sentence_near_duplicate(const char *a, size_t n_a, const char *b, size_t n_b);

#endif
