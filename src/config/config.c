/* config.c - build the effective configuration from its layers.
 *
 * Layers, later wins: table defaults, profile defaults, the YAML file,
 * DOCRAG_* environment variables, --set flags. Every layer hands text to
 * one function, set_value(), which expands ${VAR} (profile and file layers
 * only: the shell already expanded the others), converts, range-checks and
 * records where the value came from. Errors name the key and that origin
 * ("docrag.yaml:12:7: search.k: ...", "environment DOCRAG_SEARCH_K: ...").
 * Cross-key checks (chains name existing back-ends, chunk sizes agree) and
 * placeholder tokens are handled once all layers are in.
 */
#include "config_int.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_CONFIG_BYTES (1024 * 1024)

typedef struct {
    cfg_from from;
    const char *label;   /* file name, env var name, or profile name */
    const cfg_doc *doc;  /* CFG_FROM_FILE: for item positions */
    const char *path[3]; /* CFG_FROM_FILE: path of the value */
    size_t n_path;
} where;

/* "FILE:L:C", "environment DOCRAG_X", "--set", "profile P", "default". */
static void where_text(char *buf, size_t n, const where *w, long item)
{
    int line = 0, col = 0;
    switch (w->from) {
    case CFG_FROM_FILE:
        if (w->doc && (cfg_doc_pos(w->doc, w->path, w->n_path, item, &line, &col) == 0 ||
                       cfg_doc_pos(w->doc, w->path, w->n_path, -1, &line, &col) == 0))
            snprintf(buf, n, "%s:%d:%d", w->label, line, col);
        else
            snprintf(buf, n, "%s", w->label);
        break;
    case CFG_FROM_ENV: snprintf(buf, n, "environment %s", w->label); break;
    case CFG_FROM_FLAG:
        snprintf(buf, n, w->label[0] == '-' ? "%s" : "--set %s", w->label);
        break;
    case CFG_FROM_PROFILE: snprintf(buf, n, "profile %s", w->label); break;
    case CFG_FROM_DETECT: snprintf(buf, n, "detected from %s", w->label); break;
    default: snprintf(buf, n, "default"); break;
    }
}

