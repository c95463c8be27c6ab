/* config_yaml.c - read a YAML config file into text slots, one per key.
 *
 * Two passes over the same bytes:
 *  1. libyaml's document loader: syntax errors with line and column, the
 *     position of every value (for later range/type/${VAR} errors), and the
 *     names under `backends:` (user-chosen keys, which a fixed schema cannot
 *     describe). Pass 1 also refuses what libcyaml would mishandle: a key
 *     that is a list or mapping ("? [a, b]", libcyaml: "Internal error")
 *     and a second document after "---" (libcyaml reads only the first).
 *  2. libcyaml with a schema generated from the field tables: every key the
 *     tables know, each backend found in pass 1 with the backend fields.
 *     libcyaml rejects unknown keys and wrong kinds (a list where a scalar
 *     belongs) with line and column. Every leaf is loaded as a string so
 *     that ${VAR} can appear in numeric fields; config.c converts and
 *     range-checks after expansion.
 *
 * The mirror the schema fills is a flat array of cfg_slot: top-level field i
 * at slot i, backend b's field j at n_fields + b * n_backend_fields + j.
 * Sections ("search:") are inline mappings at offset 0 of the mirror so
 * their children can address their global slots directly.
 */
#include "config_int.h"

#include <cyaml/cyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

struct cfg_doc {
    char *name;
    yaml_document_t ydoc;
    int has_ydoc;
    int has_root;
    rag_arena *schema_arena;     /* generated schema, lives with slots */
    cyaml_schema_value_t root;
    cyaml_config_t ycfg;
    cfg_slot *slots;             /* owned by libcyaml (cyaml_free) */
    size_t n_slots;
    char *bnames[RAG_MAX_BACKENDS];
    size_t n_backends;
};

/* ---- libcyaml plumbing ----------------------------------------------------- */

static void *cy_mem(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    if (size == 0) {
        rag_free(ptr);
        return NULL;
    }
    return rag_realloc(ptr, size);
}

typedef struct {
    char text[1024];
    size_t len;
} cy_log_buf;

static void cy_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
    cy_log_buf *lb = ctx;
    int n;
    if (level < CYAML_LOG_ERROR || lb->len >= sizeof lb->text - 1)
        return;
    n = vsnprintf(lb->text + lb->len, sizeof lb->text - lb->len, fmt, args);
    if (n > 0)
        lb->len += (size_t)n < sizeof lb->text - lb->len ? (size_t)n
                                                         : sizeof lb->text - lb->len - 1;
}

/* ---- libyaml tree helpers ---------------------------------------------------- */

static yaml_node_t *map_get(yaml_document_t *doc, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
         p < map->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
            memcmp(k->data.scalar.value, key, k->data.scalar.length) == 0)
            return yaml_document_get_node(doc, p->value);
    }
    return NULL;
}

static yaml_node_t *find_node(const cfg_doc *d, const char *const *path, size_t n_path)
{
    yaml_document_t *doc = (yaml_document_t *)&d->ydoc;
    yaml_node_t *n;
    if (!d->has_root)
        return NULL;
    n = yaml_document_get_root_node(doc);
    for (size_t i = 0; n && i < n_path; i++)
        n = map_get(doc, n, path[i]);
    return n;
}

int cfg_doc_pos(const cfg_doc *d, const char *const *path, size_t n_path,
                long item, int *line, int *col)
{
    yaml_node_t *n = find_node(d, path, n_path);
    if (!n)
        return -1;
    if (item >= 0) {
        yaml_node_t *it;
        if (n->type != YAML_SEQUENCE_NODE ||
            item >= n->data.sequence.items.top - n->data.sequence.items.start)
            return -1;
        it = yaml_document_get_node((yaml_document_t *)&d->ydoc,
                                    n->data.sequence.items.start[item]);
        if (!it)
            return -1;
        n = it;
    }
    *line = (int)n->start_mark.line + 1;
    *col = (int)n->start_mark.column + 1;
    return 0;
}

