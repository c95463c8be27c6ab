/* text.c - plain text: lines and paragraphs as written.
 *
 * A newline is a line break, one or more blank lines a paragraph break.
 * Invalid UTF-8 is repaired (U+FFFD, counted in n_replaced), whitespace
 * runs collapse, and hyphenated line breaks are joined by the builder.
 */
#include "ingest/ingest_internal.h"

int rag__extract_text(rag_doc *doc, const char *data, size_t n_bytes,
                      const rag_extract_opts *opts, rag_err *err)
{
    ib b;
    int rc;

    ib_init(&b, doc->path, opts->max_text_bytes);
    ib_set_deadline(&b, rag__deadline(opts), opts->max_seconds);
    ib_put(&b, data, n_bytes, 1);
    rc = ib_finish(&b, doc);
    if (rc < 0 && err)
        *err = b.err;
    ib_fini(&b);
    return rc;
}
