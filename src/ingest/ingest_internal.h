/* ingest_internal.h - the document builder shared by the extractors
 * (private to src/ingest).
 *
 * Every extractor streams text into an `ib` (ingest builder). The builder
 * normalises as it goes, so no pass ever rewrites the whole text:
 *   - separators are *pending* and only written before the next visible
 *     character, so text never starts or ends with whitespace and runs of
 *     spaces, line breaks and paragraph breaks collapse to the strongest one
 *     (" ", "\n" or "\n\n");
 *   - dot leaders ("....", tables of contents) shrink to "...";
 *   - ligatures (U+FB00..FB06) are expanded, Unicode spaces become ' ',
 *     zero-width characters, soft hyphens and control characters vanish;
 *   - a line break after "<alnum>-" followed by an alphanumeric joins the two
 *     lines; the hyphen is dropped only between two lower-case letters, so
 *     "exam-\nple" -> "example" but "16-\nentry" -> "16-entry" and
 *     "RISC-\nV" -> "RISC-V";
 *   - page starts and section marks are recorded at the byte where the next
 *     visible character will land.
 * Errors are sticky: the first failure is kept in `rc` and later calls are
 * no-ops, so callback-driven parsers (md4c, libxml2 walks) check once.
 *
 * Tags (cited page images, docs/ingestion.md "Highlight geometry"): while
 * tracking (ib_track_begin .. ib_track_end), every text byte written gets
 * the tag of the input byte it came from, given per input byte to
 * ib_put_tagged; separators get IB_NO_TAG. The tags are recorded by the
 * same code that writes the text, so the two cannot disagree: a dropped
 * hyphen takes its tag with it, a ligature's letters share its tag, a dot
 * leader's "..." carries the first and the last dot's.
 *
 * Thread safety: an ib belongs to one extraction on one thread.
 */
#ifndef RAG_INGEST_INTERNAL_H
#define RAG_INGEST_INTERNAL_H

#include "ingest/ingest.h"

#define IB_MAX_LEVELS 8         /* heading depth kept in section paths */
#define IB_MAX_TITLE_BYTES 160  /* one heading title inside a path */

enum { IB_SEP_NONE = 0, IB_SEP_SPACE, IB_SEP_LINE, IB_SEP_PARA };

typedef struct {
    rag_buf text;
    int sep;                    /* pending separator, IB_SEP_* */
    int verbatim;               /* code: keep spaces, tabs and line breaks */
    int soft_hyphen;            /* a U+00AD was dropped right before sep */
    rag_page_span *pages;
    size_t n_pages, cap_pages;
    rag_section_mark *marks;
    size_t n_marks, cap_marks;
    char *heads[IB_MAX_LEVELS + 1]; /* heading stack, [1..IB_MAX_LEVELS] */
    size_t n_replaced;          /* invalid UTF-8 bytes seen */
    const char *name;           /* file name for messages (borrowed) */
    double deadline_ms;         /* rag_now_ms() limit; 0 = none */
    double max_seconds;         /* the limit, for the message */
    unsigned n_calls;           /* ib_put calls, to check the clock now and then */
    uint32_t *tags;             /* tags[i]: tag of text byte tag_base + i */
    size_t cap_tags;
    size_t tag_base;            /* text offset where tracking began */
    size_t n_tags;              /* tracked bytes, set by ib_track_end */
    int tracking;               /* between ib_track_begin and ib_track_end */
    const uint32_t *in_tags;    /* tags of the input of ib_put_tagged */
    uint32_t cur_tag;           /* tag of the bytes being written */
    int rc;                     /* first error, sticky */
    rag_err err;                /* its message */
} ib;

/* max_text_bytes: 0 = no cap. name is borrowed and must outlive b. */
void ib_init(ib *b, const char *name, size_t max_text_bytes);
void ib_fini(ib *b);
/* Fail with RAG_ELIMIT once rag_now_ms() passes deadline_ms (0 = never),
 * checked as text comes in (ib_put) and by ib_check_time. */