static int fail_at(rag_err *err, int code, const where *w, long item, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail_at(rag_err *err, int code, const where *w, long item, const char *fmt, ...)
{
    char at[160], msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    where_text(at, sizeof at, w, item);
    return rag_fail(err, code, "%s: %s", at, msg);
}

static void origin_set(cfg_origin *o, const where *w)
{
    o->from = (uint8_t)w->from;
    o->line = o->col = 0;
    if (w->from == CFG_FROM_FILE && w->doc)
        cfg_doc_pos(w->doc, w->path, w->n_path, -1, &o->line, &o->col);
}

/* ---- typed storage ----------------------------------------------------------- */

static void list_free(const struct cfg_field *f, void *base)
{
    size_t *count = (size_t *)((char *)base + f->count_offset);
    char **items = f->max_items ? (char **)((char *)base + f->offset)
                                : *(char ***)((char *)base + f->offset);
    for (size_t i = 0; items && i < *count; i++) {
        rag_free(items[i]);
        items[i] = NULL;
    }
    if (!f->max_items) {
        rag_free(items);
        *(char ***)((char *)base + f->offset) = NULL;
    }
    *count = 0;
}

static void field_free(const struct cfg_field *f, void *base)
{
    if (f->type == CFG_STR || f->type == CFG_ENUM) {
        char **p = (char **)((char *)base + f->offset);
        rag_free(*p);
        *p = NULL;
    } else if (f->type == CFG_LIST) {
        list_free(f, base);
    }
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

/* Convert and store one scalar. `shown` is how errors quote the value. */
static int store_scalar(const struct cfg_field *f, void *base, const char *key,
                        const char *value, int hide, const where *w, rag_err *err)
{
    char shown[80];
    char *end;
    void *dst = (char *)base + f->offset;
    const char *v = value;
    size_t n = strlen(value);

    trim(&v, &n);
    /* a value that came through ${VAR} may be someone's token in the wrong
       field: never quote it */
    if (hide || (f->flags & CFG_SECRET) || cfg_key_is_secret(key))
        snprintf(shown, sizeof shown, "the value");
    else
        snprintf(shown, sizeof shown, "'%.*s'", n > 40 ? 40 : (int)n, v);

    switch (f->type) {
    case CFG_INT:
    case CFG_LONG: {
        char tmp[32];
        long x;
        if (n == 0 || n >= sizeof tmp)
            return fail_at(err, RAG_EFORMAT, w, -1, "%s: %s is not an integer", key, shown);
        memcpy(tmp, v, n);
        tmp[n] = '\0';
        errno = 0;
        x = strtol(tmp, &end, 10);
        if (*end || errno)
            return fail_at(err, RAG_EFORMAT, w, -1, "%s: %s is not an integer", key, shown);
        if ((double)x < f->min || (double)x > f->max)
            return fail_at(err, RAG_EFORMAT, w, -1, "%s: %ld is out of range [%.0f, %.0f]",
                           key, x, f->min, f->max);
        if (f->type == CFG_INT)
            *(int *)dst = (int)x;
        else
            *(long *)dst = x;
        return RAG_OK;
    }
    case CFG_DOUBLE: {
        char tmp[64];
        double x;
        if (n == 0 || n >= sizeof tmp)
            return fail_at(err, RAG_EFORMAT, w, -1, "%s: %s is not a number", key, shown);
        memcpy(tmp, v, n);
        tmp[n] = '\0';
        x = strtod(tmp, &end);
        if (*end || !isfinite(x))
            return fail_at(err, RAG_EFORMAT, w, -1, "%s: %s is not a number", key, shown);
        if (x < f->min || x > f->max)
            return fail_at(err, RAG_EFORMAT, w, -1, "%s: %g is out of range [%g, %g]", key,
                           x, f->min, f->max);
        *(double *)dst = x;
        return RAG_OK;
    }
    case CFG_BOOL: {
        static const char *const yes[] = {"true", "yes", "on", "1", NULL};
        static const char *const no[] = {"false", "no", "off", "0", NULL};
        for (size_t i = 0; yes[i]; i++)
            if (n == strlen(yes[i]) && !strncasecmp(v, yes[i], n)) {
                *(int *)dst = 1;
                return RAG_OK;
            }
        for (size_t i = 0; no[i]; i++)
            if (n == strlen(no[i]) && !strncasecmp(v, no[i], n)) {
                *(int *)dst = 0;
                return RAG_OK;
            }
        return fail_at(err, RAG_EFORMAT, w, -1, "%s: %s is not true or false", key, shown);
    }
    case CFG_ENUM: {
        size_t n_choices = 0;
        char list[160] = "";
        const char *hint;
        char tmp[64];
        for (; f->choices[n_choices]; n_choices++) {
            const char *c = f->choices[n_choices];
            if (strlen(c) == n && !strncmp(c, v, n)) {
                char *copy = rag_strdup(c);
                if (!copy)
                    return rag_fail(err, RAG_ENOMEM, "config: out of memory");
                rag_free(*(char **)dst);
                *(char **)dst = copy;
                return RAG_OK;
            }
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     n_choices ? ", " : "", c);
        }
        snprintf(tmp, sizeof tmp, "%.*s", (int)n, v);
        hint = cfg_did_you_mean(tmp, f->choices, n_choices);
        if (hint)
            return fail_at(err, RAG_EFORMAT, w, -1, "%s: %s is not one of %s (did you mean "
                           "'%s'?)", key, shown, list, hint);
        return fail_at(err, RAG_EFORMAT, w, -1, "%s: %s is not one of %s", key, shown, list);
    }
    case CFG_STR: {
        /* strings keep inner spaces but not surrounding ones */
        char *copy = rag_strndup(v, n);
        if (!copy)
            return rag_fail(err, RAG_ENOMEM, "config: out of memory");
        rag_free(*(char **)dst);
        *(char **)dst = copy;
        return RAG_OK;
    }
    default:
        return rag_fail(err, RAG_EINVAL, "%s: not a scalar", key);
    }
}

/* Store a list given as items (file) or as "a,b,c" (other layers). */
static int store_list(const struct cfg_field *f, void *base, const char *key,
                      char **items, size_t n_items, const where *w, rag_err *err)
{
    size_t *count = (size_t *)((char *)base + f->count_offset);
    char **dst;
    if (f->max_items && n_items > f->max_items)
        return fail_at(err, RAG_ELIMIT, w, -1, "%s: at most %zu entries", key, f->max_items);
    list_free(f, base);
    if (f->max_items) {
        dst = (char **)((char *)base + f->offset);
    } else {
        dst = n_items ? rag_calloc(n_items, sizeof *dst) : NULL;
        if (n_items && !dst)
            return rag_fail(err, RAG_ENOMEM, "config: out of memory");
        *(char ***)((char *)base + f->offset) = dst;
    }
    for (size_t i = 0; i < n_items; i++) {
        dst[i] = items[i];
        items[i] = NULL;
    }
    *count = n_items;
    return RAG_OK;
}

/* Split "a, b,c" into trimmed owned items (empty entries dropped). */
static int split_list(char ***out, size_t *n_out, const char *text, rag_err *err)
{
    size_t cap = 1, n = 0;
    char **items;
    for (const char *p = text; *p; p++)
        cap += *p == ',';
    items = rag_calloc(cap, sizeof *items);
    if (!items)
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    for (const char *p = text;;) {
        const char *e = strchr(p, ',');
        const char *s = p;
        size_t len = e ? (size_t)(e - p) : strlen(p);
        trim(&s, &len);
        if (len) {
            items[n] = rag_strndup(s, len);
            if (!items[n]) {
                for (size_t i = 0; i < n; i++)
                    rag_free(items[i]);
                rag_free(items);
                return rag_fail(err, RAG_ENOMEM, "config: out of memory");
            }
            n++;
        }
        if (!e)
            break;
        p = e + 1;
    }
    *out = items;
    *n_out = n;
    return RAG_OK;
}

static void free_items(char **items, size_t n)
{
    for (size_t i = 0; items && i < n; i++)
        rag_free(items[i]);
    rag_free(items);
}

/* The one entry point every layer uses. `text` for scalars and for lists
 * written "a,b"; `items` for lists from YAML. expand: apply ${VAR}. */
static int set_value(const struct cfg_field *f, void *base, const char *key,
                     cfg_origin *origin, const char *text, char *const *items,
                     size_t n_items, int expand, char **first_var, const where *w,
                     rag_err *err)
{
    int rc = RAG_OK;
    if (f->type != CFG_LIST) {
        const char *orig = text;
        char *v = NULL;
        if (expand) {
            rc = cfg_expand(&v, text, key, first_var, err);
            if (rc < 0) {
                char at[160];
                where_text(at, sizeof at, w, -1);
                return rag_err_prefix(err, "%s", at);
            }
            text = v;
        }
        rc = store_scalar(f, base, key, text, v && strchr(orig, '$'), w, err);
        rag_free(v);
    } else {
        char **list = NULL;
        size_t n = 0;
        if (items) {
            list = rag_calloc(n_items ? n_items : 1, sizeof *list);
            if (!list)
                return rag_fail(err, RAG_ENOMEM, "config: out of memory");
            for (size_t i = 0; i < n_items && rc == RAG_OK; i++, n++) {
                if (w->from == CFG_FROM_FILE && w->doc &&
                    cfg_doc_is_null(w->doc, w->path, w->n_path, (long)i)) {
                    if (!(list[i] = rag_strdup("")))
                        rc = rag_fail(err, RAG_ENOMEM, "config: out of memory");
                } else if (expand) {
                    rc = cfg_expand(&list[i], items[i], key, first_var, err);
                    if (rc < 0) {
                        char at[160];
                        where_text(at, sizeof at, w, (long)i);
                        rag_err_prefix(err, "%s", at);
                    }
                } else if (!(list[i] = rag_strdup(items[i]))) {
                    rc = rag_fail(err, RAG_ENOMEM, "config: out of memory");
                }
            }
        } else {
            char *v = NULL;
            if (expand && (rc = cfg_expand(&v, text, key, first_var, err)) < 0) {
                char at[160];
                where_text(at, sizeof at, w, -1);
                return rag_err_prefix(err, "%s", at);
            }
            rc = split_list(&list, &n, v ? v : text, err);
            rag_free(v);
        }
        if (rc == RAG_OK)
            rc = store_list(f, base, key, list, n, w, err);
        free_items(list, n);
    }
    if (rc == RAG_OK)
        origin_set(origin, w);
    return rc;
}

/* ---- lookups ------------------------------------------------------------------- */

static long field_index(const char *key)
{
    for (size_t i = 0; i < rag_cfg_n_fields; i++)
        if (!strcmp(rag_cfg_fields[i].key, key))
            return (long)i;
    return -1;
}

static long bfield_index(const char *key)
{
    for (size_t i = 0; i < rag_cfg_n_backend_fields; i++)
        if (!strcmp(rag_cfg_backend_fields[i].key, key))
            return (long)i;
    return -1;
}

static const char *unknown_hint(const char *key, int backend_field)
{
    const char *cands[64];
    size_t n = 0;
    if (backend_field) {
        for (size_t i = 0; i < rag_cfg_n_backend_fields && n < 64; i++)
            cands[n++] = rag_cfg_backend_fields[i].key;
    } else {
        for (size_t i = 0; i < rag_cfg_n_fields && n < 64; i++)
            cands[n++] = rag_cfg_fields[i].key;
    }
    return cfg_did_you_mean(key, cands, n);
}

double rag_backend_deadline_ms(const rag_backend_cfg *b)
{
    if (b->deadline_ms > 0)
        return (double)b->deadline_ms;
    return (double)(b->timeout_ms > 0 ? b->timeout_ms : 30000) *
           (double)((b->max_retries > 0 ? b->max_retries : 0) + 1);
}

const rag_backend_cfg *rag_config_backend(const rag_config *c, const char *name)
{
    if (!c || !name)
        return NULL;
    for (size_t i = 0; i < c->n_backends; i++)
        if (strcmp(c->backends[i].name, name) == 0)
            return &c->backends[i];
    return NULL;
}

int rag_config_chain_active(const rag_config *cfg, char *const *chain, size_t n)
{
    const rag_backend_cfg *b;
    if (n == 0 || !strcmp(chain[0], "none"))
        return 0;
    b = rag_config_backend(cfg, chain[0]);
    return !(b && b->type && !strcmp(b->type, "none"));
}

/* Index of backend `name`, created with table defaults when absent. */
static int backend_get(rag_config *c, const char *name, const where *w, size_t *idx,
                       rag_err *err)
{
    where dflt = {CFG_FROM_DEFAULT, NULL, NULL, {NULL}, 0};
    rag_backend_cfg *b;
    size_t len = strlen(name);
    for (size_t i = 0; i < c->n_backends; i++)
        if (!strcmp(c->backends[i].name, name)) {
            *idx = i;
            return RAG_OK;
        }
    if (len == 0 || len > 63)
        return fail_at(err, RAG_EFORMAT, w, -1, "backends: bad back-end name");
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)name[i]) && name[i] != '_' && name[i] != '-')
            return fail_at(err, RAG_EFORMAT, w, -1, "backends: a back-end name is letters, "
                           "digits, '_' or '-'");
    if (!strcmp(name, "extractive") || !strcmp(name, "none"))
        return fail_at(err, RAG_EFORMAT, w, -1, "backends.%s: '%s' is a built-in name", name,
                       name);
    if (c->n_backends >= RAG_MAX_BACKENDS)
        return fail_at(err, RAG_ELIMIT, w, -1, "backends: more than %d back-ends",
                       RAG_MAX_BACKENDS);
    b = &c->backends[c->n_backends];
    memset(b, 0, sizeof *b);
    b->name = rag_strdup(name);
    if (!b->name)
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    b->enabled = 1;
    *idx = c->n_backends++;
    memset(c->prov->backends[*idx], 0, sizeof c->prov->backends[*idx]);
    origin_set(&c->prov->backend_def[*idx], w);
    for (size_t j = 0; j < rag_cfg_n_backend_fields; j++) {
        const struct cfg_field *f = &rag_cfg_backend_fields[j];
        int rc;
        if (!f->def)
            continue;
        rc = set_value(f, b, f->key, &c->prov->backends[*idx][j], f->def, NULL, 0, 0, NULL,
                       &dflt, err);
        if (rc < 0)
            return rc;
    }
    return RAG_OK;
}