/* Split "search.k" into section and leaf; a key without '.' has no section. */
static void split_key(const char *key, char *section, size_t n_section, const char **leaf)
{
    const char *dot = strchr(key, '.');
    if (!dot) {
        section[0] = '\0';
        *leaf = key;
        return;
    }
    snprintf(section, n_section, "%.*s", (int)(dot - key), key);
    *leaf = dot + 1;
}

static const char *field_path(const struct cfg_field *f, const char **segs, char *section,
                              size_t n_section, size_t *n_segs)
{
    const char *leaf;
    split_key(f->key, section, n_section, &leaf);
    if (section[0]) {
        segs[0] = section;
        segs[1] = leaf;
        *n_segs = 2;
    } else {
        segs[0] = leaf;
        *n_segs = 1;
    }
    return leaf;
}

int cfg_doc_is_null(const cfg_doc *d, const char *const *path, size_t n_path, long item)
{
    yaml_node_t *n = find_node(d, path, n_path);
    const char *v;
    if (n && item >= 0) {
        if (n->type != YAML_SEQUENCE_NODE ||
            item >= n->data.sequence.items.top - n->data.sequence.items.start)
            return 0;
        n = yaml_document_get_node((yaml_document_t *)&d->ydoc,
                                   n->data.sequence.items.start[item]);
    }
    if (!n || n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    v = (const char *)n->data.scalar.value;
    return !strcmp(v, "") || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

const cfg_slot *cfg_doc_field(const cfg_doc *d, size_t i)
{
    const char *segs[2];
    char section[64];
    size_t n_segs;
    if (!d->slots || i >= rag_cfg_n_fields)
        return NULL;
    field_path(&rag_cfg_fields[i], segs, section, sizeof section, &n_segs);
    if (!find_node(d, segs, n_segs))
        return NULL;
    return &d->slots[i];
}

size_t cfg_doc_n_backends(const cfg_doc *d)
{
    return d->n_backends;
}

const char *cfg_doc_backend_name(const cfg_doc *d, size_t b)
{
    return b < d->n_backends ? d->bnames[b] : NULL;
}

const cfg_slot *cfg_doc_backend_field(const cfg_doc *d, size_t b, size_t j)
{
    const char *segs[3];
    if (!d->slots || b >= d->n_backends || j >= rag_cfg_n_backend_fields)
        return NULL;
    segs[0] = "backends";
    segs[1] = d->bnames[b];
    segs[2] = rag_cfg_backend_fields[j].key;
    if (!find_node(d, segs, 3))
        return NULL;
    return &d->slots[rag_cfg_n_fields + b * rag_cfg_n_backend_fields + j];
}

/* ---- schema generation ------------------------------------------------------- */

static const cyaml_schema_value_t str_entry = {
    .type = CYAML_STRING,
    .flags = CYAML_FLAG_POINTER,
    .data_size = 1,
    .string = {0, CYAML_UNLIMITED},
};

static void leaf_field(cyaml_schema_field_t *out, const char *key,
                       const struct cfg_field *f, size_t slot)
{
    size_t off = slot * sizeof(cfg_slot);
    memset(out, 0, sizeof *out);
    out->key = key;
    if (f->type == CFG_LIST) {
        out->data_offset = (uint32_t)(off + offsetof(cfg_slot, items));
        out->count_offset = (uint32_t)(off + offsetof(cfg_slot, n_items));
        out->count_size = sizeof(uint32_t);
        out->value.type = CYAML_SEQUENCE;
        out->value.flags = CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL;
        out->value.data_size = sizeof(char *);
        out->value.sequence.entry = &str_entry;
        out->value.sequence.min = 0;
        out->value.sequence.max = CYAML_UNLIMITED;
    } else {
        out->data_offset = (uint32_t)(off + offsetof(cfg_slot, scalar));
        out->value = str_entry;
        out->value.flags = CYAML_FLAG_POINTER | CYAML_FLAG_OPTIONAL;
    }
}

static void mapping_field(cyaml_schema_field_t *out, const char *key,
                          const cyaml_schema_field_t *children, int optional)
{
    memset(out, 0, sizeof *out);
    out->key = key;
    out->data_offset = 0; /* inline: children address global slots */
    out->value.type = CYAML_MAPPING;
    out->value.flags = optional ? CYAML_FLAG_OPTIONAL : CYAML_FLAG_DEFAULT;
    out->value.data_size = sizeof(cfg_slot);
    out->value.mapping.fields = children;
}

static int build_schema(cfg_doc *d)
{
    size_t nf = rag_cfg_n_fields, nb = rag_cfg_n_backend_fields;
    /* worst case: every field its own section */
    cyaml_schema_field_t *top = rag_arena_alloc(d->schema_arena, (nf + 2) * sizeof *top);
    size_t n_top = 0;

    if (!top)
        return RAG_ENOMEM;
    for (size_t i = 0; i < nf; i++) {
        char section[64];
        const char *leaf;
        size_t n_kids = 0;
        cyaml_schema_field_t *kids;
        char *sec;
        int seen = 0;

        split_key(rag_cfg_fields[i].key, section, sizeof section, &leaf);
        if (!section[0]) {
            leaf_field(&top[n_top++], leaf, &rag_cfg_fields[i], i);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (!strncmp(rag_cfg_fields[j].key, section, strlen(section)) &&
                rag_cfg_fields[j].key[strlen(section)] == '.')
                seen = 1;
        if (seen)
            continue;
        kids = rag_arena_alloc(d->schema_arena, (nf + 1) * sizeof *kids);
        sec = rag_arena_strndup(d->schema_arena, section, strlen(section));
        if (!kids || !sec)
            return RAG_ENOMEM;
        for (size_t j = i; j < nf; j++) {
            const char *k = rag_cfg_fields[j].key;
            if (!strncmp(k, section, strlen(section)) && k[strlen(section)] == '.')
                leaf_field(&kids[n_kids++], k + strlen(section) + 1, &rag_cfg_fields[j], j);
        }
        memset(&kids[n_kids], 0, sizeof kids[n_kids]);
        mapping_field(&top[n_top++], sec, kids, 1);
    }

    {
        cyaml_schema_field_t *names =
            rag_arena_alloc(d->schema_arena, (d->n_backends + 1) * sizeof *names);
        if (!names)
            return RAG_ENOMEM;
        for (size_t b = 0; b < d->n_backends; b++) {
            cyaml_schema_field_t *kids =
                rag_arena_alloc(d->schema_arena, (nb + 1) * sizeof *kids);
            if (!kids)
                return RAG_ENOMEM;
            for (size_t j = 0; j < nb; j++)
                leaf_field(&kids[j], rag_cfg_backend_fields[j].key,
                           &rag_cfg_backend_fields[j], nf + b * nb + j);
            memset(&kids[nb], 0, sizeof kids[nb]);
            mapping_field(&names[b], d->bnames[b], kids, 0);
        }
        memset(&names[d->n_backends], 0, sizeof names[d->n_backends]);
        mapping_field(&top[n_top++], "backends", names, 1);
    }
    memset(&top[n_top], 0, sizeof top[n_top]);

    memset(&d->root, 0, sizeof d->root);
    d->root.type = CYAML_MAPPING;
    d->root.flags = CYAML_FLAG_POINTER;
    d->root.data_size = (uint32_t)(d->n_slots * sizeof(cfg_slot));
    d->root.mapping.fields = top;
    return RAG_OK;
}

/* ---- errors ------------------------------------------------------------------ */

/* Dotted path of the mapping entry whose key or value starts at line/col
 * (0-based), e.g. "search.k". Depth-limited: aliases can make cycles. */
static int path_at(yaml_document_t *doc, yaml_node_t *n, size_t line, size_t col,
                   char *buf, size_t cap, size_t len, int depth)
{
    if (!n || depth > 8)
        return 0;
    if (n->type == YAML_SEQUENCE_NODE) {
        for (yaml_node_item_t *it = n->data.sequence.items.start;
             it < n->data.sequence.items.top; it++) {
            yaml_node_t *v = yaml_document_get_node(doc, *it);
            int w = snprintf(buf + len, cap - len, "[%ld]",
                             (long)(it - n->data.sequence.items.start));
            if (!v || w < 0 || (size_t)w >= cap - len)
                continue;
            if (path_at(doc, v, line, col, buf, cap, len + (size_t)w, depth + 1))
                return 1;
            if (v->start_mark.line == line && v->start_mark.column == col)
                return 1;
            buf[len] = '\0';
        }
        return 0;
    }
    if (n->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        yaml_node_t *v = yaml_document_get_node(doc, p->value);
        int w;
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        w = snprintf(buf + len, cap - len, "%s%.*s", len ? "." : "",
                     (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length),
                     (const char *)k->data.scalar.value);
        if (w < 0 || (size_t)w >= cap - len)
            continue;
        /* deepest first: a block mapping starts where its first key does */
        if (path_at(doc, v, line, col, buf, cap, len + (size_t)w, depth + 1))
            return 1;
        if ((k->start_mark.line == line && k->start_mark.column == col) ||
            (v && v->start_mark.line == line && v->start_mark.column == col))
            return 1;
        buf[len] = '\0';
    }
    return 0;
}

/* Is "a.b.c" (a dotted path of the file) a key the schema knows? */
static int known_path(const char *path)
{
    static const char *const extra[] = {"backends", NULL};
    const char *dot;
    if (!strncmp(path, "backends.", 9)) {
        dot = strchr(path + 9, '.');
        if (!dot)
            return 1; /* a back-end name: any */
        for (size_t i = 0; i < rag_cfg_n_backend_fields; i++)
            if (!strcmp(dot + 1, rag_cfg_backend_fields[i].key))
                return 1;
        return 0;
    }
    for (size_t i = 0; extra[i]; i++)
        if (!strcmp(path, extra[i]))
            return 1;
    for (size_t i = 0; i < rag_cfg_n_fields; i++) {
        const char *k = rag_cfg_fields[i].key;
        size_t n = strlen(path);
        if (!strcmp(k, path) || (!strncmp(k, path, n) && k[n] == '.'))
            return 1;
    }
    return 0;
}

/* Find the mapping key named `name` whose path is unknown: libcyaml names
 * the key but its position is the enclosing field's. */
static int find_unknown(yaml_document_t *doc, yaml_node_t *n, const char *name, char *buf,
                        size_t cap, size_t len, int depth, yaml_mark_t *mark)
{
    if (!n || n->type != YAML_MAPPING_NODE || depth > 8)
        return 0;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        int w;
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        w = snprintf(buf + len, cap - len, "%s%.*s", len ? "." : "",
                     (int)(k->data.scalar.length > 64 ? 64 : k->data.scalar.length),
                     (const char *)k->data.scalar.value);
        if (w < 0 || (size_t)w >= cap - len)
            continue;
        if (!strcmp(buf + len + (len ? 1 : 0), name) && !known_path(buf)) {
            *mark = k->start_mark;
            return 1;
        }
        if (find_unknown(doc, yaml_document_get_node(doc, p->value), name, buf, cap,
                         len + (size_t)w, depth + 1, mark))
            return 1;
        buf[len] = '\0';
    }
    return 0;
}

/* Closest known key to path, written to out ("" when none is close).
 * A top-level word is compared with the first segments of the table's keys
 * ("serch" -> "search"), a dotted path with the full keys. */
static void key_hint(const char *path, char *out, size_t n_out)
{
    const char *cands[64 + 1], *hit;
    char firsts[64][32];
    size_t n = 0;
    out[0] = '\0';
    if (!strncmp(path, "backends.", 9) && strchr(path + 9, '.')) {
        for (size_t i = 0; i < rag_cfg_n_backend_fields && n < 64; i++)
            cands[n++] = rag_cfg_backend_fields[i].key;
        hit = cfg_did_you_mean(strchr(path + 9, '.') + 1, cands, n);
    } else if (strchr(path, '.')) {
        for (size_t i = 0; i < rag_cfg_n_fields && n < 64; i++)
            cands[n++] = rag_cfg_fields[i].key;
        hit = cfg_did_you_mean(path, cands, n);
    } else {
        for (size_t i = 0; i < rag_cfg_n_fields && n < 64; i++) {
            snprintf(firsts[n], sizeof firsts[n], "%.*s",
                     (int)strcspn(rag_cfg_fields[i].key, "."), rag_cfg_fields[i].key);
            cands[n] = firsts[n];
            n++;
        }
        cands[n++] = "backends";
        hit = cfg_did_you_mean(path, cands, n);
    }
    if (hit)
        snprintf(out, n_out, "%s", hit);
}

/* libcyaml logs "Load: Unexpected key: prot" then a backtrace whose first
 * entry is the innermost position: "  in mapping field 'x' (line: 3,
 * column: 9)". Turn that into "NAME:3:9: unknown key server.prot (did you
 * mean 'server.port'?)". */
static int cyaml_error(cfg_doc *d, const cy_log_buf *lb, cyaml_err_t e, rag_err *err)
{
    const char *t = lb->text, *pos = strstr(t, "(line: ");
    char first[200], path[200] = "", msg[300];
    int line = 0, col = 0;
    size_t n;

    if (e == CYAML_ERR_OOM)
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    if (strncmp(t, "Load: ", 6) == 0)
        t += 6;
    n = strcspn(t, "\n");
    if (n >= sizeof first)
        n = sizeof first - 1;
    memcpy(first, t, n);
    first[n] = '\0';
    if (pos)
        sscanf(pos, "(line: %d, column: %d)", &line, &col);
    if (!first[0] || !strncmp(first, "Backtrace", 9))
        snprintf(first, sizeof first, "%s", cyaml_strerror(e));
    if (!strncmp(first, "Unexpected key: ", 16)) {
        yaml_mark_t m;
        if (find_unknown(&d->ydoc, yaml_document_get_root_node(&d->ydoc), first + 16, path,
                         sizeof path, 0, 0, &m)) {
            line = (int)m.line + 1;
            col = (int)m.column + 1;
        } else {
            path[0] = '\0';
        }
    } else if (line > 0 && col > 0)
        path_at(&d->ydoc, yaml_document_get_root_node(&d->ydoc), (size_t)line - 1,
                (size_t)col - 1, path, sizeof path, 0, 0);
    if (path[0] && !strncmp(first, "Unexpected key", 14)) {
        char hint[96];
        key_hint(path, hint, sizeof hint);
        snprintf(msg, sizeof msg, "unknown key %s%s%s%s", path,
                 hint[0] ? " (did you mean '" : "", hint, hint[0] ? "'?)" : "");
    } else if (path[0] && !strncmp(first, "Expecting STRING", 16)) {
        snprintf(msg, sizeof msg, "%s: expected a single value, not a list or mapping", path);
    } else if (path[0] && !strncmp(first, "Expecting MAPPING", 17)) {
        snprintf(msg, sizeof msg, "%s: expected a mapping (indented key: value lines)", path);
    } else if (path[0] && !strncmp(first, "Expecting SEQUENCE", 18)) {
        snprintf(msg, sizeof msg, "%s: expected a list, e.g. [a, b]", path);
    } else if (path[0] && strstr(first, "already seen")) {
        snprintf(msg, sizeof msg, "%s: key given twice", path);
    } else if (e == CYAML_ERR_ALIAS || strstr(first, "lias")) {
        snprintf(msg, sizeof msg, "YAML aliases (*name) are not supported in config files");
    } else {
        snprintf(msg, sizeof msg, "%s", first);
    }
    if (line > 0)
        return rag_fail(err, RAG_EFORMAT, "%s:%d:%d: %s", d->name, line, col, msg);
    return rag_fail(err, RAG_EFORMAT, "%s: %s", d->name, msg);
}

/* ---- parse ------------------------------------------------------------------- */

static int is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}

#define MAX_NODES 100000
#define MAX_PAIRS 1000

/* Walk the tree once (aliases make it a graph: each node is visited once),
 * rejecting duplicate keys at the second occurrence and oversized input. */
static int check_tree(cfg_doc *d, rag_err *err)
{
    size_t n_nodes = (size_t)(d->ydoc.nodes.top - d->ydoc.nodes.start);
    unsigned char *seen;
    int *stack;
    size_t top = 0;
    int rc = RAG_OK;

    if (n_nodes > MAX_NODES)
        return rag_fail(err, RAG_ELIMIT, "%s: more than %d YAML nodes", d->name, MAX_NODES);
    seen = rag_calloc(n_nodes + 1, 1);
    stack = rag_calloc(n_nodes + 1, sizeof *stack);
    if (!seen || !stack) {
        rag_free(seen);
        rag_free(stack);
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    }
    stack[top++] = 1; /* the root node's index */
    seen[1] = 1;
    while (top && rc == RAG_OK) {
        yaml_node_t *n = yaml_document_get_node(&d->ydoc, stack[--top]);
        if (!n)
            continue;
        if (n->type == YAML_MAPPING_NODE) {
            yaml_node_pair_t *a0 = n->data.mapping.pairs.start;
            size_t n_pairs = (size_t)(n->data.mapping.pairs.top - a0);
            if (n_pairs > MAX_PAIRS) {
                rc = rag_fail(err, RAG_ELIMIT, "%s:%d:%d: more than %d keys in one mapping",
                              d->name, (int)n->start_mark.line + 1,
                              (int)n->start_mark.column + 1, MAX_PAIRS);
                break;
            }
            for (size_t i = 0; i < n_pairs && rc == RAG_OK; i++) {
                yaml_node_t *ki = yaml_document_get_node(&d->ydoc, a0[i].key);
                /* "? [a, b]\n: c": a list or mapping as a key. No key of
                 * ours is one, and libcyaml only says "Internal error". */
                if (ki && ki->type != YAML_SCALAR_NODE) {
                    rc = rag_fail(err, RAG_EFORMAT, "%s:%d:%d: a key must be a plain "
                                  "word, not a %s", d->name, (int)ki->start_mark.line + 1,
                                  (int)ki->start_mark.column + 1,
                                  ki->type == YAML_SEQUENCE_NODE ? "list" : "mapping");
                    break;
                }
                for (size_t j = 0; ki && ki->type == YAML_SCALAR_NODE && j < i; j++) {
                    yaml_node_t *kj = yaml_document_get_node(&d->ydoc, a0[j].key);
                    if (kj && kj->type == YAML_SCALAR_NODE &&
                        kj->data.scalar.length == ki->data.scalar.length &&
                        !memcmp(kj->data.scalar.value, ki->data.scalar.value,
                                ki->data.scalar.length)) {
                        rc = rag_fail(err, RAG_EFORMAT, "%s:%d:%d: key '%.*s' given twice "
                                      "(first at line %d)", d->name,
                                      (int)ki->start_mark.line + 1,
                                      (int)ki->start_mark.column + 1,
                                      (int)(ki->data.scalar.length > 64
                                                ? 64 : ki->data.scalar.length),
                                      (const char *)ki->data.scalar.value,
                                      (int)kj->start_mark.line + 1);
                        break;
                    }
                }
                if (a0[i].value > 0 && (size_t)a0[i].value <= n_nodes && !seen[a0[i].value]) {
                    seen[a0[i].value] = 1;
                    stack[top++] = a0[i].value;
                }
            }
        } else if (n->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = n->data.sequence.items.start;
                 it < n->data.sequence.items.top; it++)
                if (*it > 0 && (size_t)*it <= n_nodes && !seen[*it]) {
                    seen[*it] = 1;
                    stack[top++] = *it;
                }
        }
    }
    rag_free(seen);
    rag_free(stack);
    return rc;
}

