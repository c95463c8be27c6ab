/* config_int.h - private to src/config: the field tables, the parsed YAML
 * file, ${VAR} expansion and provenance.
 *
 * The field tables are the single description of every key: the loader
 * takes defaults, DOCRAG_* names, YAML schema (for libcyaml), range checks
 * and `config show` from them.
 */
#ifndef RAG_CONFIG_INT_H
#define RAG_CONFIG_INT_H

#include "config.h"

#include <stdint.h>

typedef enum {
    CFG_INT,    /* int, range [min, max] */
    CFG_LONG,   /* long, range [min, max] */
    CFG_DOUBLE, /* double, range [min, max] */
    CFG_BOOL,   /* int 0/1: true/false/yes/no/on/off/1/0 */
    CFG_STR,    /* char *, owned */
    CFG_ENUM,   /* char *, one of choices */
    CFG_LIST,   /* char **items + size_t count (at count_offset) */
} cfg_type;

enum {
    CFG_SECRET = 1 << 0, /* masked in show, never in errors */
};

struct cfg_field {
    const char *key;        /* "search.k"; backends: "api_key" */
    cfg_type type;
    size_t offset;          /* into rag_config or rag_backend_cfg */
    size_t count_offset;    /* CFG_LIST: the size_t count */
    size_t max_items;       /* CFG_LIST: capacity (0 = heap, unlimited) */
    const char *def;        /* default as text; NULL = unset */
    double min, max;        /* numeric range (inclusive) */
    const char *const *choices; /* CFG_ENUM: NULL-terminated */
    unsigned flags;
    const char *doc;        /* one line for docs and --help */
};

extern const struct cfg_field rag_cfg_fields[];
extern const size_t rag_cfg_n_fields;
extern const struct cfg_field rag_cfg_backend_fields[];
extern const size_t rag_cfg_n_backend_fields;

/* Profile defaults: {profile, key, value}; backend keys are written
 * "backends.NAME.FIELD". Values go through ${VAR} expansion. */
struct cfg_profile_default {
    const char *profile;
    const char *key;
    const char *value;
};
extern const struct cfg_profile_default rag_cfg_profile_defaults[];
extern const size_t rag_cfg_n_profile_defaults;
extern const char *const rag_cfg_profiles[];      /* NULL-terminated */
extern const char *const rag_cfg_backend_types[]; /* NULL-terminated */

/* ---- provenance --------------------------------------------------------- */

typedef enum {
    CFG_FROM_DEFAULT = 0,
    CFG_FROM_PROFILE,
    CFG_FROM_FILE,
    CFG_FROM_ENV,
    CFG_FROM_FLAG,
    CFG_FROM_DETECT, /* profile detected from SPACE_ID / RAILWAY_ENVIRONMENT */
} cfg_from;

typedef struct {
    uint8_t from;    /* cfg_from */
    int line, col;   /* CFG_FROM_FILE */
} cfg_origin;

struct rag_config_prov {
    cfg_origin fields[64];                          /* by rag_cfg_fields index */
    cfg_origin backends[RAG_MAX_BACKENDS][32];      /* by backend field index */
    cfg_origin backend_def[RAG_MAX_BACKENDS];       /* where it was declared */
    char *key_var[RAG_MAX_BACKENDS];                /* ${VAR} named by api_key */
    char *detected_from;                            /* env var that chose profile */
};

/* "docrag.yaml:12:3", "environment DOCRAG_SEARCH_K", "--set search.k",
 * "profile hf_spaces", "detected from SPACE_ID" or "default". */
void cfg_origin_text(char *buf, size_t n, const rag_config *c, const cfg_origin *o,
                     const char *key);

/* ---- the parsed YAML file ------------------------------------------------ */

/* One libcyaml mirror slot per key: a scalar or a list, as text. */
typedef struct {
    char *scalar;
    char **items;
    uint32_t n_items;
} cfg_slot;

typedef struct cfg_doc cfg_doc;

/* Parse YAML bytes. name labels errors ("FILE:LINE:COL: ..."). Caller owns
 * *out (cfg_doc_destroy). Unknown keys, wrong kinds (list vs scalar) and
 * syntax errors fail with RAG_EFORMAT. */
int cfg_doc_parse(cfg_doc **out, const char *name, const char *text,
                  size_t n_bytes, rag_err *err);
void cfg_doc_destroy(cfg_doc *d);
/* Slot of top-level field i; NULL when the key is absent. */
const cfg_slot *cfg_doc_field(const cfg_doc *d, size_t i);
size_t cfg_doc_n_backends(const cfg_doc *d);
const char *cfg_doc_backend_name(const cfg_doc *d, size_t b);
/* Slot of backend b's field j; NULL when absent. */
const cfg_slot *cfg_doc_backend_field(const cfg_doc *d, size_t b, size_t j);
/* Position of a value: path segments from the root; item >= 0 selects a
 * list entry. Returns 0 and fills line/col (1-based), or -1. */
int cfg_doc_pos(const cfg_doc *d, const char *const *path, size_t n_path,
                long item, int *line, int *col);

/* 1 if the value at path (list entry item >= 0) is a plain YAML null
 * ("", "~", "null"): loaded as an empty string. */
int cfg_doc_is_null(const cfg_doc *d, const char *const *path, size_t n_path, long item);

/* ---- helpers (config_expand.c) ------------------------------------------ */

/* Expand ${VAR}, ${VAR:-default}, ${VAR-default} and $${ (a literal "${")
 * in one scalar. *out is owned by the caller. *first_var (may be NULL)
 * gets the first variable name referenced (caller frees). On error the
 * message is "key KEY: ..." and never contains the value. */
int cfg_expand(char **out, const char *in, const char *key, char **first_var,
               rag_err *err);
/* 1 if the last dotted segment of key names a secret (api_key, *_token,
 * *_secret, *_password, *_key). */
int cfg_key_is_secret(const char *key);
/* Closest candidate within edit distance 2, or NULL. */
const char *cfg_did_you_mean(const char *word, const char *const *cands,
                             size_t n_cands);

#endif