/* Set "backends.NAME.FIELD" from a profile default or a --set flag. */
static int set_backend_key(rag_config *c, const char *key, const char *value, int expand,
                           const where *w, rag_err *err)
{
    char name[64], full[160];
    const char *rest = key + strlen("backends."), *dot = strchr(rest, '.');
    size_t idx;
    long j;
    int rc;
    if (!dot || (size_t)(dot - rest) >= sizeof name || dot == rest)
        return fail_at(err, RAG_EINVAL, w, -1, "%s: expected backends.NAME.FIELD", key);
    memcpy(name, rest, (size_t)(dot - rest));
    name[dot - rest] = '\0';
    j = bfield_index(dot + 1);
    if (j < 0) {
        const char *hint = unknown_hint(dot + 1, 1);
        return fail_at(err, RAG_EINVAL, w, -1, "unknown key %s%s%s%s", key,
                       hint ? " (did you mean '" : "", hint ? hint : "", hint ? "'?)" : "");
    }
    rc = backend_get(c, name, w, &idx, err);
    if (rc < 0)
        return rc;
    snprintf(full, sizeof full, "backends.%s.%s", name, dot + 1);
    if (rag_cfg_backend_fields[j].flags & CFG_SECRET) {
        rag_free(c->prov->key_var[idx]);
        c->prov->key_var[idx] = NULL;
    }
    return set_value(&rag_cfg_backend_fields[j], &c->backends[idx], full,
                     &c->prov->backends[idx][j], value, NULL, 0, expand,
                     (rag_cfg_backend_fields[j].flags & CFG_SECRET) ? &c->prov->key_var[idx]
                                                                    : NULL,
                     w, err);
}

