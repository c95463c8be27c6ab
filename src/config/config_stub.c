/* config_stub.c - TEMPORARY defaults-only loader until the YAML loader lands. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

int rag_config_load(rag_config **out, const rag_config_source *src, rag_err *err)
{
    rag_config *c = rag_calloc(1, sizeof *c);
    const char *db = getenv("DOCRAG_DB");
    (void)src;
    if (!c)
        return rag_fail(err, RAG_ENOMEM, "config: out of memory");
    c->profile = rag_strdup("local");
    c->db_path = rag_strdup(db && *db ? db : "docrag.db");
    c->chunk_target_tokens = 200;
    c->chunk_max_tokens = 250;
    c->chunk_overlap_tokens = 32;
    c->ingest_max_file_mb = 256;
    c->ingest_max_text_mb = 64;
    c->ingest_strip_headers = 1;
    c->search_k = 10;
    c->search_mode = rag_strdup("bm25");
    c->search_candidates = 50;
    c->answer_max_sentences = 4;
    c->answer_context_chunks = 5;
    c->answer_min_score = 0.0;
    c->log_level = rag_strdup("info");
    *out = c;
    return RAG_OK;
}

void rag_config_destroy(rag_config *c)
{
    if (!c)
        return;
    rag_free(c->profile);
    rag_free(c->db_path);
    rag_free(c->search_mode);
    rag_free(c->log_level);
    rag_free(c);
}

int rag_config_show(rag_buf *out, const rag_config *c)
{
    return rag_buf_printf(out, "profile: %s\ndb: %s\n", c->profile, c->db_path);
}

const rag_backend_cfg *rag_config_backend(const rag_config *c, const char *name)
{
    for (size_t i = 0; i < c->n_backends; i++)
        if (strcmp(c->backends[i].name, name) == 0)
            return &c->backends[i];
    return NULL;
}
