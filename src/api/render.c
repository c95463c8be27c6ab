/* render.c - JSON for search hits and answers.
 *
 * Every string goes in through rag_render_str (json_pack "o"), never "s":
 * a document name or question that is not valid UTF-8 gets U+FFFD for its
 * bad bytes instead of making json_pack fail and the hit, the citation or
 * the whole object disappear.
 */
#include "render.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *rag_render_strn(const char *s, size_t n_bytes)
{
    rag_buf b = RAG_BUF_INIT;
    json_t *j;
    if (!s)
        return json_string("");
    if (rag_utf8_valid(s, n_bytes))
        return json_stringn(s, n_bytes);
    if (rag_utf8_sanitize(&b, s, n_bytes, NULL) < 0) {
        rag_buf_fini(&b);
        return NULL;
    }
    j = json_stringn(b.data ? b.data : "", b.len);
    rag_buf_fini(&b);
    return j;
}

json_t *rag_render_str(const char *s)
{
    return rag_render_strn(s, s ? strlen(s) : 0);
}

json_t *rag_render_str_or_null(const char *s)
{
    return s ? rag_render_str(s) : json_null();
}

char *rag_render_utf8_dup(const char *s)
{
    rag_buf b = RAG_BUF_INIT;
    size_t n = s ? strlen(s) : 0;
    if (rag_utf8_sanitize(&b, s ? s : "", n, NULL) < 0 || (!b.data && rag_buf_puts(&b, "") < 0)) {
        rag_buf_fini(&b);
        return NULL;
    }
    return rag_buf_take(&b);
}

/* {"score","rank"} objects for the stages a hit went through */
static json_t *stages_json(const rag_cand *c)
{
    json_t *o = json_object();
    struct { const char *name; double score; int rank; } st[] = {
        {"bm25", c->bm25, c->bm25_rank}, {"dense", c->dense, c->dense_rank},
        {"fused", c->fused, c->fused_rank}, {"rerank", c->rerank, c->rerank_rank}};
    for (size_t i = 0; o && i < sizeof st / sizeof st[0]; i++)
        if (st[i].rank > 0)
            json_object_set_new(o, st[i].name, json_pack("{s:f,s:i}", "score", st[i].score,
                                                         "rank", st[i].rank));
    return o;
}

json_t *rag_render_timings(const rag_search_timings *t)
{
    return json_pack("{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}", "bm25", t->bm25, "embed", t->embed,
                     "knn", t->knn, "fuse", t->fuse, "graph", t->graph, "rerank", t->rerank,
                     "fetch", t->fetch, "total", t->total);
}

const char *rag_render_fusion_name(const rag_hits *hits)
{
    if (hits->mode_used != RAG_MODE_HYBRID)
        return NULL;
    return hits->fusion_used == RAG_FUSION_WEIGHTED ? "weighted" : "rrf";
}

json_t *rag_render_hits(const char *query, const rag_hits *hits, double total_ms)
{
    json_t *arr = json_array();
    json_t *o, *t;
    for (size_t i = 0; arr && i < hits->n; i++) {
        const rag_hit *h = &hits->items[i];
        json_array_append_new(arr, json_pack(
            "{s:i,s:f,s:o,s:o,s:o,s:i,s:i,s:o,s:o,s:o}", "rank", h->rank, "score",
            h->score, "chunk_id", rag_render_id(h->row.chunk_id), "doc",
            rag_render_str(h->row.doc), "title", rag_render_str(h->row.title),
            "page_start", h->row.page_start, "page_end", h->row.page_end, "section",
            rag_render_str(h->row.section), "text", rag_render_str(h->row.text), "stages",
            stages_json(&h->stages)));
        json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "version",
                            rag_render_str(h->row.version ? h->row.version : ""));
    }
    t = rag_render_timings(&hits->t);
    /* "search" = the ranking stages together, as before the per-stage keys */
    if (t) {
        json_object_set_new(t, "search", json_real(hits->t.bm25 + hits->t.embed +
                                                   hits->t.knn + hits->t.fuse +
                                                   hits->t.graph + hits->t.rerank));
        json_object_set_new(t, "total", json_real(total_ms));
    }
    o = json_pack("{s:o,s:o,s:s,s:o}", "query", rag_render_str(query), "results", arr, "mode",
                  rag_search_mode_name(hits->mode_used), "timings_ms", t);
    if (o && rag_render_fusion_name(hits))
        json_object_set_new(o, "fusion", json_string(rag_render_fusion_name(hits)));
    if (o && hits->reranked)
        json_object_set_new(o, "reranked_by", rag_render_str(hits->rerank_backend));
    if (o && hits->notice[0])
        json_object_set_new(o, "notice", rag_render_str(hits->notice));
    return o;
}

/* A ", "-separated list as a JSON array of strings. */
static json_t *str_list(const char *list)
{
    json_t *a = json_array();
    while (a && list && *list) {
        const char *e = strstr(list, ", ");
        size_t n = e ? (size_t)(e - list) : strlen(list);
        json_array_append_new(a, json_stringn(list, n));
        list = e ? e + 2 : list + n;
    }
    return a;
}

static json_t *render_gate(const rag_gate_report *g)
{
    json_t *o = json_pack("{s:b,s:f,s:f,s:o}", "relevant", g->relevant, "coverage",
                          g->coverage, "threshold", g->threshold, "missing",
                          str_list(g->missing));
    if (o && g->reason[0])
        json_object_set_new(o, "reason", rag_render_str(g->reason));
    if (o && g->ignored[0])
        json_object_set_new(o, "ignored", str_list(g->ignored));
    if (o && g->split[0])
        json_object_set_new(o, "split", str_list(g->split));
    if (o && g->n_parts > 1) {
        json_t *ps = json_array();
        for (size_t p = 0; ps && p < g->n_parts; p++)
            json_array_append_new(ps, json_pack("{s:o,s:f}", "text",
                                                rag_render_str(g->part_text[p]), "coverage",
                                                g->part_coverage[p]));
        json_object_set_new(o, "parts", ps);
    }
    return o;
}

