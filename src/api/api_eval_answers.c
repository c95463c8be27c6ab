/* api_eval_answers.c - the answer-quality eval behind docrag.h: every
 * question of an answers file (src/eval/answers.c loads it) goes through
 * docrag_ask on the caller's session, exactly as `docrag ask` would answer
 * it, and the answers are scored: nuggets held, refusals, junk and
 * duplicate quoted sentences, and the AUC of the confidence against
 * "holds every nugget".
 */
#include "api_int.h"

#include "eval/eval.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* What scoring one answer found. */
typedef struct {
    int refused;
    double confidence;
    size_t n_held;
    int all_held;          /* answerable, not refused, every nugget held */
    size_t n_sentences, n_junk, n_dup;
} one_score;

static json_t *rate(size_t num, size_t den)
{
    return den ? json_real((double)num / (double)den) : json_null();
}

static json_t *mean_or_null(double sum, size_t n)
{
    return n ? json_real(sum / (double)n) : json_null();
}

/* Score the answer text of q into sc and r (the per-question JSON). */
static int score_answer(const rag_ans_item *q, const char *answer, one_score *sc, json_t *r,
                        rag_err *err)
{
    json_t *missing = json_array(), *junk = json_array();
    rag_ans_sentences sents;
    char *flat = NULL;
    int rc = RAG_OK;

    if (!missing || !junk) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }
    if (!sc->refused) {
        if (!(flat = rag_ans_squash(answer, strlen(answer), 1))) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
            goto done;
        }
        if ((rc = rag_ans_split(&sents, answer, err)) < 0)
            goto done;
        for (size_t i = 0; i < sents.n; i++) {
            rag_junk_kind k = rag_ans_junk_classify(sents.items[i]);
            sc->n_sentences++;
            if (k != RAG_JUNK_NONE) {
                sc->n_junk++;
                json_array_append_new(junk, json_pack("{s:s,s:s}", "kind",
                                                      rag_ans_junk_name(k), "text",
                                                      sents.items[i]));
                continue;
            }
            for (size_t j = 0; j < i; j++)
                if (rag_ans_near_duplicate(sents.items[i], sents.items[j])) {
                    sc->n_dup++;
                    break;
                }
        }
        rag_ans_sentences_fini(&sents);
    }
    for (size_t g = 0; g < q->n_nuggets; g++) {
        if (flat && rag_ans_nugget_match(&q->nuggets[g], flat))
            sc->n_held++;
        else
            json_array_append_new(missing, json_string(q->nuggets[g].text));
    }
    sc->all_held = q->answerable && !sc->refused && sc->n_held == q->n_nuggets;
    json_object_set_new(r, "nuggets", json_integer((json_int_t)q->n_nuggets));
    json_object_set_new(r, "nuggets_held", json_integer((json_int_t)sc->n_held));
    json_object_set_new(r, "all_nuggets", json_boolean(sc->all_held));
    json_object_set_new(r, "missing", missing);
    json_object_set_new(r, "sentences", json_integer((json_int_t)sc->n_sentences));
    json_object_set_new(r, "junk", junk);
    json_object_set_new(r, "duplicates", json_integer((json_int_t)sc->n_dup));
    missing = junk = NULL;
done:
    json_decref(missing);
    json_decref(junk);
    rag_free(flat);
    return rc;
}

static int same_doc(const char *stored, const char *want)
{
    size_t ns = strlen(stored), nw = strlen(want);
    if (ns == nw)
        return !strcmp(stored, want);
    return ns > nw && stored[ns - nw - 1] == '/' && !strcmp(stored + ns - nw, want);
}

