/* core.h - errors, logging, allocation, buffers, arenas, hashing, UTF-8,
 * files and time: the domain-free base every other module builds on.
 *
 * Thread safety: every function here is safe to call from any thread, except
 * rag_log_set and rag_alloc_set_hooks, which must run before threads start.
 */
#ifndef RAG_CORE_H
#define RAG_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ----------------------------------------------------------- */

typedef enum {
    RAG_OK = 0,
    RAG_ENOMEM = -1,    /* allocation failed */
    RAG_EIO = -2,       /* file or socket I/O failed */
    RAG_EFORMAT = -3,   /* input is malformed */
    RAG_ENOTFOUND = -4, /* file, key, model or row does not exist */
    RAG_EINVAL = -5,    /* caller passed an invalid argument or option */
    RAG_ELIMIT = -6,    /* input exceeds a configured limit */
    RAG_EBACKEND = -7,  /* a model back-end or remote service failed */
    RAG_ECANCELLED = -8,/* the caller asked to stop (a stream callback) */
} rag_status;

typedef struct {
    int code;
    char msg[256];
} rag_err; /* every API taking `rag_err *err` accepts NULL */

/* Fill err (if non-NULL) and return code. Usage: return rag_fail(err, ...). */
int rag_fail(rag_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefix err->msg with "context: " (e.g. the file name). Returns err->code. */
int rag_err_prefix(rag_err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
const char *rag_status_name(int code);

/* ---- logging ---------------------------------------------------------- */

typedef enum {
    RAG_LOG_DEBUG = 0,
    RAG_LOG_INFO = 1,
    RAG_LOG_WARN = 2,
    RAG_LOG_ERROR = 3,
} rag_log_level;

typedef void (*rag_log_fn)(rag_log_level level, const char *msg, void *userdata);

/* Install the one log sink (NULL restores the default: stderr). Not thread
 * safe: call before threads start. */
void rag_log_set(rag_log_fn fn, void *userdata);
void rag_log_set_level(rag_log_level min_level);
void rag_log(rag_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Whether rag_log would pass on a message at this level; whether a sink
 * other than stderr is installed. (docrag serve writes its access log
 * lines to stderr itself, batched, when both say stderr is where they go.) */
int rag_log_enabled(rag_log_level level);
int rag_log_has_sink(void);

/* ---- allocation ------------------------------------------------------- */

/* All project allocation goes through these so tests can inject failures. */
void *rag_malloc(size_t n_bytes);
void *rag_calloc(size_t n, size_t size);
void *rag_realloc(void *p, size_t n_bytes);
void rag_free(void *p);
char *rag_strdup(const char *s);
char *rag_strndup(const char *s, size_t n_bytes);
char *rag_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

typedef struct {
    void *(*malloc_fn)(size_t);
    void *(*realloc_fn)(void *, size_t);
    void (*free_fn)(void *);
} rag_alloc_hooks;
/* NULL restores libc. Not thread safe: call before threads start. */
void rag_alloc_set_hooks(const rag_alloc_hooks *hooks);

/* glibc malloc settings for a long-running process (the CLI and benches
 * call it first thing; no-op elsewhere): blocks of 1 MB and more come from
 * mmap and go back to the system when freed, instead of glibc raising its
 * threshold and keeping them in the heap; up to 4 MB free at the top of a
 * heap stay there (glibc would trim past 128 KB once the threshold is set,
 * and a serving thread would give memory back and fault it in per query). */
void rag_alloc_tune_process(void);

/* Overflow-checked a*b and a+b: return 0 and set *out, or -1 on overflow. */
static inline int rag_size_mul(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
static inline int rag_size_add(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}

/* ---- growable byte buffer with a cap ---------------------------------- */

typedef struct {
    char *data;      /* always NUL-terminated when non-NULL */
    size_t len;      /* bytes used, excluding the NUL */
    size_t cap;      /* bytes allocated */
    size_t max_len;  /* 0 = unlimited; growth past it fails with RAG_ELIMIT */
} rag_buf;
#define RAG_BUF_INIT {NULL, 0, 0, 0}

int rag_buf_reserve(rag_buf *b, size_t extra_bytes);
int rag_buf_append(rag_buf *b, const void *data, size_t n_bytes);
int rag_buf_puts(rag_buf *b, const char *s);
int rag_buf_putc(rag_buf *b, char c);
int rag_buf_printf(rag_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void rag_buf_clear(rag_buf *b);
/* Hand the data to the caller (free with rag_free) and reset b. */
char *rag_buf_take(rag_buf *b);
void rag_buf_fini(rag_buf *b);

/* ---- arena: things that die together ---------------------------------- */

typedef struct rag_arena rag_arena;
/* Caller owns the arena; free with rag_arena_destroy. NULL on OOM. */
rag_arena *rag_arena_create(size_t block_bytes);
/* 16-byte aligned; lives until destroy. NULL on OOM. */
void *rag_arena_alloc(rag_arena *a, size_t n_bytes);
char *rag_arena_strndup(rag_arena *a, const char *s, size_t n_bytes);
void rag_arena_destroy(rag_arena *a);

/* ---- hashing ---------------------------------------------------------- */

/* SHA-256 (OpenSSL). hex gets 64 hex digits + NUL. */
void rag_sha256_hex(const void *data, size_t n_bytes, char hex[65]);
/* SHA-256 of a whole file, streamed. */
int rag_sha256_file(const char *path, char hex[65], rag_err *err);
/* 64-bit FNV-1a, for in-memory hash tables only. */
uint64_t rag_hash64(const void *data, size_t n_bytes);

/* ---- UTF-8 ------------------------------------------------------------ */

/* Length in bytes of the valid UTF-8 sequence at s (1..4), or 0 if invalid
 * (overlong, surrogate, > U+10FFFF, truncated). *cp gets the code point. */
size_t rag_utf8_decode(const unsigned char *s, size_t n_bytes, uint32_t *cp);
/* Encode cp into out (4 bytes room); returns bytes written. */
size_t rag_utf8_encode(uint32_t cp, char out[4]);
/* 1 if the whole buffer is valid UTF-8. */
int rag_utf8_valid(const char *s, size_t n_bytes);
/* Append s to b, replacing each invalid byte with U+FFFD; *n_replaced (may
 * be NULL) gets how many bytes were replaced. */
int rag_utf8_sanitize(rag_buf *b, const char *s, size_t n_bytes,
                      size_t *n_replaced);
/* Largest n <= n_bytes that does not cut a UTF-8 sequence in two. */
size_t rag_utf8_floor(const char *s, size_t n_bytes);
/* Text safe to show on a terminal: s copied into out (n_out > 0 bytes,
 * NUL-terminated, cut at a character boundary) with what a terminal would
 * act on made visible -- C0 controls and DEL as \xNN (\t \n \r as such),
 * C1 controls U+0080..U+009F (8-bit escape sequences) as \u00NN, and bytes
 * that are not UTF-8 as \xNN. File names come from anywhere ("name\e[2J"
 * clears a screen): rag_fail, rag_err_prefix and rag_log pass every
 * message through this. Returns strlen(out). */
size_t rag_visible(char *out, size_t n_out, const char *s);
/* 1 if rag_visible would change s. */
int rag_needs_visible(const char *s);

/* ---- files and time --------------------------------------------------- */

/* Read a whole file into b (appended). Files larger than max_bytes (0 = no
 * limit) fail with RAG_ELIMIT naming the file. */
int rag_read_file(rag_buf *b, const char *path, size_t max_bytes, rag_err *err);
/* Monotonic clock in milliseconds. */
double rag_now_ms(void);

#endif
