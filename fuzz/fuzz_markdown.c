/* fuzz_markdown.c - libFuzzer target: rag_extract_mem on arbitrary bytes as
 * markdown. Any outcome but a crash, a leak or a sanitizer report is fine; the
 * document, when there is one, must satisfy the rag_doc invariants. */
#include "ingest/ingest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check(const rag_doc *d)
{
    size_t end = 0;
    if (strlen(d->text) != d->text_bytes || !rag_utf8_valid(d->text, d->text_bytes))
        abort();
    for (size_t i = 0; i < d->n_pages; i++) {
        if (d->pages[i].byte_start != end || d->pages[i].byte_end < end)
            abort();
        end = d->pages[i].byte_end;
    }
    if (end != d->text_bytes || d->n_pages == 0)
        abort();
    for (size_t i = 0; i < d->n_sections; i++)
        if (d->sections[i].byte_start >= d->text_bytes ||
            (i && d->sections[i].byte_start <= d->sections[i - 1].byte_start))
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rag_extract_opts o = rag_extract_default_opts();
    rag_doc *d = NULL;
    rag_err err;

    rag_log_set_level(RAG_LOG_ERROR);
    o.max_text_bytes = (size_t)8 << 20;
    if (rag_extract_mem(&d, "fuzz.markdown", RAG_DOC_MARKDOWN, (const char *)data, size,
                        &o, &err) == RAG_OK) {
        check(d);
        rag_doc_destroy(d);
    }
    return 0;
}
