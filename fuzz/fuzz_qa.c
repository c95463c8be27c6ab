/* fuzz_qa.c - bytes as a QA question file (docrag eval --qa FILE): loading
 * and validation must never crash, leak or hang, and every question that
 * loads is scored against a fixed ranking. The loader reads a path, so the
 * bytes go through an anonymous in-memory file (memfd). */
#include "eval/eval.h"

#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const rag_qa_span ranked[] = {
        {"/docs/a.pdf", 1, 2}, {"b.pdf", 3, 3}, {"/x/riscv-card.pdf", 1, 1}};
    rag_qa_set set = {0};
    rag_err err = {0};
    char path[64];
    int fd = memfd_create("fuzz_qa", 0);

    if (fd < 0)
        return 0;
    if (size == 0 || write(fd, data, size) == (ssize_t)size) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        if (rag_qa_load(&set, path, &err) == RAG_OK) {
            size_t *first = rag_calloc(set.n ? set.n : 1, sizeof *first);
            for (size_t i = 0; first && i < set.n; i++)
                first[i] = rag_qa_first_hit(&set.items[i], ranked, 3);
            if (first)
                (void)rag_qa_summarize(first, set.n);
            rag_free(first);
        }
        rag_qa_set_fini(&set);
    }
    close(fd);
    return 0;
}