void ib_set_deadline(ib *b, double deadline_ms, double max_seconds);
/* b->rc, after failing b if its deadline has passed. */
int ib_check_time(ib *b);

/* The deadline of an extraction starting now (0 = none), and the message
 * of one that missed it: "NAME: not extracted within N s, the per-file
 * time limit (ingest.max_file_seconds)". */
double rag__deadline(const rag_extract_opts *opts);
int rag__fail_time(rag_err *err, const char *name, double max_seconds);

/* Request a separator before the next visible character (the strongest
 * pending one wins). */
void ib_break(ib *b, int sep);
/* Append UTF-8 text (invalid bytes become U+FFFD and are counted). With
 * newlines_break set, '\n' is a line break and a blank line a paragraph
 * break; otherwise every newline is a space (HTML, PDF lines). */
int ib_put(ib *b, const char *s, size_t n_bytes, int newlines_break);
/* One code point through the same normalisation. */
int ib_put_cp(ib *b, uint32_t cp);
/* Verbatim text (code blocks): written as is apart from invalid UTF-8,
 * control characters and '\r'; blank-line runs collapse to one. The block
 * is preceded and followed by a paragraph break. */
int ib_put_verbatim(ib *b, const char *s, size_t n_bytes);

#define IB_NO_TAG UINT32_MAX

/* ib_put with a tag per input byte (tags[0..n_bytes)): while tracking,
 * each text byte written gets the tag of the input byte it came from. */
int ib_put_tagged(ib *b, const char *s, size_t n_bytes, int newlines_break,
                  const uint32_t *tags);
/* Start recording tags from the current end of the text (once per
 * builder). Bytes written later than ib_track_end are not recorded. */
void ib_track_begin(ib *b);
void ib_track_end(ib *b);
/* The recorded tags (caller frees with rag_free; NULL if none): *base
 * gets the text offset of tags[0], *n the number of tracked bytes. */
uint32_t *ib_take_tags(ib *b, size_t *base, size_t *n);

/* Byte offset where the next visible character will be written. */
size_t ib_next_pos(const ib *b);
/* Start a new page: a paragraph break, and the page's first byte. */
int ib_page_begin(ib *b);
/* Record a heading of `level` (1 = top) whose title is text bytes
 * [pos, current end) (or `title` if non-NULL) and mark the section from
 * pos on. Deeper headings are dropped from the stack. */
int ib_heading(ib *b, int level, size_t pos, const char *title);
/* Mark the section path `path` (copied) from ib_next_pos() on; forces a
 * paragraph break. A mark at the same position as the last one replaces it. */
int ib_mark(ib *b, const char *path);
/* Fail with code and message (first failure wins). Returns code. */
int ib_fail(ib *b, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Move text, pages and marks into doc (which must be zeroed); fills
 * text_bytes; adds one page over everything if no page was begun. */
int ib_finish(ib *b, rag_doc *doc);

/* Copy of s[0..n) with whitespace runs collapsed to one space, trimmed,
 * cut to max_bytes at a UTF-8 boundary. NULL on OOM. */
char *ib_clean_title(const char *s, size_t n_bytes, size_t max_bytes);

/* Extractors: fill doc (zeroed; path already set) from data. Errors name
 * doc->path. */
/* geom (may be NULL): record the highlight geometry of page geom->page
 * (1-based, set by the caller; the rest zeroed) while extracting. */
int rag__extract_pdf(rag_doc *doc, const char *data, size_t n_bytes,
                     const char *file_path, const rag_extract_opts *opts,
                     rag_page_geom *geom, rag_err *err);
int rag__extract_markdown(rag_doc *doc, const char *data, size_t n_bytes,
                          const rag_extract_opts *opts, rag_err *err);
int rag__extract_html(rag_doc *doc, const char *data, size_t n_bytes,
                      const rag_extract_opts *opts, rag_err *err);
int rag__extract_text(rag_doc *doc, const char *data, size_t n_bytes,
                      const rag_extract_opts *opts, rag_err *err);

/* File name without folders, for default titles. Borrowed from path. */
const char *rag__basename(const char *path);

#endif
