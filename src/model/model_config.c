/* model_config.c - model options from a local back-end (model_config.h). */
#include "model/model_config.h"

int rag_model_opts_from_backend(rag_model_opts *out, const rag_backend_cfg *b, rag_err *err)
{
    *out = rag_model_default_opts();
    if (!b->model || !b->model[0])
        return rag_fail(err, RAG_EINVAL, "back-end '%s': backends.%s.model must name a "
                        "model folder", b->name, b->name);
    if (b->precision) {
        int p = rag_precision_parse(b->precision);
        if (p < 0)
            return rag_fail(err, RAG_EINVAL, "back-end '%s': unknown precision '%s'",
                            b->name, b->precision);
        out->precision = (rag_precision)p;
    }
    out->n_threads = b->threads;
    return RAG_OK;
}
