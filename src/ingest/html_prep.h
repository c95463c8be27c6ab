/* html_prep.h - bound hostile HTML before libxml2 parses it (private to
 * src/ingest; html_prep.c explains why and how).
 *
 * Thread safety: pure function.
 */
#ifndef RAG_HTML_PREP_H
#define RAG_HTML_PREP_H

#include "core/core.h"

typedef struct {
    size_t max_attrs;   /* attributes kept per start tag; 0 = all */
    size_t max_depth;   /* start tags opened deeper are flattened; 0 = none */
} html_prep_opts;

typedef struct {
    size_t n_tags_cut;  /* start tags that lost attributes */
    size_t n_flattened; /* start tags flattened */
} html_prep_stats;

/* Rewrite data[0..n_bytes) into out with the caps of o. Returns 1 when
 * out holds the rewritten document, 0 when nothing was over a cap (out
 * untouched: parse data as it is), RAG_ENOMEM. Linear in n_bytes. */
int html_prep(rag_buf *out, const char *data, size_t n_bytes, const html_prep_opts *o,
              html_prep_stats *st);

#endif
