/* embed_registry.c - config type name -> embedder constructor (STYLE.md §6),
 * and the model-id rule chains use. */
#include "embed/embed.h"
#include "model/model_config.h"

#include <string.h>

typedef int (*create_fn)(rag_embedder **out, const rag_backend_cfg *b, rag_usage *usage,
                         const rag_remote_opts *opts, rag_err *err);

static int local_from_cfg(rag_embedder **out, const rag_backend_cfg *b, rag_usage *usage,
                          const rag_remote_opts *opts, rag_err *err)
{
    rag_model_opts mo;
    int rc = rag_model_opts_from_backend(&mo, b, err);
    (void)usage;
    (void)opts;
    if (rc < 0)
        return rc;
    return rag_embedder_local_create(out, b->model, &mo, err);
}

static const struct {
    const char *type;
    create_fn create;
} registry[] = {
    {"tei", rag_embedder_remote_create},
    {"hf_inference", rag_embedder_remote_create},
    {"openai", rag_embedder_remote_create},
    {"ollama", rag_embedder_remote_create},
    {"local", local_from_cfg},
};

int rag_embedder_from_config_ex(rag_embedder **out, const rag_config *cfg,
                                const char *backend_name, rag_usage *usage,
                                const rag_remote_opts *opts, rag_err *err)
{
    const rag_backend_cfg *b;

    *out = NULL;
    if (!backend_name || !strcmp(backend_name, "none"))
        return RAG_OK;
    b = cfg ? rag_config_backend(cfg, backend_name) : NULL;
    if (!b)
        return rag_fail(err, RAG_ENOTFOUND, "back-end '%s' is not declared under backends",
                        backend_name);
    if (b->type && !strcmp(b->type, "none"))
        return RAG_OK;
    if (!b->enabled)
        return rag_fail(err, RAG_EINVAL, "back-end '%s' disabled: api_key is empty or a "
                        "placeholder", backend_name);
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (b->type && !strcmp(registry[i].type, b->type))
            return registry[i].create(out, b, usage, opts, err);
    return rag_fail(err, RAG_EINVAL, "back-end '%s': type %s cannot embed", backend_name,
                    b->type ? b->type : "(none)");
}

int rag_embedder_from_config(rag_embedder **out, const rag_config *cfg,
                             const char *backend_name, rag_usage *usage, rag_err *err)
{
    return rag_embedder_from_config_ex(out, cfg, backend_name, usage, NULL, err);
}

int rag_embed_model_ids_match(const char *a, const char *b)
{
    const char *sa, *sb;
    if (!a || !b || !a[0] || !b[0])
        return 0;
    if (!strcmp(a, b))
        return 1;
    sa = strrchr(a, '/');
    sb = strrchr(b, '/');
    if (!sa && sb)
        return !strcmp(a, sb + 1);
    if (sa && !sb)
        return !strcmp(sa + 1, b);
    return 0;
}
