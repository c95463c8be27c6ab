/* render.h - the JSON shapes of search and ask results (DESIGN.md's
 * command-line contract), shared by the CLI and the public API, and the
 * helper every JSON string in src/api goes through (rag_render_str).
 *
 * Thread safety: pure functions.
 */
#ifndef RAG_RENDER_H
#define RAG_RENDER_H

#include "generate/generate.h"
#include "retrieve/retrieve.h"

#include <jansson.h>

/* New references; NULL on OOM. Search JSON adds to the contract's keys:
 * per hit "stages" ({"bm25"|"dense"|"fused"|"rerank": {"score","rank"}},
 * the stages the hit went through), "mode", "fusion" (hybrid),
 * "reranked_by", "notice"; timings_ms has bm25, embed, knn, fuse, graph,
 * rerank, fetch, search (the ranking stages together) and total. Each
 * answer citation has "n_given" beside "n": the number the back-end wrote
 * (as streamed), before renumbering. */
json_t *rag_render_hits(const char *query, const rag_hits *hits, double total_ms);
json_t *rag_render_answer(const char *question, const rag_answer *a,
                          const rag_ask_timings *t);
/* The streamed `sources` event: {"sources":[{"n","chunk_id","doc","title",
 * "page_start","page_end","section","text","score","stages"}],"mode",
 * "relevant","notice"?}; n numbers the hits as the answer's [n] do. */
json_t *rag_render_sources(const rag_hits *hits, int relevant);
/* {"bm25","embed","knn","fuse","graph","rerank","fetch","total"} in ms. */
json_t *rag_render_timings(const rag_search_timings *t);
/* "rrf" / "weighted" for hybrid hits, else NULL. */
const char *rag_render_fusion_name(const rag_hits *hits);
/* Compact text with 9 significant digits for reals (DESIGN.md: a float
 * round-trips, and text built from it rounds as from the double); caller
 * frees with free(). */
char *rag_render_dump(const json_t *o);
/* Every "doc" string in o (at any depth, up to 16) replaced by the base
 * name of its path: results as a server shows them (DOCRAG_OUT_PUBLIC).
 * Names without a '/' are left as they are, so it may run twice. */
void rag_render_public_names(json_t *o);

/* The one way text goes into the JSON built here and in src/api: a JSON
 * string that is always valid UTF-8. jansson refuses invalid UTF-8 (and
 * json_pack's "s" then fails the whole object, dropping a result, a
 * citation or a report), while file names, paths, questions and remote
 * messages can hold any bytes: each byte that is not part of a valid UTF-8
 * sequence becomes U+FFFD. NULL s is "". New reference; NULL only on OOM
 * (json_pack's "o" then fails cleanly). */
json_t *rag_render_str(const char *s);
json_t *rag_render_strn(const char *s, size_t n_bytes);
/* A 64-bit id (chunk_id) as JSON leaves the engine: a string of its
 * decimal digits ("6748128949309981000"), since ids past 2^53 are rounded
 * by JavaScript's and jq's numbers. New reference; NULL on OOM. */
json_t *rag_render_id(int64_t id);
/* Same, but NULL s gives JSON null. */
json_t *rag_render_str_or_null(const char *s);
/* s with invalid bytes replaced, as a new string (caller frees with
 * rag_free); for object keys and for text used both in a search and in its
 * JSON. NULL on OOM. */
char *rag_render_utf8_dup(const char *s);

#endif
