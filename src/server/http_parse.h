/* http_parse.h - pure parsers for the outside input `docrag serve` reads:
 * multipart/form-data bodies and the file names they carry, query strings,
 * URI paths, Range and Accept-Encoding headers, API keys.
 *
 * None of these know about libevent: they take bytes (as evhttp hands them
 * over) and return structs, so they are unit tested and fuzzed alone. Every
 * one is bounded (limits below, each with a default), never asserts on
 * input, and fails with RAG_EFORMAT (malformed) or RAG_ELIMIT (too large,
 * too many, out of range) and a message saying what was wrong and where:
 * "multipart: part 3 has no name", "query: parameter 'k' repeated".
 *
 * Input quoted in a message is cut short and escaped (\xNN for anything but
 * printable ASCII), so it is safe to log and to send back; API keys are
 * never quoted.
 *
 * Limits structs: pass NULL for the defaults; a field left 0 takes its
 * default, so `&(rag_multipart_limits){.max_parts = 8}` changes one limit.
 *
 * What each parser accepts and rejects, with the RFC sections: see
 * docs/http_parsing.md.
 *
 * Thread safety: no shared state; every function may run on any thread.
 * A parse result is read-only after the parse and may be shared.
 */
#ifndef RAG_HTTP_PARSE_H
#define RAG_HTTP_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include "core/core.h"

/* A borrowed run of bytes, not NUL-terminated. */
typedef struct {
    const char *s;
    size_t n;
} rag_span;

/* ---- multipart/form-data (RFC 7578, RFC 2046 §5.1) --------------------- */

#define RAG_MULTIPART_BOUNDARY_MAX 70 /* RFC 2046: 1..70 characters */

/* The boundary parameter of a Content-Type header value, e.g.
 * `multipart/form-data; boundary="----x"`: media type and parameter names are
 * case-insensitive, the value a token or a quoted string, 1..70 of RFC
 * 2046's bchars, not ending in a space. out gets it NUL-terminated.
 * RAG_EFORMAT: header NULL or not multipart/form-data, no boundary, a
 * repeated boundary, a bad character or length. */
int rag_multipart_boundary(char out[RAG_MULTIPART_BOUNDARY_MAX + 1],
                           const char *content_type, rag_err *err);

typedef struct {
    size_t max_parts;        /* default 128 */
    size_t max_header_bytes; /* one part's header block, default 4096 */
} rag_multipart_limits;

typedef struct {
    const char *name;         /* decoded, valid UTF-8, non-empty */
    const char *filename;     /* rag_safe_filename of the sent name; NULL if
                                 the part has no filename or filename="" (a
                                 file input with no file chosen) */
    const char *raw_filename; /* as sent after unquoting / RFC 5987 decoding
                                 (filename* preferred); NULL if absent.
                                 Never use it as a path. */
    const char *content_type; /* trimmed header value, ASCII; NULL if
                                 absent (RFC 7578: text/plain) */
    const char *data;         /* borrowed from the body: zero copy */
    size_t n_data;
} rag_multipart_part;

typedef struct {
    rag_multipart_part *parts; /* in body order */
    size_t n_parts;            /* 0 for a body with only a close delimiter */
    rag_arena *arena;          /* private: the decoded strings */
} rag_multipart;

/* Split a multipart/form-data body at `boundary` (as from
 * rag_multipart_boundary). Lines end in CRLF exactly; a preamble before the
 * first boundary and an epilogue after the closing one are skipped. Each part
 * needs `Content-Disposition: form-data; name=...`; Content-Type and other
 * headers are optional, Content-Transfer-Encoding other than
 * 7bit/8bit/binary is refused. A filename that rag_safe_filename refuses
 * fails the parse.
 * Caller owns *out (NULL on error); free with rag_multipart_destroy. The
 * parts' data point into body, which must outlive *out.
 * RAG_EFORMAT: no opening or closing boundary, bad headers or parameters,
 * missing name; RAG_ELIMIT: too many parts, a header block too long;
 * RAG_ENOMEM. */
int rag_multipart_parse(rag_multipart **out, const char *body, size_t n_body,
                        const char *boundary, const rag_multipart_limits *limits,
                        rag_err *err);
