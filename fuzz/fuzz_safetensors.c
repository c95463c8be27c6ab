/* fuzz_safetensors.c - the safetensors header validator on arbitrary bytes.
 *
 * Every input is a whole "file": the parser must accept it or return an
 * error, never read outside it; every accepted tensor must lie inside the
 * data area and not overlap the next one.
 */
#include "model/model.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rag_safetensors st;
    rag_err err;
    if (rag_safetensors_parse(&st, data, size, "fuzz.safetensors", &err) == RAG_OK) {
        for (size_t i = 0; i < st.n_tensors; i++) {
            const rag_st_tensor *t = &st.tensors[i];
            volatile uint8_t sink = 0;
            if (t->data < data || t->data + t->n_bytes > data + size)
                abort();
            if (i + 1 < st.n_tensors && t->data + t->n_bytes > st.tensors[i + 1].data)
                abort();
            if (t->n_bytes)
                sink ^= t->data[0] ^ t->data[t->n_bytes - 1];
            (void)sink;
        }
        rag_safetensors_fini(&st);
    }
    return 0;
}
