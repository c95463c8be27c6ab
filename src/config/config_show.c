/* config_show.c - print the effective configuration, secrets masked.
 *
 * Driven by the same field tables as the loader. A secret (a field flagged
 * CFG_SECRET, or any key whose name ends in key/token/secret/password) is
 * printed as "****" when set and left out when not: not even its length or
 * last characters leave the process. The YAML form loads back as a config
 * file ("****" is a placeholder, so a reloaded back-end is disabled). Strings are double-quoted with JSON escapes,
 * which is valid YAML too. A password inside a URL (userinfo "user:PASS@",
 * in any string or list value) is a secret too: printed as "user:****@".
 */
#include "config_int.h"

#include <stdio.h>
#include <string.h>

static int put_quoted(rag_buf *out, const char *s)
{
    int rc = rag_buf_putc(out, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); rc == RAG_OK && *p;
         p++) {
        if (*p == '"' || *p == '\\')
            rc = rag_buf_printf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7f)
            rc = rag_buf_printf(out, "\\u%04x", *p);
        else
            rc = rag_buf_putc(out, (char)*p);
    }
    return rc == RAG_OK ? rag_buf_putc(out, '"') : rc;
}

/* put_quoted with the password of every URL userinfo masked: after a
 * scheme's "://", "user:PASS@host" becomes "user:****@host", and a userinfo
 * with no ':' (a bare token, "TOKEN@host") becomes "****@host". The
 * password is a secret like api_key, wherever a URL is given. */
static int put_quoted_masked(rag_buf *out, const char *s)
{
    rag_buf b = RAG_BUF_INIT;
    const char *p = s ? s : "", *sep;
    int rc = RAG_OK;

    while (rc == RAG_OK && (sep = strstr(p, "://")) != NULL) {
        const char *auth = sep + 3, *end = auth + strcspn(auth, "/?#"), *at = NULL;
        for (const char *q = auth; q < end; q++)
            if (*q == '@')
                at = q;
        if (!at) {
            rc = rag_buf_append(&b, p, (size_t)(auth - p));
            p = auth;
            continue;
        }
        {
            const char *colon = memchr(auth, ':', (size_t)(at - auth));
            rc = rag_buf_append(&b, p, (size_t)((colon ? colon + 1 : auth) - p));
            if (rc == RAG_OK)
                rc = rag_buf_puts(&b, "****");
            p = at;
        }
    }
    if (rc == RAG_OK)
        rc = rag_buf_puts(&b, p);
    if (rc == RAG_OK)
        rc = put_quoted(out, b.data ? b.data : "");
    rag_buf_fini(&b);
    return rc;
}

static int is_secret(const struct cfg_field *f)
{
    return (f->flags & CFG_SECRET) || cfg_key_is_secret(f->key);
}

/* The value of one field as YAML/JSON text (the two agree for scalars and
 * flow lists). */
static int put_value(rag_buf *out, const struct cfg_field *f, const void *base)
{
    const char *p = (const char *)base + f->offset;
    switch (f->type) {
    case CFG_INT: return rag_buf_printf(out, "%d", *(const int *)p);
    case CFG_LONG: return rag_buf_printf(out, "%ld", *(const long *)p);
    case CFG_DOUBLE: return rag_buf_printf(out, "%.15g", *(const double *)p);
    case CFG_BOOL: return rag_buf_puts(out, *(const int *)p ? "true" : "false");
    case CFG_STR:
    case CFG_ENUM: {
        const char *s = *(char *const *)p;
        if (is_secret(f))
            return put_quoted(out, s && *s ? "****" : "");
        if (!s)
            return rag_buf_puts(out, "null");
        return put_quoted_masked(out, s);
    }
    case CFG_LIST: {
        size_t n = *(const size_t *)((const char *)base + f->count_offset);
        char *const *items = f->max_items ? (char *const *)p : *(char **const *)p;
        int rc = rag_buf_putc(out, '[');
        for (size_t i = 0; rc == RAG_OK && i < n; i++) {
            if (i)
                rc = rag_buf_puts(out, ", ");
            if (rc == RAG_OK)
                rc = is_secret(f) ? put_quoted(out, "****") : put_quoted_masked(out, items[i]);
        }
        return rc == RAG_OK ? rag_buf_putc(out, ']') : rc;
    }
    }
    return RAG_OK;
}