/* RAG_ENOTFOUND naming the first expected document that is not indexed. */
static int expect_docs(rag_index *ix, const rag_ans_set *set, rag_err *err)
{
    sqlite3_stmt *st = NULL;
    char **paths = NULL;
    size_t n = 0, cap = 0;
    int rc = RAG_OK;

    if (sqlite3_prepare_v2(rag_index_db(ix), "SELECT path FROM documents", -1, &st,
                           NULL) != SQLITE_OK)
        return rag_fail(err, RAG_EIO, "eval: %s", sqlite3_errmsg(rag_index_db(ix)));
    while (rc == RAG_OK && sqlite3_step(st) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 32;
            char **np = rag_realloc(paths, nc * sizeof *np);
            if (!np) {
                rc = rag_fail(err, RAG_ENOMEM, "out of memory");
                break;
            }
            paths = np;
            cap = nc;
        }
        if (!(paths[n] = rag_strdup(p ? p : ""))) {
            rc = rag_fail(err, RAG_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < set->n && rc == RAG_OK; i++)
        for (size_t s = 0; s < set->items[i].n_sources && rc == RAG_OK; s++) {
            int found = 0;
            for (size_t d = 0; d < n && !found; d++)
                found = same_doc(paths[d], set->items[i].sources[s].doc);
            if (!found)
                rc = rag_fail(err, RAG_ENOTFOUND, "%s:%d: %s: document \"%s\" is not in "
                              "the index (index its folder with --docs)", set->path,
                              set->items[i].line, set->items[i].id,
                              set->items[i].sources[s].doc);
        }
    for (size_t i = 0; i < n; i++)
        rag_free(paths[i]);
    rag_free(paths);
    return rc;
}

static void notice_add(char *notice, size_t cap, const char *text)
{
    size_t n = strlen(notice);
    if (!text || !text[0] || strstr(notice, text))
        return;
    snprintf(notice + n, cap - n, "%s%s", n ? "; " : "", text);
}

/* Index docs_dir through s; *index gets the report's counts. */
static int index_folder(docrag_session *s, const char *docs_dir, json_t **index,
                        docrag_error *derr)
{
    char *report = NULL;
    json_t *o;
    json_error_t je;
    int rc = docrag_index(s, &docs_dir, 1, NULL, &report, derr);
    if (rc < 0)
        return rc;
    o = json_loads(report, 0, &je);
    docrag_free(report);
    if (!o)
        return api_err(derr, &(rag_err){RAG_ENOMEM, "eval: the index report is unreadable"});
    *index = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?}", "added",
                       json_object_get(o, "added"), "updated", json_object_get(o, "updated"),
                       "unchanged", json_object_get(o, "unchanged"), "removed",
                       json_object_get(o, "removed"), "failed", json_object_get(o, "failed"),
                       "chunks", json_object_get(o, "chunks"));
    json_decref(o);
    return *index ? DOCRAG_OK
                  : api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
}

/* Per kind, in the order of the file's first use of each kind. */
typedef struct {
    const char *kind;
    size_t n, n_all, n_refused;
    double recall_sum;
    int answerable;
} kind_row;

