/* fuzz_changeset.c - a follower applying a changeset from the store's
 * change log (replica.c, rag_replica_apply_changeset) to a copy that
 * holds one document, over arbitrary bytes.
 *
 * Checks, beyond "no crash": a changeset that does not fit (1) or fails
 * (< 0) leaves the copy as it was (rows and pg_applied_seq); one that is
 * applied (0) records its seq. A violated check traps.
 */
#include "core/core.h"
#include "index/index.h"
#include "index/replica.h"
#include "index/store_sqlite.h"

#include <stdint.h>
#include <string.h>

static void seed(rag_index *ix)
{
    static const char *const texts[] = {"A replica keeps a local copy of the store.",
                                        "Followers apply changesets from the log."};
    rag_chunk c[2];
    rag_page_span pg[1] = {{1, 0, 0}};
    rag_chunks cs = {c, 2, NULL};
    rag_doc_meta m = {"seed.md", "00ff", 1, 10};
    rag_doc d;
    memset(c, 0, sizeof c);
    for (int i = 0; i < 2; i++) {
        c[i].id = 1001 + i;
        c[i].ord = i;
        c[i].page_start = c[i].page_end = 1;
        c[i].section = "Intro";
        c[i].text = texts[i];
        c[i].text_bytes = strlen(texts[i]);
        c[i].n_tokens = 8;
    }
    memset(&d, 0, sizeof d);
    d.path = "seed.md";
    d.title = "Seed";
    d.kind = RAG_DOC_TEXT;
    d.text = "";
    d.pages = pg;
    d.n_pages = 1;
    if (rag_index_put_doc(ix, &m, &d, &cs, NULL) < 0)
        __builtin_trap();
    /* as on the copy the corpus was made on (fuzz/corpus/changeset) */
    sqlite3_exec(rag_index_db(ix), "UPDATE documents SET added_at = 1", NULL, NULL, NULL);
}

/* Rows of the replicated tables and the applied seq, as one number each. */
static void state_of(rag_index *ix, rag_index_stats *st, char applied[32])
{
    if (rag_index_counts_get(ix, st, NULL) < 0)
        __builtin_trap();
    rag_index_meta_get(ix, "pg_applied_seq", applied, 32, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rag_index *ix = NULL;
    rag_index_stats before, after;
    char a0[32], a1[32];
    int rc;

    if (rag_index_open(&ix, NULL, RAG_INDEX_MEMORY, NULL) < 0)
        return 0;
    seed(ix);
    state_of(ix, &before, a0);
    rc = rag_replica_apply_changeset(ix, 7, data, size, NULL);
    state_of(ix, &after, a1);
    if (rc != 0 && (before.n_documents != after.n_documents ||
                    before.n_chunks != after.n_chunks || before.n_pages != after.n_pages ||
                    strcmp(a0, a1)))
        __builtin_trap();
    if (rc == 0 && strcmp(a1, "7"))
        __builtin_trap();
    rag_index_close(ix);
    return 0;
}
