/* fuzz_answers.c - bytes as an answers file (docrag eval --answers FILE)
 * and as an answer's text: loading and validation (regex nuggets
 * included) must never crash, leak or hang; every nugget that loads is
 * matched against the bytes, and the bytes are split into sentences,
 * classified and compared as an answer would be. The loader reads a path,
 * so the bytes go through an anonymous in-memory file (memfd). */
#include "eval/eval.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rag_ans_set set = {0};
    rag_ans_sentences sents;
    rag_err err = {0};
    char path[64], *text, *flat;
    int fd = memfd_create("fuzz_answers", 0);

    if (fd < 0)
        return 0;
    text = rag_malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';   /* answers are C strings: NUL ends them */
    }
    if (text && (size == 0 || write(fd, data, size) == (ssize_t)size)) {
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        flat = rag_ans_squash(text, strlen(text), 1);
        if (rag_ans_load(&set, path, &err) == RAG_OK && flat)
            for (size_t i = 0; i < set.n; i++)
                for (size_t g = 0; g < set.items[i].n_nuggets; g++)
                    (void)rag_ans_nugget_match(&set.items[i].nuggets[g], flat);
        rag_ans_set_fini(&set);
        rag_free(flat);
        if (rag_ans_split(&sents, text, &err) == RAG_OK) {
            for (size_t i = 0; i < sents.n; i++) {
                (void)rag_ans_junk_classify(sents.items[i]);
                if (i > 0)
                    (void)rag_ans_near_duplicate(sents.items[i], sents.items[i - 1]);
            }
            rag_ans_sentences_fini(&sents);
        }
    }
    rag_free(text);
    close(fd);
    return 0;
}
