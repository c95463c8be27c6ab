/* log.c - the one log sink. Default: "docrag: warning: ..." on stderr. */
#include "core.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

static rag_log_fn log_fn;
static void *log_userdata;
/* Atomic: docrag_engine_open sets the level from the config on whichever
 * thread opens an engine (the server's loader thread opens every collection
 * after the first) while other threads log. */
static _Atomic int log_min = RAG_LOG_INFO;

void rag_log_set(rag_log_fn fn, void *userdata)
{
    log_fn = fn;
    log_userdata = userdata;
}

void rag_log_set_level(rag_log_level min_level)
{
    atomic_store_explicit(&log_min, (int)min_level, memory_order_relaxed);
}

int rag_log_enabled(rag_log_level level)
{
    return (int)level >= atomic_load_explicit(&log_min, memory_order_relaxed);
}

int rag_log_has_sink(void)
{
    return log_fn != NULL;
}

static const char *level_name(rag_log_level level)
{
    switch (level) {
    case RAG_LOG_DEBUG: return "debug";
    case RAG_LOG_INFO: return "info";
    case RAG_LOG_WARN: return "warning";
    default: return "error";
    }
}

void rag_log(rag_log_level level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    if ((int)level < atomic_load_explicit(&log_min, memory_order_relaxed))
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* messages name files from outside: nothing a terminal acts on */
    if (rag_needs_visible(msg)) {
        char safe[sizeof msg];
        memcpy(msg, safe, rag_visible(safe, sizeof safe, msg) + 1);
    }
    if (log_fn)
        log_fn(level, msg, log_userdata);
    else
        fprintf(stderr, "docrag: %s: %s\n", level_name(level), msg);
}