/* ---- layers ------------------------------------------------------------------- */

static int apply_defaults(rag_config *c, rag_err *err)
{
    where w = {CFG_FROM_DEFAULT, NULL, NULL, {NULL}, 0};
    for (size_t i = 0; i < rag_cfg_n_fields; i++) {
        const struct cfg_field *f = &rag_cfg_fields[i];
        int rc;
        if (!f->def)
            continue;
        rc = set_value(f, c, f->key, &c->prov->fields[i], f->def, NULL, 0, 0, NULL, &w, err);
        if (rc < 0)
            return rc;
    }
    return RAG_OK;
}

static int apply_profile(rag_config *c, rag_err *err)
{
    where w = {CFG_FROM_PROFILE, c->profile, NULL, {NULL}, 0};
    for (size_t i = 0; i < rag_cfg_n_profile_defaults; i++) {
        const struct cfg_profile_default *p = &rag_cfg_profile_defaults[i];
        int rc;
        if (strcmp(p->profile, c->profile) != 0)
            continue;
        if (!strncmp(p->key, "backends.", 9)) {
            rc = set_backend_key(c, p->key, p->value, 1, &w, err);
        } else {
            long k = field_index(p->key);
            if (k < 0)
                return rag_fail(err, RAG_EINVAL, "profile %s: unknown key %s", p->profile,
                                p->key);
            rc = set_value(&rag_cfg_fields[k], c, p->key, &c->prov->fields[k], p->value,
                           NULL, 0, 1, NULL, &w, err);
        }
        if (rc < 0)
            return rc;
    }
    if (!strcmp(c->profile, "hf_spaces")) {
        /* Spaces keep /data across restarts only with persistent storage */
        const char *db = access("/data", W_OK) == 0 ? "/data/docrag.db" : "/tmp/docrag.db";
        long k = field_index("db");
        return set_value(&rag_cfg_fields[k], c, "db", &c->prov->fields[k], db, NULL, 0, 0,
                         NULL, &w, err);
    }
    return RAG_OK;
}

