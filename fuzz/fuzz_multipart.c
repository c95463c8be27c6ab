/* fuzz_multipart.c - multipart/form-data on arbitrary bytes. The first line
 * of the input is a Content-Type value (its boundary is used when it has a
 * valid one, else "b"), the rest is the body.
 *
 * Checked on every parsed body: each part's data lie inside the body; names
 * are non-empty UTF-8; a filename is its own safe form and has no
 * separator; parsing again under tight limits gives the same parts or
 * RAG_ELIMIT, never another answer. */
#include "server/http_parse.h"

#include <stdlib.h>
#include <string.h>

static void check_parts(const rag_multipart *m, const char *body, size_t n_body)
{
    for (size_t i = 0; i < m->n_parts; i++) {
        const rag_multipart_part *p = &m->parts[i];
        char safe[RAG_FILENAME_MAX + 1];
        if (p->data < body || p->n_data > n_body || p->data + p->n_data > body + n_body)
            abort();
        if (!p->name || !p->name[0] || !rag_utf8_valid(p->name, strlen(p->name)))
            abort();
        if (p->filename) {
            if (rag_safe_filename(safe, sizeof safe, p->filename, NULL) != RAG_OK ||
                strcmp(safe, p->filename) != 0 || strpbrk(p->filename, "/\\"))
                abort();
            if (!p->raw_filename)
                abort();
        } else if (p->raw_filename && p->raw_filename[0]) {
            abort(); /* a non-empty filename is either made safe or refused */
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t n_ct = nl ? (size_t)(nl - data) : size;
    size_t n_body = nl ? size - n_ct - 1 : 0;
    char *ct = malloc(n_ct + 1), *body = malloc(n_body ? n_body : 1);
    char bnd[RAG_MULTIPART_BOUNDARY_MAX + 1], safe[RAG_FILENAME_MAX + 1];
    rag_multipart_limits tight = {.max_parts = 3, .max_header_bytes = 64};
    rag_multipart *m = NULL, *m2 = NULL;
    int rc, rc2;

    if (!ct || !body)
        abort();
    memcpy(ct, data, n_ct);
    ct[n_ct] = '\0';
    if (n_body)
        memcpy(body, nl + 1, n_body); /* exact size: overreads trip ASan */

    if (rag_multipart_boundary(bnd, ct, NULL) != RAG_OK) {
        if (bnd[0])
            abort(); /* cleared on error */
        strcpy(bnd, "b");
    } else if (!bnd[0] || strlen(bnd) > RAG_MULTIPART_BOUNDARY_MAX) {
        abort();
    }
    /* the Content-Type line doubles as a file name and an Accept-Encoding */
    if (rag_safe_filename(safe, sizeof safe, ct, NULL) == RAG_OK &&
        (!safe[0] || strpbrk(safe, "/\\")))
        abort();
    (void)rag_accepts_gzip(ct);

    rc = rag_multipart_parse(&m, body, n_body, bnd, NULL, NULL);
    if ((rc == RAG_OK) != (m != NULL))
        abort();
    if (rc == RAG_OK) {
        check_parts(m, body, n_body);
        rc2 = rag_multipart_parse(&m2, body, n_body, bnd, &tight, NULL);
        if (rc2 == RAG_OK) {
            if (m2->n_parts != m->n_parts)
                abort();
            for (size_t i = 0; i < m->n_parts; i++) {
                if (m2->parts[i].data != m->parts[i].data ||
                    m2->parts[i].n_data != m->parts[i].n_data ||
                    strcmp(m2->parts[i].name, m->parts[i].name) != 0)
                    abort();
            }
        } else if (rc2 != RAG_ELIMIT) {
            abort();
        }
    } else if (rc != RAG_EFORMAT && rc != RAG_ELIMIT) {
        abort();
    }
    rag_multipart_destroy(m2);
    rag_multipart_destroy(m);
    free(body);
    free(ct);
    return 0;
}
