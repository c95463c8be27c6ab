/* fuzz_config.c - bytes as a YAML config file: must never crash, leak or
 * hang. The in-memory source (rag_config_source.yaml_text) goes through the
 * same path as a file; show is exercised on every config that loads. */
#include "config/config.h"

#include <stdint.h>
#include <stdlib.h>

static void quiet(rag_log_level level, const char *msg, void *ud)
{
    (void)level;
    (void)msg;
    (void)ud;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rag_config_source src = {0};
    rag_config *cfg = NULL;
    rag_err err = {0};

    rag_log_set(quiet, NULL);
    /* ${FUZZ_SET} expands; ${FUZZ_UNSET} is an error path */
    setenv("FUZZ_SET", "value", 0);
    src.yaml_text = (const char *)data;
    src.yaml_len = size;
    src.yaml_name = "fuzz.yaml";
    src.profile = (size & 1) ? "hf_spaces" : NULL;
    if (rag_config_load(&cfg, &src, &err) == RAG_OK) {
        rag_buf out = RAG_BUF_INIT;
        rag_config_show_ex(&out, cfg, RAG_CONFIG_SHOW_ORIGIN);
        rag_config_show_ex(&out, cfg, RAG_CONFIG_SHOW_JSON | RAG_CONFIG_SHOW_ORIGIN);
        rag_buf_fini(&out);
        rag_config_destroy(cfg);
    }
    rag_log_set(NULL, NULL);
    return 0;
}