static int apply_file(rag_config *c, const cfg_doc *doc, rag_err *err)
{
    long prof = field_index("profile");
    for (size_t i = 0; i < rag_cfg_n_fields; i++) {
        const struct cfg_field *f = &rag_cfg_fields[i];
        const cfg_slot *s = cfg_doc_field(doc, i);
        char section[64];
        const char *dot = strchr(f->key, '.');
        where w = {CFG_FROM_FILE, c->source_path, doc, {NULL}, 0};
        int rc;
        if (!s || (long)i == prof)
            continue;
        if (dot) {
            snprintf(section, sizeof section, "%.*s", (int)(dot - f->key), f->key);
            w.path[0] = section;
            w.path[1] = dot + 1;
            w.n_path = 2;
        } else {
            w.path[0] = f->key;
            w.n_path = 1;
        }
        if (f->type == CFG_LIST)
            rc = set_value(f, c, f->key, &c->prov->fields[i], NULL,
                           s->items ? s->items : (char *[]){NULL}, s->n_items, 1, NULL, &w,
                           err);
        else
            rc = set_value(f, c, f->key, &c->prov->fields[i],
                           s->scalar && !cfg_doc_is_null(doc, w.path, w.n_path, -1)
                               ? s->scalar : "",
                           NULL, 0, 1, NULL, &w, err);
        if (rc < 0)
            return rc;
    }
    for (size_t b = 0; b < cfg_doc_n_backends(doc); b++) {
        const char *name = cfg_doc_backend_name(doc, b);
        where w = {CFG_FROM_FILE, c->source_path, doc, {"backends", name, NULL}, 2};
        size_t idx;
        int rc = backend_get(c, name, &w, &idx, err);
        if (rc < 0)
            return rc;
        origin_set(&c->prov->backend_def[idx], &w);
        for (size_t j = 0; j < rag_cfg_n_backend_fields; j++) {
            const struct cfg_field *f = &rag_cfg_backend_fields[j];
            const cfg_slot *s = cfg_doc_backend_field(doc, b, j);
            char full[160];
            char **var = NULL;
            if (!s)
                continue;
            w.path[2] = f->key;
            w.n_path = 3;
            snprintf(full, sizeof full, "backends.%s.%s", name, f->key);
            if (f->flags & CFG_SECRET) {
                rag_free(c->prov->key_var[idx]);
                c->prov->key_var[idx] = NULL;
                var = &c->prov->key_var[idx];
            }
            if (f->type == CFG_LIST)
                rc = set_value(f, &c->backends[idx], full, &c->prov->backends[idx][j], NULL,
                               s->items ? s->items : (char *[]){NULL}, s->n_items, 1, var,
                               &w, err);
            else
                rc = set_value(f, &c->backends[idx], full, &c->prov->backends[idx][j],
                               s->scalar && !cfg_doc_is_null(doc, w.path, 3, -1)
                                   ? s->scalar : "",
                               NULL, 0, 1, var, &w, err);
            if (rc < 0)
                return rc;
        }
    }
    return RAG_OK;
}

/* "search.k" -> "DOCRAG_SEARCH_K" */
static void env_name(char *buf, size_t n, const char *key)
{
    size_t o = (size_t)snprintf(buf, n, "DOCRAG_");
    for (; *key && o + 1 < n; key++)
        buf[o++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
    buf[o] = '\0';
}

static int apply_env(rag_config *c, rag_err *err)
{
    for (size_t i = 0; i < rag_cfg_n_fields; i++) {
        const struct cfg_field *f = &rag_cfg_fields[i];
        char name[80];
        const char *v;
        where w = {CFG_FROM_ENV, name, NULL, {NULL}, 0};
        int rc;
        if (!strcmp(f->key, "profile"))
            continue;
        env_name(name, sizeof name, f->key);
        v = getenv(name);
        if (!v || !*v)
            continue;
        rc = set_value(f, c, f->key, &c->prov->fields[i], v, NULL, 0, 0, NULL, &w, err);
        if (rc < 0)
            return rc;
    }
    return RAG_OK;
}

static int apply_sets(rag_config *c, const rag_config_source *src, rag_err *err)
{
    for (size_t i = 0; src && i < src->n_sets; i++) {
        const char *kv = src->sets[i], *eq = kv ? strchr(kv, '=') : NULL;
        char key[160];
        where w = {CFG_FROM_FLAG, key, NULL, {NULL}, 0};
        long k;
        int rc;
        if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key)
            return rag_fail(err, RAG_EINVAL, "--set: expected KEY=VALUE (e.g. search.k=20)");
        memcpy(key, kv, (size_t)(eq - kv));
        key[eq - kv] = '\0';
        if (!strcmp(key, "profile"))
            continue; /* chosen before the profile layer */
        if (!strncmp(key, "backends.", 9)) {
            rc = set_backend_key(c, key, eq + 1, 0, &w, err);
        } else if ((k = field_index(key)) < 0) {
            const char *hint = unknown_hint(key, 0);
            return rag_fail(err, RAG_EINVAL, "--set: unknown key %s%s%s%s", key,
                            hint ? " (did you mean '" : "", hint ? hint : "",
                            hint ? "'?)" : "");
        } else {
            rc = set_value(&rag_cfg_fields[k], c, key, &c->prov->fields[k], eq + 1, NULL, 0,
                           0, NULL, &w, err);
        }
        if (rc < 0)
            return rc;
    }
    return RAG_OK;
}