static int collect_backends(cfg_doc *d, rag_err *err)
{
    const char *segs[1] = {"backends"};
    yaml_node_t *m = find_node(d, segs, 1);
    if (!m || m->type != YAML_MAPPING_NODE)
        return RAG_OK; /* absent, or libcyaml reports the wrong kind */
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(&d->ydoc, p->key);
        const char *name;
        size_t len;
        if (!k)
            continue;
        if (k->type != YAML_SCALAR_NODE)
            return rag_fail(err, RAG_EFORMAT, "%s:%d:%d: backends: a back-end name must be "
                            "a plain word", d->name, (int)k->start_mark.line + 1,
                            (int)k->start_mark.column + 1);
        name = (const char *)k->data.scalar.value;
        len = k->data.scalar.length;
        if (len == 0 || len > 63 || strlen(name) != len)
            goto bad_name;
        for (size_t i = 0; i < len; i++)
            if (!is_name_char(name[i]))
                goto bad_name;
        for (size_t b = 0; b < d->n_backends; b++)
            if (!strcmp(d->bnames[b], name))
                return rag_fail(err, RAG_EFORMAT, "%s:%d:%d: backends.%s is defined twice",
                                d->name, (int)k->start_mark.line + 1,
                                (int)k->start_mark.column + 1, name);
        if (!strcmp(name, "extractive") || !strcmp(name, "none"))
            return rag_fail(err, RAG_EFORMAT, "%s:%d:%d: backends.%s: '%s' is a built-in "
                            "back-end name", d->name, (int)k->start_mark.line + 1,
                            (int)k->start_mark.column + 1, name, name);
        if (d->n_backends >= RAG_MAX_BACKENDS)
            return rag_fail(err, RAG_ELIMIT, "%s:%d:%d: backends: more than %d back-ends",
                            d->name, (int)k->start_mark.line + 1,
                            (int)k->start_mark.column + 1, RAG_MAX_BACKENDS);
        d->bnames[d->n_backends] = rag_strndup(name, len);
        if (!d->bnames[d->n_backends])
            return rag_fail(err, RAG_ENOMEM, "config: out of memory");
        d->n_backends++;
        continue;
    bad_name:
        return rag_fail(err, RAG_EFORMAT, "%s:%d:%d: backends: a back-end name is 1-63 "
                        "letters, digits, '_' or '-'", d->name,
                        (int)k->start_mark.line + 1, (int)k->start_mark.column + 1);
    }
    return RAG_OK;
}