void rag_multipart_destroy(rag_multipart *m); /* NULL is a no-op */

#define RAG_FILENAME_MAX 255 /* bytes, as NAME_MAX */

/* The last path component of name (after the last '/' or '\'), copied to
 * out (n_out bytes of room incl. the NUL). RAG_EFORMAT if it is empty, "."
 * or "..", not valid UTF-8, or holds a control character (C0, DEL, C1) or a
 * bidirectional override (U+202A..U+202E, U+2066..U+2069); RAG_ELIMIT if it
 * is longer than RAG_FILENAME_MAX or does not fit in out. */
int rag_safe_filename(char *out, size_t n_out, const char *name, rag_err *err);

/* ---- query strings (application/x-www-form-urlencoded) ---------------- */

typedef struct {
    size_t max_query_bytes; /* raw query, default 8192 */
    size_t max_params;      /* default 64 */
    size_t max_key_bytes;   /* decoded, default 64 */
    size_t max_value_bytes; /* decoded, default 4096 */
} rag_query_limits;

typedef struct rag_query rag_query;

/* Parse `a=1&b=x%20y+z` (no leading '?'; NULL = empty): '&' separates, empty
 * pairs are skipped, '+' is a space, %XX an octet; a key without '=' has the
 * value "". Keys are case-sensitive and may appear once only.
 * Caller owns *out (NULL on error); free with rag_query_destroy.
 * RAG_EFORMAT: bad percent escape, NUL, raw control character, invalid UTF-8
 * after decoding, empty key, repeated key; RAG_ELIMIT: a limit; RAG_ENOMEM. */
int rag_query_parse(rag_query **out, const char *query,
                    const rag_query_limits *limits, rag_err *err);
void rag_query_destroy(rag_query *q); /* NULL is a no-op */

/* The decoded value of key, or NULL if absent. Borrowed; valid until q is
 * destroyed. */
const char *rag_query_get(const rag_query *q, const char *key);
size_t rag_query_count(const rag_query *q);
/* Parameter i (< rag_query_count) in query order; borrowed. */
void rag_query_at(const rag_query *q, size_t i, const char **key,
                  const char **value);
/* RAG_EFORMAT naming the first parameter whose key is not in known
 * (NULL-terminated), e.g. to catch `?kk=5`. */
int rag_query_check_known(const rag_query *q, const char *const *known,
                          rag_err *err);

/* *out = the value of key as a base-10 integer in [min, max], or def when the
 * key is absent. The whole value must be [-]digits: "5x", "1e3", " 5", "0x10"
 * and "" fail with RAG_EFORMAT; overflow and values outside [min, max] with
 * RAG_ELIMIT; both messages name the key and the range. *out is untouched on
 * error. */
int rag_query_int(const rag_query *q, const char *key, long min, long max,
                  long def, long *out, rag_err *err);
/* *out = 1 for true/yes/on/1 or a bare `?key`, 0 for false/no/off/0 (ASCII
 * case-insensitive), def when absent; anything else is RAG_EFORMAT. */
int rag_query_bool(const rag_query *q, const char *key, int def, int *out,
                   rag_err *err);

/* ---- URI paths --------------------------------------------------------- */

typedef struct {
    size_t max_path_bytes; /* raw path, default 1024 */
    size_t max_segments;   /* default 16 */
} rag_path_limits;

typedef struct {
    char **segs;        /* n_segs decoded, NUL-terminated segments */
    size_t n_segs;      /* 0 for "/" */
    int trailing_slash; /* the path ended in '/' after a segment */
} rag_path;

/* Split an absolute path ("/v1/documents/12", no query) into segments,
 * percent-decoding each ('+' stays '+'). RAG_EFORMAT: not starting with '/',
 * an empty segment other than a final one ("//"), a "." or ".." segment
 * (also when encoded), an encoded '/' (%2F) in a segment, a bad escape, NUL,
 * a control character, '?' or '#', invalid UTF-8; RAG_ELIMIT: a limit.
 * Caller owns *out (NULL on error); free with rag_path_destroy. */