/* command line > DOCRAG_PROFILE > file > SPACE_ID / RAILWAY_ENVIRONMENT > local */
static int choose_profile(rag_config *c, const rag_config_source *src, const cfg_doc *doc,
                          rag_err *err)
{
    long k = field_index("profile");
    const struct cfg_field *f = &rag_cfg_fields[k];
    cfg_origin *o = &c->prov->fields[k];
    const char *v = NULL, *e;
    int expand = 0;
    char flag_key[] = "profile";
    where w = {CFG_FROM_DEFAULT, NULL, NULL, {NULL}, 0};

    for (size_t i = 0; src && i < src->n_sets; i++)
        if (src->sets[i] && !strncmp(src->sets[i], "profile=", 8)) {
            v = src->sets[i] + 8;
            w.from = CFG_FROM_FLAG;
            w.label = flag_key;
        }
    if (!v && src && src->profile) {
        v = src->profile;
        w.from = CFG_FROM_FLAG;
        w.label = "--profile";
    }
    if (!v && (e = getenv("DOCRAG_PROFILE")) && *e) {
        v = e;
        w.from = CFG_FROM_ENV;
        w.label = "DOCRAG_PROFILE";
    }
    if (!v && doc && cfg_doc_field(doc, (size_t)k)) {
        v = cfg_doc_field(doc, (size_t)k)->scalar;
        v = v ? v : "";
        w.from = CFG_FROM_FILE;
        w.label = c->source_path;
        w.doc = doc;
        w.path[0] = "profile";
        w.n_path = 1;
        expand = 1;
    }
    if (!v && (e = getenv("SPACE_ID")) && *e) {
        v = "hf_spaces";
        w.from = CFG_FROM_DETECT;
        w.label = "SPACE_ID";
    }
    if (!v && (e = getenv("RAILWAY_ENVIRONMENT")) && *e) {
        v = "railway";
        w.from = CFG_FROM_DETECT;
        w.label = "RAILWAY_ENVIRONMENT";
    }
    if (!v)
        v = "local";
    if (w.from == CFG_FROM_DETECT) {
        c->prov->detected_from = rag_strdup(w.label);
        if (!c->prov->detected_from)
            return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    }
    return set_value(f, c, "profile", o, v, NULL, 0, expand, NULL, &w, err);
}

/* ---- checks after all layers -------------------------------------------------- */

static int referenced(const rag_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_chain_embed; i++)
        if (!strcmp(c->chain_embed[i], name))
            return 1;
    for (size_t i = 0; i < c->n_chain_rerank; i++)
        if (!strcmp(c->chain_rerank[i], name))
            return 1;
    for (size_t i = 0; i < c->n_chain_llm; i++)
        if (!strcmp(c->chain_llm[i], name))
            return 1;
    return 0;
}

static void backend_free(rag_backend_cfg *b)
{
    for (size_t j = 0; j < rag_cfg_n_backend_fields; j++)
        field_free(&rag_cfg_backend_fields[j], b);
    rag_free(b->name);
    memset(b, 0, sizeof *b);
}

/* Back-ends only a profile declared and no chain uses are dropped, so an
 * unused default does not warn about its missing token. */
static void drop_unused_profile_backends(rag_config *c)
{
    size_t out = 0;
    for (size_t i = 0; i < c->n_backends; i++) {
        int user = c->prov->backend_def[i].from >= CFG_FROM_FILE;
        for (size_t j = 0; j < rag_cfg_n_backend_fields; j++)
            if (c->prov->backends[i][j].from >= CFG_FROM_FILE)
                user = 1;
        if (!user && !referenced(c, c->backends[i].name)) {
            backend_free(&c->backends[i]);
            rag_free(c->prov->key_var[i]);
            c->prov->key_var[i] = NULL;
            continue;
        }
        if (out != i) {
            c->backends[out] = c->backends[i];
            memcpy(c->prov->backends[out], c->prov->backends[i], sizeof c->prov->backends[i]);
            c->prov->backend_def[out] = c->prov->backend_def[i];
            c->prov->key_var[out] = c->prov->key_var[i];
            c->prov->key_var[i] = NULL;
            memset(&c->backends[i], 0, sizeof c->backends[i]);
        }
        out++;
    }
    c->n_backends = out;
}

static void origin_text(char *buf, size_t n, const rag_config *c, const cfg_origin *o,
                        const char *key)
{
    where w = {(cfg_from)o->from, NULL, NULL, {NULL}, 0};
    char env[80];
    switch (o->from) {
    case CFG_FROM_FILE:
        if (o->line)
            snprintf(buf, n, "%s:%d:%d", c->source_path ? c->source_path : "?", o->line,
                     o->col);
        else
            snprintf(buf, n, "%s", c->source_path ? c->source_path : "?");
        return;
    case CFG_FROM_ENV:
        if (!strcmp(key, "profile"))
            snprintf(env, sizeof env, "DOCRAG_PROFILE");
        else
            env_name(env, sizeof env, key);
        w.label = env;
        break;
    case CFG_FROM_FLAG: w.label = key; break;
    case CFG_FROM_PROFILE: w.label = c->profile; break;
    case CFG_FROM_DETECT: w.label = c->prov->detected_from; break;
    default: break;
    }
    where_text(buf, n, &w, -1);
}

static int key_required(const char *type)
{
    return !strcmp(type, "hf_providers") || !strcmp(type, "hf_inference");
}