int cfg_doc_parse(cfg_doc **out, const char *name, const char *text, size_t n_bytes,
                  rag_err *err)
{
    cfg_doc *d = rag_calloc(1, sizeof *d);
    yaml_parser_t parser;
    cy_log_buf lb;
    cyaml_err_t e;
    int rc;

    *out = NULL;
    if (!d)
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    d->name = rag_strdup(name);
    d->schema_arena = rag_arena_create(16 * 1024);
    d->n_slots = rag_cfg_n_fields + RAG_MAX_BACKENDS * rag_cfg_n_backend_fields;
    if (!d->name || !d->schema_arena) {
        cfg_doc_destroy(d);
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    }

    /* pass 1: libyaml document */
    if (!yaml_parser_initialize(&parser)) {
        cfg_doc_destroy(d);
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, n_bytes);
    if (!yaml_parser_load(&parser, &d->ydoc)) {
        const char *problem = parser.problem ? parser.problem : "malformed YAML";
        yaml_mark_t m = parser.problem_mark;
        if (parser.error == YAML_MEMORY_ERROR)
            rc = rag_fail(err, RAG_ENOMEM, "config: out of memory");
        else if (parser.context)
            rc = rag_fail(err, RAG_EFORMAT, "%s:%d:%d: %s %s", d->name, (int)m.line + 1,
                          (int)m.column + 1, problem, parser.context);
        else
            rc = rag_fail(err, RAG_EFORMAT, "%s:%d:%d: %s", d->name, (int)m.line + 1,
                          (int)m.column + 1, problem);
        yaml_parser_delete(&parser);
        cfg_doc_destroy(d);
        return rc;
    }
    d->has_ydoc = 1;
    {
        /* A config file is one document. libcyaml reads only the first, so
         * "---" followed by more settings would be dropped without a word. */
        yaml_document_t next;
        if (!yaml_parser_load(&parser, &next)) {
            yaml_mark_t m = parser.problem_mark;
            rc = parser.error == YAML_MEMORY_ERROR
                     ? rag_fail(err, RAG_ENOMEM, "config: out of memory")
                     : rag_fail(err, RAG_EFORMAT, "%s:%d:%d: %s", d->name, (int)m.line + 1,
                                (int)m.column + 1,
                                parser.problem ? parser.problem : "malformed YAML");
            yaml_parser_delete(&parser);
            cfg_doc_destroy(d);
            return rc;
        }
        yaml_node_t *r2 = yaml_document_get_root_node(&next);
        /* a trailing "---" with nothing after it is an empty document */
        if (r2 && !(r2->type == YAML_SCALAR_NODE && r2->data.scalar.length == 0 &&
                    r2->data.scalar.style == YAML_PLAIN_SCALAR_STYLE)) {
            yaml_mark_t m = next.start_mark;
            yaml_document_delete(&next);
            yaml_parser_delete(&parser);
            rc = rag_fail(err, RAG_EFORMAT, "%s:%d:%d: a second YAML document ('---'); a "
                          "config file holds one document: merge the settings into the first",
                          d->name, (int)m.line + 1, (int)m.column + 1);
            cfg_doc_destroy(d);
            return rc;
        }
        yaml_document_delete(&next);
    }
    yaml_parser_delete(&parser);
    {
        yaml_node_t *root = yaml_document_get_root_node(&d->ydoc);
        if (!root) {
            *out = d; /* empty file: no values */
            return RAG_OK;
        }
        if (root->type != YAML_MAPPING_NODE) {
            rc = rag_fail(err, RAG_EFORMAT, "%s:%d:%d: the top level must be a mapping "
                          "(key: value lines)", d->name, (int)root->start_mark.line + 1,
                          (int)root->start_mark.column + 1);
            cfg_doc_destroy(d);
            return rc;
        }
        d->has_root = 1;
    }
    rc = check_tree(d, err);
    if (rc == RAG_OK)
        rc = collect_backends(d, err);
    if (rc < 0) {
        cfg_doc_destroy(d);
        return rc;
    }

    /* pass 2: libcyaml with the generated schema */
    if (build_schema(d) < 0) {
        cfg_doc_destroy(d);
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    }
    memset(&lb, 0, sizeof lb);
    d->ycfg.log_fn = cy_log;
    d->ycfg.log_ctx = &lb;
    d->ycfg.mem_fn = cy_mem;
    d->ycfg.mem_ctx = NULL;
    d->ycfg.log_level = CYAML_LOG_ERROR;
    d->ycfg.flags = CYAML_CFG_NO_ALIAS;
    e = cyaml_load_data((const uint8_t *)text, n_bytes, &d->ycfg, &d->root,
                        (cyaml_data_t **)&d->slots, NULL);
    if (e != CYAML_OK) {
        rc = cyaml_error(d, &lb, e, err);
        d->slots = NULL;
        cfg_doc_destroy(d);
        return rc;
    }
    *out = d;
    return RAG_OK;
}

void cfg_doc_destroy(cfg_doc *d)
{
    if (!d)
        return;
    if (d->slots)
        cyaml_free(&d->ycfg, &d->root, d->slots, 0);
    if (d->has_ydoc)
        yaml_document_delete(&d->ydoc);
    for (size_t b = 0; b < d->n_backends; b++)
        rag_free(d->bnames[b]);
    rag_arena_destroy(d->schema_arena);
    rag_free(d->name);
    rag_free(d);
}