json_t *rag_render_answer(const char *question, const rag_answer *a,
                          const rag_ask_timings *t)
{
    json_t *cites = json_array();
    for (size_t i = 0; cites && i < a->n_citations; i++) {
        const rag_citation *c = &a->citations[i];
        json_array_append_new(cites, json_pack(
            "{s:i,s:i,s:o,s:o,s:o,s:i,s:i,s:o}", "n", c->n, "n_given", c->n_given,
            "chunk_id", rag_render_id(c->chunk_id), "doc", rag_render_str(c->doc), "title",
            rag_render_str(c->title), "page_start", c->page_start, "page_end", c->page_end,
            "section", rag_render_str(c->section)));
        json_object_set_new(json_array_get(cites, json_array_size(cites) - 1), "version",
                            rag_render_str(c->version ? c->version : ""));
    }
    json_t *tm = rag_render_timings(&t->stages);
    json_t *o;
    if (tm) {
        json_object_set_new(tm, "search", json_real(t->search_ms));
        json_object_set_new(tm, "gate", json_real(t->gate_ms));
        json_object_set_new(tm, "answer", json_real(t->answer_ms));
        json_object_set_new(tm, "total", json_real(t->total_ms));
    }
    o = json_pack("{s:o,s:o,s:o,s:f,s:b,s:o,s:o,s:s}", "question", rag_render_str(question),
                  "answer", rag_render_str(a->answer), "citations", cites, "confidence",
                  a->confidence, "refused", a->refused, "backend", rag_render_str(a->backend),
                  "timings_ms", tm, "mode",
                  rag_search_mode_name(t->mode_used));
    if (o && t->reranked_by[0])
        json_object_set_new(o, "reranked_by", rag_render_str(t->reranked_by));
    if (o) {
        json_t *ss = json_array();
        for (size_t i = 0; ss && i < a->n_sentences; i++)
            json_array_append_new(ss, json_pack("{s:o,s:i,s:i}", "text",
                                                rag_render_str(a->sentences[i].text), "n",
                                                a->sentences[i].n, "page",
                                                a->sentences[i].page));
        json_object_set_new(o, "sentences", ss);
        json_object_set_new(o, "gate", render_gate(&t->gate));
    }
    /* optional keys, present only when non-empty */
    if (o && a->n_dropped) {
        json_t *d = json_array();
        for (size_t i = 0; d && i < a->n_dropped; i++)
            json_array_append_new(d, json_integer(a->dropped_citations[i]));
        json_object_set_new(o, "dropped_citations", d);
    }
    if (o && a->notice && a->notice[0])
        json_object_set_new(o, "notice", rag_render_str(a->notice));
    if (o && t->search_notice[0])
        json_object_set_new(o, "search_notice", rag_render_str(t->search_notice));
    if (o && a->model)
        json_object_set_new(o, "model", rag_render_str(a->model));
    if (o)
        json_object_set_new(o, "usage", json_pack("{s:I,s:I,s:f}", "tokens_in",
                                                  (json_int_t)a->tokens_in, "tokens_out",
                                                  (json_int_t)a->tokens_out, "cost_usd",
                                                  a->cost_usd));
    return o;
}

json_t *rag_render_sources(const rag_hits *hits, int relevant)
{
    json_t *arr = json_array(), *o;
    for (size_t i = 0; arr && i < hits->n; i++) {
        const rag_hit *h = &hits->items[i];
        json_array_append_new(arr, json_pack(
            "{s:i,s:o,s:o,s:o,s:i,s:i,s:o,s:o,s:f,s:o}", "n", (int)i + 1, "chunk_id",
            rag_render_id(h->row.chunk_id), "doc", rag_render_str(h->row.doc), "title",
            rag_render_str(h->row.title), "page_start", h->row.page_start, "page_end",
            h->row.page_end, "section", rag_render_str(h->row.section), "text",
            rag_render_str(h->row.text), "score", h->score, "stages",
            stages_json(&h->stages)));
        json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "version",
                            rag_render_str(h->row.version ? h->row.version : ""));
    }
    o = json_pack("{s:o,s:s,s:b}", "sources", arr, "mode",
                  rag_search_mode_name(hits->mode_used), "relevant", relevant);
    if (o && hits->notice[0])
        json_object_set_new(o, "notice", rag_render_str(hits->notice));
    return o;
}

json_t *rag_render_id(int64_t id)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%lld", (long long)id);
    return json_string(buf);
}

static void public_names(json_t *v, int depth)
{
    const char *k;
    json_t *x;
    size_t i;
    if (depth > 16)
        return;
    if (json_is_object(v)) {
        json_object_foreach(v, k, x) {
            const char *path = json_string_value(x), *b;
            if (!strcmp(k, "doc") && path && (b = strrchr(path, '/'))) {
                size_t n = strlen(b + 1);
                char *name = malloc(n + 1);   /* b points into x */
                if (name) {
                    memcpy(name, b + 1, n + 1);
                    json_string_setn(x, name, n);
                    free(name);
                }
            } else {
                public_names(x, depth + 1);
            }
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, x)
            public_names(x, depth + 1);
    }
}

void rag_render_public_names(json_t *o)
{
    public_names(o, 0);
}

char *rag_render_dump(const json_t *o)
{
    return json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
}