int docrag_eval_answers(docrag_session *s, const char *path, const char *docs_dir,
                        const docrag_eval_opts *o, char **out, docrag_error *derr)
{
    rag_ans_set set;
    rag_err err = {0};
    json_t *results = NULL, *misses = NULL, *backends = NULL, *index = NULL, *j = NULL;
    json_t *by_kind = NULL;
    kind_row *kinds = NULL;
    double *conf = NULL;
    int *label = NULL;
    size_t n_kinds = 0, n_ans = 0, n_unans = 0, n_all = 0, n_false_refusal = 0;
    size_t n_refused_unans = 0, n_sent = 0, n_junk = 0, n_dup = 0;
    double recall_sum = 0, auc;
    char notice[1024] = "";
    int rc;

    *out = NULL;
    if (!path)
        return api_err(derr, &(rag_err){RAG_EINVAL, "the answers file is missing"});
    if (o && (o->k < 0 || o->k > 1000)) {
        rag_fail(&err, RAG_EINVAL, "k %d: expected 1 to 1000", o->k);
        return api_err(derr, &err);
    }
    if (api_need(s->e, DOCRAG_SCOPE_ALL, &err) < 0)
        return api_err(derr, &err);
    if (rag_ans_load(&set, path, &err) < 0) {
        rag_ans_set_fini(&set);
        return api_err(derr, &err);
    }
    if (docs_dir && (rc = index_folder(s, docs_dir, &index, derr)) < 0) {
        rag_ans_set_fini(&set);
        return rc;
    }
    if ((rc = expect_docs(s->ix, &set, &err)) < 0)
        goto fail;
    results = json_array();
    misses = json_array();
    backends = json_object();
    by_kind = json_array();
    kinds = rag_calloc(set.n, sizeof *kinds);
    conf = rag_calloc(set.n, sizeof *conf);
    label = rag_calloc(set.n, sizeof *label);
    if (!results || !misses || !backends || !by_kind || !kinds || !conf || !label) {
        rc = rag_fail(&err, RAG_ENOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < set.n; i++) {
        const rag_ans_item *q = &set.items[i];
        docrag_ask_opts ao;
        docrag_error aerr;
        one_score sc;
        char *text = NULL;
        const char *answer, *backend;
        json_t *a, *r;
        json_error_t je;
        kind_row *kr = NULL;

        docrag_ask_opts_init(&ao);
        ao.search.mode = o ? o->mode : NULL;
        ao.search.k = o ? o->k : 0;
        if (docrag_ask(s, q->question, &ao, &text, &aerr) < 0) {
            rc = rag_fail(&err, aerr.code, "%s:%d: %s: %s", set.path, q->line, q->id,
                          aerr.msg);
            goto fail;
        }
        a = json_loads(text, 0, &je);
        docrag_free(text);
        if (!a) {
            rc = rag_fail(&err, RAG_ENOMEM, "%s: the answer is unreadable", q->id);
            goto fail;
        }
        memset(&sc, 0, sizeof sc);
        sc.refused = json_is_true(json_object_get(a, "refused"));
        sc.confidence = json_number_value(json_object_get(a, "confidence"));
        answer = json_string_value(json_object_get(a, "answer"));
        backend = json_string_value(json_object_get(a, "backend"));
        if (!answer)
            answer = "";
        if (!backend)
            backend = "?";
        notice_add(notice, sizeof notice, json_string_value(json_object_get(a, "notice")));
        notice_add(notice, sizeof notice,
                   json_string_value(json_object_get(a, "search_notice")));
        json_object_set_new(backends, backend,
                            json_integer(json_integer_value(json_object_get(backends,
                                                                            backend)) + 1));
        r = json_pack("{s:s,s:s,s:b,s:b,s:f,s:s,s:s}", "id", q->id, "kind", q->kind,
                      "answerable", q->answerable, "refused", sc.refused, "confidence",
                      sc.confidence, "backend", backend, "answer", answer);
        if (!r || (rc = score_answer(q, answer, &sc, r, &err)) < 0) {
            json_decref(r);
            json_decref(a);
            if (rc == RAG_OK)
                rc = rag_fail(&err, RAG_ENOMEM, "out of memory");
            goto fail;
        }
        json_array_append_new(results, r);
        n_sent += sc.n_sentences;
        n_junk += sc.n_junk;
        n_dup += sc.n_dup;
        conf[i] = sc.confidence;
        label[i] = sc.all_held;
        for (size_t k = 0; k < n_kinds && !kr; k++)
            if (!strcmp(kinds[k].kind, q->kind))
                kr = &kinds[k];
        if (!kr) {
            kr = &kinds[n_kinds++];
            kr->kind = q->kind;
            kr->answerable = q->answerable;
        }
        kr->n++;
        kr->n_refused += sc.refused != 0;
        if (q->answerable) {
            double recall = (double)sc.n_held / (double)q->n_nuggets;
            n_ans++;
            recall_sum += recall;
            kr->recall_sum += recall;
            n_all += sc.all_held;
            kr->n_all += sc.all_held;
            n_false_refusal += sc.refused != 0;
            if (!sc.all_held) {
                char why[512];
                if (sc.refused)
                    snprintf(why, sizeof why, "refused (confidence %.2f)", sc.confidence);
                else
                    snprintf(why, sizeof why, "%zu of %zu nuggets (confidence %.2f)",
                             sc.n_held, q->n_nuggets, sc.confidence);
                json_array_append_new(misses, json_pack("{s:s,s:s,s:s,s:s,s:O}", "id", q->id,
                                                        "kind", q->kind, "question",
                                                        q->question, "why", why, "missing",
                                                        json_object_get(r, "missing")));
            }
        } else {
            n_unans++;
            n_refused_unans += sc.refused != 0;
            if (!sc.refused) {
                char why[128];
                snprintf(why, sizeof why, "answered, must be refused (confidence %.2f)",
                         sc.confidence);
                json_array_append_new(misses, json_pack("{s:s,s:s,s:s,s:s,s:[]}", "id", q->id,
                                                        "kind", q->kind, "question",
                                                        q->question, "why", why,
                                                        "missing"));
            }
        }
        json_decref(a);
    }
    for (size_t k = 0; k < n_kinds; k++) {
        kind_row *kr = &kinds[k];
        json_array_append_new(by_kind, json_pack("{s:s,s:b,s:I,s:o,s:o,s:o}", "kind",
                                                 kr->kind, "answerable", kr->answerable, "n",
                                                 (json_int_t)kr->n, "all_nuggets",
                                                 kr->answerable ? rate(kr->n_all, kr->n)
                                                                : json_null(),
                                                 "nugget_recall",
                                                 kr->answerable
                                                     ? mean_or_null(kr->recall_sum, kr->n)
                                                     : json_null(),
                                                 "refused", rate(kr->n_refused, kr->n)));
    }
    auc = rag_ans_auc(conf, label, set.n);
    j = json_pack("{s:I,s:I,s:I,s:s,s:I,s:o,s:o,s:o,s:o,s:I,s:o,s:o,s:o,s:o}", "questions",
                  (json_int_t)set.n, "answerable", (json_int_t)n_ans, "unanswerable",
                  (json_int_t)n_unans, "mode",
                  o && o->mode ? o->mode : rag_search_mode_name(s->e->mode), "k",
                  (json_int_t)(o && o->k ? (size_t)o->k
                                         : rag_ask_opts_from_config(s->e->cfg).context_chunks),
                  "all_nuggets", rate(n_all, n_ans),
                  "nugget_recall", mean_or_null(recall_sum, n_ans), "false_refusal",
                  rate(n_false_refusal, n_ans), "refused_unanswerable",
                  rate(n_refused_unans, n_unans), "sentences", (json_int_t)n_sent, "junk",
                  rate(n_junk, n_sent), "duplicate", rate(n_dup, n_sent),
                  "junk_or_duplicate", rate(n_junk + n_dup, n_sent), "auc",
                  auc < 0 ? json_null() : json_real(auc));
    if (!j) {
        rc = rag_fail(&err, RAG_ENOMEM, "out of memory");
        goto fail;
    }
    json_object_set_new(j, "backends", backends);
    json_object_set_new(j, "by_kind", by_kind);
    json_object_set_new(j, "results", results);
    json_object_set_new(j, "misses", misses);
    backends = by_kind = results = misses = NULL;
    if (index) {
        json_object_set_new(j, "index", index);
        index = NULL;
    }
    if (notice[0])
        json_object_set_new(j, "notice", json_string(notice));
    rc = api_take_json(j, out, &err);
    j = NULL;
fail:
    json_decref(j);
    json_decref(results);
    json_decref(misses);
    json_decref(backends);
    json_decref(by_kind);
    json_decref(index);
    rag_free(kinds);
    rag_free(conf);
    rag_free(label);
    rag_ans_set_fini(&set);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}

static void on_problem(void *ctx, const rag_ans_item *q, const char *msg)
{
    json_array_append_new(ctx, json_pack("{s:i,s:s,s:s}", "line", q->line, "id", q->id,
                                         "message", msg));
}

int docrag_eval_answers_check(docrag_engine *e, const char *path, const char *docs_dir,
                              char **out, docrag_error *derr)
{
    rag_indexer_opts io = rag_indexer_opts_from_config(e->cfg);
    rag_ans_set set;
    rag_err err = {0};
    size_t n_bad = 0, n_checked = 0;
    json_t *problems;
    int rc;

    *out = NULL;
    if (!path || !docs_dir)
        return api_err(derr, &(rag_err){RAG_EINVAL, "the answers file or documents folder "
                                        "is missing"});
    if (rag_ans_load(&set, path, &err) < 0) {
        rag_ans_set_fini(&set);
        return api_err(derr, &err);
    }
    if (!(problems = json_array())) {
        rag_ans_set_fini(&set);
        return api_err(derr, &(rag_err){RAG_ENOMEM, "out of memory"});
    }
    rc = rag_ans_check(&set, docs_dir, &io.extract, on_problem, problems, &n_bad, &n_checked,
                       &err);
    if (rc == RAG_OK)
        rc = api_take_json(json_pack("{s:I,s:I,s:o}", "questions", (json_int_t)set.n,
                                     "nuggets", (json_int_t)n_checked, "problems", problems),
                           out, &err);
    else
        json_decref(problems);
    rag_ans_set_fini(&set);
    return rc < 0 ? api_err(derr, &err) : DOCRAG_OK;
}