int rag_path_split(rag_path **out, const char *path,
                   const rag_path_limits *limits, rag_err *err);
void rag_path_destroy(rag_path *p); /* NULL is a no-op */

/* 1 if p matches pattern, else 0. Pattern segments are literal, or a
 * capture `{name}` with an optional literal suffix: "/v1/documents/{id}/pages/
 * {n}.png" matches "/v1/documents/7/pages/3.png" with caps = {"7", "3"}
 * (the suffix is not captured; a capture is never empty). A trailing '/'
 * must match too. caps (borrowed from p) must have room for every capture of
 * the pattern; it is written only on a match. Try more specific patterns
 * first: "{n}" alone also matches "3.png". */
int rag_path_match(const rag_path *p, const char *pattern, rag_span *caps,
                   size_t n_caps);

/* *out = s as a strictly decimal id in 1..INT64_MAX: digits only, no sign,
 * no leading zero. RAG_EFORMAT otherwise, RAG_ELIMIT on overflow. */
int rag_parse_id(rag_span s, int64_t *out, rag_err *err);

/* ---- Range and Accept-Encoding (RFC 9110 §14, §12.5.3) ---------------- */

typedef enum {
    RAG_RANGE_NONE = 0,          /* no Range header: send 200 and all of it */
    RAG_RANGE_SINGLE = 1,        /* send 206 with bytes first..last */
    RAG_RANGE_UNSUPPORTED = 2,   /* several ranges, or a unit other than
                                    bytes: send 200 and all of it */
    RAG_RANGE_UNSATISFIABLE = 3, /* send 416, Content-Range: bytes * /size */
} rag_range_kind;

typedef struct {
    rag_range_kind kind;
    uint64_t first, last; /* inclusive, last < size; RAG_RANGE_SINGLE only */
} rag_range;

/* Evaluate a Range header value (NULL if absent) against a representation of
 * size bytes: `bytes=a-b` (b clipped to size-1), `bytes=a-`, `bytes=-n` (the
 * last n bytes, all if n >= size). A range starting at or past size or a
 * zero suffix is unsatisfiable. On an empty representation a non-zero
 * suffix gives RAG_RANGE_NONE (RFC 9110 counts it satisfiable, but no 206
 * can describe zero bytes) and any other range is unsatisfiable.
 * RAG_EFORMAT for a malformed value (a-b with b < a, no digits, junk):
 * RFC 9110 §14.2 says to ignore it, so answer 200 with everything. */
int rag_range_parse(rag_range *out, const char *header, uint64_t size,
                    rag_err *err);

/* 1 if an Accept-Encoding value admits gzip: "gzip" or "x-gzip" with q > 0,
 * or "*" with q > 0 when gzip is not named. q=0 refuses. NULL or malformed
 * elements count as not accepting. */
int rag_accepts_gzip(const char *accept_encoding);

/* ---- API keys ---------------------------------------------------------- */

/* The API key of a request from its X-API-Key and Authorization header
 * values (each NULL if absent). X-API-Key wins when present: behind a
 * private Hugging Face Space the proxy's own Bearer token fills
 * Authorization. Authorization must be `Bearer KEY`: scheme ASCII
 * case-insensitive, one or more spaces, then exactly one token. A key is
 * 1..4096 visible ASCII characters (wider than token68, for user-chosen
 * keys). *key borrows from the header.
 * RAG_ENOTFOUND: neither header (answer 401); RAG_EFORMAT: another scheme,
 * an empty, spaced or non-ASCII key, extra tokens. Messages never quote the
 * key. */
int rag_auth_key(rag_span *key, const char *x_api_key, const char *authorization,
                 rag_err *err);

/* 1 if a[0..n_a) equals b[0..n_b). The time depends only on max(n_a, n_b):
 * every byte up to the longer length is compared and the length difference
 * is folded into the result, so neither the position of the first
 * difference nor (for a guess at least as long as the secret) the secret's
 * length leaks. Two empty inputs are equal: reject an empty configured key
 * before calling. */
int rag_ct_equal(const void *a, size_t n_a, const void *b, size_t n_b);

#endif
