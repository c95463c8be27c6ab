/* err.c - error codes and messages (STYLE.md §4). */
#include "core.h"

#include <stdio.h>
#include <string.h>

/* Messages name files, URLs and keys from outside: escape what a terminal
 * would act on, once, where every message is made. */
static void make_visible(char *msg, size_t n_msg)
{
    char tmp[1024];
    if (n_msg > sizeof tmp || !rag_needs_visible(msg))
        return;
    memcpy(msg, tmp, rag_visible(tmp, n_msg, msg) + 1);
}

int rag_fail(rag_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        make_visible(err->msg, sizeof err->msg);
        err->code = code;
    }
    return code;
}

int rag_err_prefix(rag_err *err, const char *fmt, ...)
{
    char prefix[256];
    char old[256];
    va_list ap;

    if (!err)
        return RAG_EINVAL;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    old[sizeof old - 1] = '\0';
    snprintf(err->msg, sizeof err->msg, "%s: %s", prefix, old);
    make_visible(err->msg, sizeof err->msg);
    return err->code;
}

const char *rag_status_name(int code)
{
    switch (code) {
    case RAG_OK: return "ok";
    case RAG_ENOMEM: return "out of memory";
    case RAG_EIO: return "I/O error";
    case RAG_EFORMAT: return "bad format";
    case RAG_ENOTFOUND: return "not found";
    case RAG_EINVAL: return "invalid argument";
    case RAG_ELIMIT: return "limit exceeded";
    case RAG_EBACKEND: return "back-end failure";
    case RAG_ECANCELLED: return "cancelled";
    default: return "unknown error";
    }
}
