/* fuzz_hub_check.c - what `models pull` accepts (rag_hub_check_file) on
 * arbitrary bytes, as each file kind a pull stores.
 *
 * The checker reads files, so each input is written to one temporary file
 * (made once per process) and checked as config.json, tokenizer.json,
 * vocab.txt, modules.json and model.safetensors: it must accept or refuse,
 * never crash or read outside the file.
 */
#include "net/net.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_tmp(void)
{
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const kinds[] = {"config.json", "tokenizer.json", "vocab.txt",
                                        "modules.json", "model.safetensors"};
    FILE *f;
    if (!path[0]) {
        int fd;
        snprintf(path, sizeof path, "/tmp/fuzz_hub_check.XXXXXX");
        if ((fd = mkstemp(path)) < 0)
            abort();
        close(fd);
        atexit(remove_tmp);
    }
    if (!(f = fopen(path, "wb")) || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        rag_err err = {0};
        int rc = rag_hub_check_file(kinds[i], path, &err);
        if (rc != RAG_OK && !err.msg[0])
            abort(); /* a refusal always says why */
    }
    return 0;
}
