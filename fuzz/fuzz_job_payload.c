/* fuzz_job_payload.c - a shared upload job's payload (jobs.h) on arbitrary
 * bytes: it is read back from PostgreSQL, so it is outside input.
 *
 * Checked on every payload that parses: the name is its own safe file name,
 * the sha256 is 64 hex digits and that of the bytes, the bytes lie inside
 * the payload; building a payload from what was parsed and parsing that
 * gives the same name, sha256 and bytes. The input is also wrapped into a
 * valid payload (as the file's bytes) and must parse to exactly itself. */
#include "server/http_parse.h"
#include "server/jobs.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t n)
{
    char name[RAG_FILENAME_MAX + 1], name2[RAG_FILENAME_MAX + 1], sha[65], sha2[65], hex[65];
    char why[256], safe[RAG_FILENAME_MAX + 1];
    const unsigned char *body = NULL, *body2 = NULL;
    size_t n_body = 0, n_body2 = 0, n_pl = 0;
    unsigned char *pl = NULL;

    why[0] = '\0';
    if (srv_jobs_payload_parse(data, n, name, sizeof name, sha, &body, &n_body, why,
                               sizeof why) == 0) {
        if (body < data || body + n_body != data + n)
            abort();
        if (rag_safe_filename(safe, sizeof safe, name, NULL) != RAG_OK || strcmp(safe, name))
            abort();
        rag_sha256_hex(body, n_body, hex);
        if (strcmp(hex, sha))
            abort();
        if (srv_jobs_payload(&pl, &n_pl, name, sha, body, n_body) < 0)
            return 0;   /* out of memory */
        if (srv_jobs_payload_parse(pl, n_pl, name2, sizeof name2, sha2, &body2, &n_body2, why,
                                   sizeof why) != 0 ||
            strcmp(name, name2) || strcmp(sha, sha2) || n_body2 != n_body ||
            memcmp(body, body2, n_body))
            abort();
        rag_free(pl);
        pl = NULL;
    } else if (!why[0]) {
        abort();   /* a refusal says why */
    }
    /* the input as a file's bytes */
    rag_sha256_hex(data, n, hex);
    if (srv_jobs_payload(&pl, &n_pl, "upload.pdf", hex, data, n) < 0)
        return 0;
    if (srv_jobs_payload_parse(pl, n_pl, name, sizeof name, sha, &body, &n_body, why,
                               sizeof why) != 0 ||
        strcmp(name, "upload.pdf") || strcmp(sha, hex) || n_body != n ||
        (n && memcmp(body, data, n)))
        abort();
    rag_free(pl);
    return 0;
}
