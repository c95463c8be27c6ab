/* http_parse_int.h - private to the parsers of src/server: character
 * classes, percent-decoding, header parameters, quoting input for messages.
 */
#ifndef RAG_HTTP_PARSE_INT_H
#define RAG_HTTP_PARSE_INT_H

#include "http_parse.h"

/* RFC 9110 §5.6.2 tchar. */
int rag_hp_is_tchar(unsigned char c);
/* 0..15 for a hex digit, else -1. */
int rag_hp_hex(unsigned char c);
/* ASCII case-insensitive equality of s[0..n) and the NUL-terminated lit. */
int rag_hp_ieq(const char *s, size_t n, const char *lit);

/* Copy s[0..n_s) into out (n_out >= 8) for an error message: printable
 * ASCII as is (a quote or backslash escaped), other bytes as \xNN, cut with
 * "..." past 40 input bytes. Always NUL-terminated. */
void rag_hp_quote(char *out, size_t n_out, const char *s, size_t n_s);

enum {
    RAG_HP_PLUS_SPACE = 1 << 0, /* '+' decodes to ' ' (form encoding) */
};

/* Percent-decode s[0..n_s) into out (room for n_s bytes; decoding never
 * grows). *n_out gets the decoded length. Returns 0, or -1 with *bad_at set
 * to the offset in s of a '%' not followed by two hex digits. */
int rag_hp_pct_decode(char *out, size_t *n_out, const char *s, size_t n_s,
                      unsigned flags, size_t *bad_at);

/* Header parameters: `; name=value` pairs after a media type or disposition
 * type (RFC 9110 §5.6.6, RFC 6266 §4.1). The cursor starts after the type. */
typedef struct {
    const char *p, *end;
    const char *start; /* the whole header value, for byte offsets */
} rag_hp_params;

typedef struct {
    rag_span name;  /* a token */
    rag_span value; /* raw: a token, or a quoted string incl. its quotes */
    int quoted;
} rag_hp_param;

/* Leading OWS, then a token: the type. RAG_EFORMAT if there is none. */
int rag_hp_params_start(rag_hp_params *it, rag_span *type, const char *value,
                        size_t n_value, rag_err *err);
/* 1 and *out for the next parameter, 0 at the end, or RAG_EFORMAT with
 * "at byte N" in the message. Empty parameters (";;", a trailing ';') are
 * tolerated. */
int rag_hp_params_next(rag_hp_params *it, rag_hp_param *out, rag_err *err);
/* Unescape a quoted-string (incl. its quotes) into out (room for
 * value.n bytes); returns the length. A backslash escapes only '"' and '\'
 * and is kept before anything else, so an old browser's unescaped
 * "C:\dir\f.txt" keeps its separators. */
size_t rag_hp_unquote(char *out, rag_span value);

/* Decode an RFC 8187 (5987) ext-value `UTF-8'lang'%e2%82%ac` into out (room
 * for value.n bytes). Only the UTF-8 charset is accepted; the result must be
 * valid UTF-8 without NUL. RAG_EFORMAT with a message otherwise. */
int rag_hp_ext_value(char *out, size_t *n_out, rag_span value, rag_err *err);

#endif
