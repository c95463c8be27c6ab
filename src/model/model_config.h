/* model_config.h - model options from a `type: local` back-end of the
 * configuration, shared by the local embedder and reranker registries. */
#ifndef RAG_MODEL_CONFIG_H
#define RAG_MODEL_CONFIG_H

#include "config/config.h"
#include "model/model.h"

/* *out = defaults with b's precision and threads. RAG_EINVAL naming the
 * back-end when b->model is empty or the precision is unknown. */
int rag_model_opts_from_backend(rag_model_opts *out, const rag_backend_cfg *b, rag_err *err);

#endif