static const char *default_url(const char *type)
{
    static const struct { const char *type, *url; } urls[] = {
        {"tei", "http://127.0.0.1:8080"},
        {"hf_inference", "https://router.huggingface.co/hf-inference"},
        {"hf_providers", "https://router.huggingface.co/v1"},
        {"openai", "https://api.openai.com/v1"},
        {"ollama", "http://127.0.0.1:11434"},
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++)
        if (!strcmp(urls[i].type, type))
            return urls[i].url;
    return NULL;
}

static int check_backends(rag_config *c, rag_err *err)
{
    for (size_t i = 0; i < c->n_backends; i++) {
        rag_backend_cfg *b = &c->backends[i];
        char at[160];
        const char *url;
        origin_text(at, sizeof at, c, &c->prov->backend_def[i], "backends");
        if (!b->type)
            return rag_fail(err, RAG_EFORMAT, "%s: backends.%s.type is required (one of tei, "
                            "hf_inference, hf_providers, openai, ollama, local)", at, b->name);
        if (!b->url && (url = default_url(b->type))) {
            b->url = rag_strdup(url);
            if (!b->url)
                return rag_fail(err, RAG_ENOMEM, "config: out of memory");
        }
        if (!b->model && strcmp(b->type, "tei") && strcmp(b->type, "extractive") &&
            strcmp(b->type, "none"))
            return rag_fail(err, RAG_EFORMAT, "%s: backends.%s.model is required for type %s",
                            at, b->name, b->type);
    }
    return RAG_OK;
}

static int check_chain(rag_config *c, const char *key, char **names, size_t n,
                       const cfg_doc *doc, rag_err *err)
{
    long k = field_index(key);
    for (size_t i = 0; i < n; i++) {
        const char *cands[RAG_MAX_BACKENDS + 2];
        size_t n_cands = 0;
        const char *hint;
        char at[160];
        if (!strcmp(names[i], "none") ||
            (!strcmp(names[i], "extractive") && !strcmp(key, "chains.llm")) ||
            rag_config_backend(c, names[i]))
            continue;
        if (c->prov->fields[k].from == CFG_FROM_FILE && doc) {
            where w = {CFG_FROM_FILE, c->source_path, doc, {"chains", key + 7, NULL}, 2};
            where_text(at, sizeof at, &w, (long)i);
        } else {
            origin_text(at, sizeof at, c, &c->prov->fields[k], key);
        }
        if (!strcmp(names[i], "extractive"))
            return rag_fail(err, RAG_EFORMAT, "%s: %s: 'extractive' only answers questions; "
                            "use it in chains.llm", at, key);
        for (size_t b = 0; b < c->n_backends; b++)
            cands[n_cands++] = c->backends[b].name;
        cands[n_cands++] = "none";
        if (!strcmp(key, "chains.llm"))
            cands[n_cands++] = "extractive";
        hint = cfg_did_you_mean(names[i], cands, n_cands);
        return rag_fail(err, RAG_EFORMAT, "%s: %s: unknown back-end '%s'%s%s%s", at, key,
                        names[i], hint ? " (did you mean '" : "", hint ? hint : "",
                        hint ? "'?)" : "");
    }
    return RAG_OK;
}

static int check_values(rag_config *c, const cfg_doc *doc, rag_err *err)
{
    char at[160];
    int rc;
    long k;
    if (c->chunk_overlap_tokens >= c->chunk_target_tokens) {
        k = field_index("chunk.overlap_tokens");
        origin_text(at, sizeof at, c, &c->prov->fields[k], "chunk.overlap_tokens");
        return rag_fail(err, RAG_EFORMAT, "%s: chunk.overlap_tokens (%d) must be less than "
                        "chunk.target_tokens (%d)", at, c->chunk_overlap_tokens,
                        c->chunk_target_tokens);
    }
    if (c->chunk_target_tokens > c->chunk_max_tokens) {
        k = field_index("chunk.target_tokens");
        origin_text(at, sizeof at, c, &c->prov->fields[k], "chunk.target_tokens");
        return rag_fail(err, RAG_EFORMAT, "%s: chunk.target_tokens (%d) must not exceed "
                        "chunk.max_tokens (%d)", at, c->chunk_target_tokens,
                        c->chunk_max_tokens);
    }
    if (c->search_candidates < c->search_k) {
        k = field_index("search.candidates");
        origin_text(at, sizeof at, c, &c->prov->fields[k], "search.candidates");
        return rag_fail(err, RAG_EFORMAT, "%s: search.candidates (%d) must be at least "
                        "search.k (%d)", at, c->search_candidates, c->search_k);
    }
    k = field_index("store");
    if (c->store && *c->store && c->prov->fields[k].from >= c->prov->fields[field_index("db")].from) {
        char *v = rag_strdup(c->store);
        if (!v)
            return rag_fail(err, RAG_ENOMEM, "config: out of memory");
        rag_free(c->db_path);
        c->db_path = v;
        c->prov->fields[field_index("db")] = c->prov->fields[k];
    }
    if (!c->db_path || !*c->db_path) {
        k = field_index("db");
        origin_text(at, sizeof at, c, &c->prov->fields[k], "db");
        return rag_fail(err, RAG_EFORMAT, "%s: db must not be empty", at);
    }
    drop_unused_profile_backends(c);
    for (size_t i = 0; i < c->n_backends; i++)
        if (c->backends[i].threads == 0)
            c->backends[i].threads = c->threads;
    if ((rc = check_backends(c, err)) < 0)
        return rc;
    if ((rc = check_chain(c, "chains.embed", c->chain_embed, c->n_chain_embed, doc, err)) < 0 ||
        (rc = check_chain(c, "chains.rerank", c->chain_rerank, c->n_chain_rerank, doc, err)) <
            0 ||
        (rc = check_chain(c, "chains.llm", c->chain_llm, c->n_chain_llm, doc, err)) < 0)
        return rc;
    return RAG_OK;
}