static int show_yaml(rag_buf *out, const rag_config *c, int origins)
{
    char section[64] = "", at[200];
    int rc = rag_buf_printf(out, "# docrag effective configuration (secrets masked)\n");
    for (size_t i = 0; rc == RAG_OK && i < rag_cfg_n_fields; i++) {
        const struct cfg_field *f = &rag_cfg_fields[i];
        const char *dot = strchr(f->key, '.'), *leaf = dot ? dot + 1 : f->key;
        if (dot && (strlen(section) != (size_t)(dot - f->key) ||
                    strncmp(section, f->key, (size_t)(dot - f->key)))) {
            snprintf(section, sizeof section, "%.*s", (int)(dot - f->key), f->key);
            rc = rag_buf_printf(out, "%s:\n", section);
        }
        if (rc == RAG_OK)
            rc = rag_buf_printf(out, "%s%s: ", dot ? "  " : "", leaf);
        if (rc == RAG_OK)
            rc = put_value(out, f, c);
        if (rc == RAG_OK && origins) {
            cfg_origin_text(at, sizeof at, c, &c->prov->fields[i], f->key);
            rc = rag_buf_printf(out, "  # %s", at);
        }
        if (rc == RAG_OK)
            rc = rag_buf_putc(out, '\n');
    }
    if (rc == RAG_OK)
        rc = rag_buf_puts(out, c->n_backends ? "backends:\n" : "backends: {}\n");
    for (size_t b = 0; rc == RAG_OK && b < c->n_backends; b++) {
        const rag_backend_cfg *be = &c->backends[b];
        rc = rag_buf_printf(out, "  %s:", be->name);
        if (rc == RAG_OK && origins) {
            cfg_origin_text(at, sizeof at, c, &c->prov->backend_def[b], "backends");
            rc = rag_buf_printf(out, "  # %s", at);
        }
        if (rc == RAG_OK)
            rc = rag_buf_putc(out, '\n');
        for (size_t j = 0; rc == RAG_OK && j < rag_cfg_n_backend_fields; j++) {
            const struct cfg_field *f = &rag_cfg_backend_fields[j];
            char key[160];
            /* unset strings are left out so the output loads back */
            const char *sv = (f->type == CFG_STR || f->type == CFG_ENUM)
                                 ? *(char *const *)((const char *)be + f->offset) : "";
            if (!sv || (!*sv && is_secret(f)))
                continue;
            rc = rag_buf_printf(out, "    %s: ", f->key);
            if (rc == RAG_OK)
                rc = put_value(out, f, be);
            if (rc == RAG_OK && origins) {
                snprintf(key, sizeof key, "backends.%s.%s", be->name, f->key);
                cfg_origin_text(at, sizeof at, c, &c->prov->backends[b][j], key);
                rc = rag_buf_printf(out, "  # %s", at);
            }
            if (rc == RAG_OK)
                rc = rag_buf_putc(out, '\n');
        }
        if (rc == RAG_OK && !be->enabled)
            rc = rag_buf_puts(out, "    # disabled: api_key is empty or a placeholder\n");
    }
    return rc;
}

static int show_json(rag_buf *out, const rag_config *c, int origins)
{
    char at[200];
    int rc = rag_buf_puts(out, "{\"source\": ");
    if (rc == RAG_OK)
        rc = c->source_path ? put_quoted(out, c->source_path) : rag_buf_puts(out, "null");
    if (rc == RAG_OK)
        rc = rag_buf_puts(out, ", \"settings\": {");
    for (size_t i = 0; rc == RAG_OK && i < rag_cfg_n_fields; i++) {
        rc = rag_buf_printf(out, "%s\"%s\": ", i ? ", " : "", rag_cfg_fields[i].key);
        if (rc == RAG_OK)
            rc = put_value(out, &rag_cfg_fields[i], c);
    }
    if (rc == RAG_OK)
        rc = rag_buf_puts(out, "}, \"backends\": {");
    for (size_t b = 0; rc == RAG_OK && b < c->n_backends; b++) {
        const rag_backend_cfg *be = &c->backends[b];
        rc = rag_buf_printf(out, "%s\"%s\": {", b ? ", " : "", be->name);
        for (size_t j = 0; rc == RAG_OK && j < rag_cfg_n_backend_fields; j++) {
            rc = rag_buf_printf(out, "\"%s\": ", rag_cfg_backend_fields[j].key);
            if (rc == RAG_OK)
                rc = put_value(out, &rag_cfg_backend_fields[j], be);
            if (rc == RAG_OK)
                rc = rag_buf_puts(out, ", ");
        }
        if (rc == RAG_OK)
            rc = rag_buf_printf(out, "\"enabled\": %s}", be->enabled ? "true" : "false");
    }
    if (rc == RAG_OK)
        rc = rag_buf_putc(out, '}');
    if (rc == RAG_OK && origins) {
        rc = rag_buf_puts(out, ", \"origins\": {");
        for (size_t i = 0; rc == RAG_OK && i < rag_cfg_n_fields; i++) {
            cfg_origin_text(at, sizeof at, c, &c->prov->fields[i], rag_cfg_fields[i].key);
            rc = rag_buf_printf(out, "%s\"%s\": ", i ? ", " : "", rag_cfg_fields[i].key);
            if (rc == RAG_OK)
                rc = put_quoted(out, at);
        }
        for (size_t b = 0; rc == RAG_OK && b < c->n_backends; b++)
            for (size_t j = 0; rc == RAG_OK && j < rag_cfg_n_backend_fields; j++) {
                char key[160];
                snprintf(key, sizeof key, "backends.%s.%s", c->backends[b].name,
                         rag_cfg_backend_fields[j].key);
                cfg_origin_text(at, sizeof at, c, &c->prov->backends[b][j], key);
                rc = rag_buf_printf(out, ", \"%s\": ", key);
                if (rc == RAG_OK)
                    rc = put_quoted(out, at);
            }
        if (rc == RAG_OK)
            rc = rag_buf_putc(out, '}');
    }
    if (rc == RAG_OK)
        rc = rag_buf_puts(out, "}\n");
    return rc;
}

int rag_config_show_ex(rag_buf *out, const rag_config *c, unsigned flags)
{
    int origins = (flags & RAG_CONFIG_SHOW_ORIGIN) != 0;
    if (!out || !c || !c->prov)
        return RAG_EINVAL;
    return (flags & RAG_CONFIG_SHOW_JSON) ? show_json(out, c, origins)
                                          : show_yaml(out, c, origins);
}

int rag_config_show(rag_buf *out, const rag_config *c)
{
    return rag_config_show_ex(out, c, RAG_CONFIG_SHOW_ORIGIN);
}
