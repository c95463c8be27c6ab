/* render.c - JSON for search hits and answers. */
#include "render.h"

json_t *rag_render_hits(const char *query, const rag_hits *hits, double total_ms)
{
    json_t *arr = json_array();
    json_t *o;
    for (size_t i = 0; arr && i < hits->n; i++) {
        const rag_hit *h = &hits->items[i];
        json_array_append_new(arr, json_pack(
            "{s:i,s:f,s:I,s:s,s:s,s:i,s:i,s:s,s:s}", "rank", h->rank, "score",
            h->score, "chunk_id", (json_int_t)h->row.chunk_id, "doc", h->row.doc,
            "title", h->row.title, "page_start", h->row.page_start, "page_end",
            h->row.page_end, "section", h->row.section, "text", h->row.text));
    }
    o = json_pack("{s:s,s:o,s:s,s:{s:f,s:f,s:f}}", "query", query, "results", arr,
                  "mode", rag_search_mode_name(hits->mode_used), "timings_ms",
                  "search", hits->ms_search, "fetch", hits->ms_fetch, "total", total_ms);
    if (o && hits->notice[0])
        json_object_set_new(o, "notice", json_string(hits->notice));
    return o;
}

json_t *rag_render_answer(const char *question, const rag_answer *a,
                          const rag_ask_timings *t)
{
    json_t *cites = json_array();
    for (size_t i = 0; cites && i < a->n_citations; i++) {
        const rag_citation *c = &a->citations[i];
        json_array_append_new(cites, json_pack(
            "{s:i,s:I,s:s,s:i,s:i,s:s}", "n", c->n, "chunk_id", (json_int_t)c->chunk_id,
            "doc", c->doc, "page_start", c->page_start, "page_end", c->page_end,
            "section", c->section));
    }
    json_t *o = json_pack("{s:s,s:s,s:o,s:f,s:b,s:s,s:{s:f,s:f,s:f,s:f}}", "question",
                          question, "answer", a->answer, "citations", cites,
                          "confidence", a->confidence, "refused", a->refused, "backend",
                          a->backend, "timings_ms", "search", t->search_ms, "gate",
                          t->gate_ms, "answer", t->answer_ms, "total", t->total_ms);
    /* optional keys, present only when non-empty */
    if (o && a->n_dropped) {
        json_t *d = json_array();
        for (size_t i = 0; d && i < a->n_dropped; i++)
            json_array_append_new(d, json_integer(a->dropped_citations[i]));
        json_object_set_new(o, "dropped_citations", d);
    }
    if (o && a->notice && a->notice[0])
        json_object_set_new(o, "notice", json_string(a->notice));
    return o;
}

char *rag_render_dump(const json_t *o)
{
    return json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(6));
}