/* Disable back-ends whose token is empty or a placeholder; one warning each,
 * naming the back-end and the variable, never the value. */
static void disable_placeholders(rag_config *c)
{
    for (size_t i = 0; i < c->n_backends; i++) {
        rag_backend_cfg *b = &c->backends[i];
        const char *var = c->prov->key_var[i];
        if (b->api_key ? !rag_config_is_placeholder(b->api_key) : !key_required(b->type))
            continue;
        b->enabled = 0;
        if (!b->api_key)
            rag_log(RAG_LOG_WARN, "config: back-end '%s' disabled: it needs an api_key",
                    b->name);
        else if (var)
            rag_log(RAG_LOG_WARN, "config: back-end '%s' disabled: api_key is empty or a "
                    "placeholder (set %s)", b->name, var);
        else
            rag_log(RAG_LOG_WARN, "config: back-end '%s' disabled: api_key is empty or a "
                    "placeholder", b->name);
    }
}

/* ---- load ---------------------------------------------------------------------- */

static int read_source(rag_config *c, cfg_doc **doc, const rag_config_source *src,
                       rag_err *err)
{
    const char *path = src ? src->config_path : NULL, *e;
    rag_buf text = RAG_BUF_INIT;
    int rc;

    if (src && src->yaml_text) {
        c->source_path = rag_strdup(src->yaml_name ? src->yaml_name : "<memory>");
        if (!c->source_path)
            return rag_fail(err, RAG_ENOMEM, "config: out of memory");
        if (src->yaml_len > MAX_CONFIG_BYTES)
            return rag_fail(err, RAG_ELIMIT, "%s: larger than %d bytes", c->source_path,
                            MAX_CONFIG_BYTES);
        return cfg_doc_parse(doc, c->source_path, src->yaml_text, src->yaml_len, err);
    }
    if (!path && (e = getenv("DOCRAG_CONFIG")) && *e)
        path = e;
    if (!path && access("docrag.yaml", R_OK) == 0)
        path = "docrag.yaml";
    if (!path)
        return RAG_OK; /* profile defaults only */
    c->source_path = rag_strdup(path);
    if (!c->source_path)
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    rc = rag_read_file(&text, path, MAX_CONFIG_BYTES, err);
    if (rc == RAG_OK)
        rc = cfg_doc_parse(doc, path, text.data ? text.data : "", text.len, err);
    rag_buf_fini(&text);
    return rc;
}

int rag_config_load(rag_config **out, const rag_config_source *src, rag_err *err)
{
    rag_config *c;
    cfg_doc *doc = NULL;
    int rc;

    *out = NULL;
    if (rag_cfg_n_fields > 64 || rag_cfg_n_backend_fields > 32)
        return rag_fail(err, RAG_EINVAL, "config: field table larger than provenance");
    c = rag_calloc(1, sizeof *c);
    if (!c)
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    c->prov = rag_calloc(1, sizeof *c->prov);
    if (!c->prov) {
        rag_free(c);
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    }
    rc = apply_defaults(c, err);
    if (rc == RAG_OK)
        rc = read_source(c, &doc, src, err);
    if (rc == RAG_OK)
        rc = choose_profile(c, src, doc, err);
    if (rc == RAG_OK)
        rc = apply_profile(c, err);
    if (rc == RAG_OK && doc)
        rc = apply_file(c, doc, err);
    if (rc == RAG_OK)
        rc = apply_env(c, err);
    if (rc == RAG_OK)
        rc = apply_sets(c, src, err);
    if (rc == RAG_OK)
        rc = check_values(c, doc, err);
    cfg_doc_destroy(doc);
    if (rc < 0) {
        rag_config_destroy(c);
        return rc;
    }
    disable_placeholders(c);
    *out = c;
    return RAG_OK;
}

void rag_config_destroy(rag_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < rag_cfg_n_fields; i++)
        field_free(&rag_cfg_fields[i], c);
    for (size_t i = 0; i < c->n_backends; i++)
        backend_free(&c->backends[i]);
    if (c->prov) {
        for (size_t i = 0; i < RAG_MAX_BACKENDS; i++)
            rag_free(c->prov->key_var[i]);
        rag_free(c->prov->detected_from);
        rag_free(c->prov);
    }
    rag_free(c->source_path);
    rag_free(c);
}

/* for config_show.c */
void cfg_origin_text(char *buf, size_t n, const rag_config *c, const cfg_origin *o,
                     const char *key)
{
    origin_text(buf, n, c, o, key);
}
