/* ingest.h - turn a file into one normalised UTF-8 text with page and
 * section maps: the input of the chunker.
 *
 * Formats: PDF (MuPDF), Markdown (md4c), HTML (libxml2), plain text. The
 * type comes from magic bytes first, then the extension. Text is cleaned
 * (hyphenated line breaks joined, ligatures expanded, whitespace
 * normalised, repeated page headers/footers dropped); paragraphs are
 * separated by a blank line ("\n\n"), lines inside a paragraph by "\n".
 *
 * Thread safety: rag_extract_file, rag_extract_mem and rag_walk may run on
 * several threads at once (each PDF call has its own MuPDF context).
 * Design notes and measurements: docs/ingestion.md.
 */
#ifndef RAG_INGEST_H
#define RAG_INGEST_H

#include "core/core.h"

#include <stdint.h>

typedef enum {
    RAG_DOC_UNKNOWN = 0,
    RAG_DOC_PDF,
    RAG_DOC_MARKDOWN,
    RAG_DOC_HTML,
    RAG_DOC_TEXT,
} rag_doc_kind;

/* Page p (1-based, physical as `pdftotext -f N` counts) covers text bytes
 * [byte_start, byte_end). Formats without pages have one page. Pages are in
 * order, contiguous and together cover the whole text. */
typedef struct {
    int page;
    size_t byte_start;
    size_t byte_end;
} rag_page_span;

/* From byte_start on (until the next mark), text belongs to section `path`:
 * heading titles from the top level down, joined by " > ", e.g.
 * "2 RV32I Base Integer Instruction Set > 2.2 Base Instruction Formats".
 * Marks are sorted by byte_start. Text before the first mark has no section. */
typedef struct {
    size_t byte_start;
    char *path;
} rag_section_mark;

typedef struct {
    char *path;             /* as given to rag_extract_file */
    char *title;            /* PDF metadata title (when it is a real one) or the
                               first page's largest heading, first H1,
                               <title>, or file name */
    char *version;          /* as the document states it ("1.12", "20211203",
                               "1.0 (Ratified)"), NULL when it does not */
    char *date;             /* its date, ISO "YYYY-MM-DD" or "YYYY-MM"; NULL */
    rag_doc_kind kind;
    char *text;             /* NUL-terminated, valid UTF-8 */
    size_t text_bytes;
    rag_page_span *pages;
    size_t n_pages;
    rag_section_mark *sections;
    size_t n_sections;
    size_t n_replaced;      /* invalid UTF-8 bytes replaced by U+FFFD */
} rag_doc;

/* Defaults (rag_extract_default_opts): max_file_bytes 1 GiB,
 * max_text_file_bytes 64 MiB, max_text_bytes 256 MiB, max_seconds 120,
 * strip_headers 1. Caps fail with RAG_ELIMIT naming the file; 0 means no
 * cap. */
typedef struct {
    size_t max_file_bytes;  /* any file larger fails; 0 = no cap */
    size_t max_text_file_bytes; /* Markdown, HTML and text files are read
                               whole into memory: tighter cap; 0 = no cap */
    size_t max_text_bytes;  /* extracted text cap; 0 = no cap */
    double max_seconds;     /* time one extraction may take (checked as the
                               parsers go: per PDF page, per 256 HTML parser
                               events, per MiB of text); 0 = no limit */
    int strip_headers;      /* drop header/footer lines repeated across pages */
} rag_extract_opts;

rag_extract_opts rag_extract_default_opts(void);

/* Detect the kind of file from its first bytes (may be fewer than 8) and
 * its name. RAG_DOC_UNKNOWN for binary data that none of the extractors
 * reads (e.g. a PNG named .md). */
rag_doc_kind rag_detect_kind(const char *path, const unsigned char *head,
                             size_t n_head);
const char *rag_doc_kind_name(rag_doc_kind kind);

/* Extract a file. Caller owns *out (NULL on error); free with
 * rag_doc_destroy. opts may be NULL (defaults). Errors name the file:
 * corrupt, truncated (no %%EOF) or password-protected PDF -> RAG_EFORMAT,
 * empty file -> RAG_EFORMAT ("empty file"), binary data under a text
 * extension -> RAG_EFORMAT, over a size cap -> RAG_ELIMIT, missing ->
 * RAG_ENOTFOUND, a folder -> RAG_EINVAL, over max_seconds -> RAG_ELIMIT,
 * out of memory -> RAG_ENOMEM.
 * Invalid UTF-8 is not an error: it is replaced and counted in n_replaced.
 * MuPDF's own warnings go to rag_log at debug level, never to stderr. */
int rag_extract_file(rag_doc **out, const char *path,
                     const rag_extract_opts *opts, rag_err *err);
/* Extract from memory (fuzzing, tests, BEIR); `name` is used as path and
 * for messages; the kind must be given. */
int rag_extract_mem(rag_doc **out, const char *name, rag_doc_kind kind,
                    const char *data, size_t n_bytes,
                    const rag_extract_opts *opts, rag_err *err);
void rag_doc_destroy(rag_doc *doc);

/* ---- titles and versions (doc_meta.c) --------------------------------
 *
 * The rules are in doc_meta.c's header and docs/ingestion.md "Titles and
 * versions". Pure functions; any thread. */

/* Revision of these rules: stored with each document (documents.meta_rev)
 * so the indexer re-reads a file whose row an older revision filled. */
#define RAG_DOC_META_REV 1

/* One line of a first page: text (not NUL-terminated), mean font size
 * (0 for formats without fonts) and the block (paragraph) it belongs to. */
typedef struct {
    const char *text;
    size_t n_bytes;
    float size;
    int block;
} rag_meta_line;

/* Whether a metadata title is no title: empty, a producer's placeholder
 * ("Microsoft Word - x.doc", "PowerPoint Presentation", "untitled"), a
 * file name (with an extension, or one underscored word), or the file's
 * own name. file_name may be NULL. */
int rag_title_is_junk(const char *title, const char *file_name);
/* Whether title ends in a document file's extension ("cover.pdf",
 * "Action_Plan_forOC VI.pdf"): the label a PDF merge tool gives each
 * merged file's outline entry, never a section title. */
int rag_title_is_file_name(const char *title);
/* The largest heading of a first page, as one line (caller frees with
 * rag_free); NULL when there is none (or *oom is set: out of memory).
 * body_size: the document's body font size (0: unknown, no size test). */
char *rag_meta_heading_title(const rag_meta_line *lines, size_t n_lines, float body_size,
                             int *oom);
/* Whether title's letters and digits occur, in order, in the lines'. */
int rag_meta_title_on_page(const char *title, const rag_meta_line *lines, size_t n_lines);
/* Whether heading is a fuller form of meta_title: it holds at least half
 * of meta_title's words of 3+ letters ("Guiding Principles - GMLP" ->
 * "Good Machine Learning Practice ...: Guiding Principles"). */
int rag_meta_title_widens(const char *meta_title, const char *heading);
/* The version and date a first page states: *version and *date are the
 * caller's (rag_free), NULL when absent. RAG_ENOMEM only. */
int rag_meta_find_version(const rag_meta_line *lines, size_t n_lines, char **version,
                          char **date, rag_err *err);
/* The first date in s[0..n) as ISO "YYYY-MM-DD" or "YYYY-MM": 1, or 0. */
int rag_meta_parse_date(const char *s, size_t n, char out[11]);

/* Which of two documents is newer: > 0 when a is, < 0 when b is, 0 when
 * they cannot be told apart. Dates decide first, then numeric versions
 * ("2.1" < "2.10" < "20191213"); a dated document is newer than an
 * undated one. Any argument may be NULL or "". */
int rag_doc_version_cmp(const char *version_a, const char *date_a, const char *version_b,
                        const char *date_b);
/* Jaccard similarity (0..1) of two titles' words, version statements and
 * years left out; 0 when both name a volume and the volumes differ. */
double rag_title_similarity(const char *a, const char *b);
#define RAG_TITLE_FAMILY_MIN 0.7
/* Two titles of one text family (versions of one manual). */
int rag_title_same_family(const char *a, const char *b);

/* ---- highlight geometry of a PDF page (cited page images) ---------------
 *
 * Which character of the page each byte of the extracted text came from,
 * so a byte range of the text (a chunk, a quoted sentence) can be drawn
 * over the page. The text is extracted again by the same code with the
 * same options, and the extractor records each byte's character as it
 * writes the byte: offsets agree with rag_extract_file's by construction,
 * through de-hyphenation, ligatures, dot leaders and header/footer
 * removal. docs/ingestion.md "Highlight geometry". */

/* An axis-aligned box in page space: PDF points, origin at the top left of
 * the page's box as MuPDF reports it (y grows downwards). */
typedef struct {
    float x0, y0, x1, y1;
} rag_rect;

#define RAG_GEOM_NONE UINT32_MAX   /* a separator: from no one character */

typedef struct {
    int page;                  /* 1-based */
    rag_rect bounds;           /* the page's box (fz_bound_page) */
    size_t byte_start;         /* the page's span of the document text */
    size_t byte_end;
    size_t n_chars;            /* MuPDF's characters of the page, in order */
    rag_rect *char_boxes;      /* [n_chars] each character's quad, as a box */
    uint32_t *char_line;       /* [n_chars] the line of the text it lands on
                                  (MuPDF lines on one baseline, which the
                                  text joins with a space, share one) */
    size_t origin_base;        /* text offset of origin[0] */
    size_t n_origin;
    uint32_t *origin;          /* [n_origin] character index behind text byte
                                  origin_base + i, or RAG_GEOM_NONE */
} rag_page_geom;

/* Extract path as rag_extract_file does (same opts: the same text byte for
 * byte) and the geometry of 1-based page `page`. Caller owns *doc_out
 * (rag_doc_destroy) and *geom_out (rag_page_geom_destroy); both NULL on
 * error. Errors as rag_extract_file, plus RAG_EINVAL for a file that is
 * not a PDF and RAG_ENOTFOUND for a page past the last. */
int rag_extract_pdf_geom(rag_doc **doc_out, rag_page_geom **geom_out,
                         const char *path, int page,
                         const rag_extract_opts *opts, rag_err *err);
void rag_page_geom_destroy(rag_page_geom *g);   /* NULL is a no-op */

/* Boxes over the characters behind text bytes [byte_start, byte_end) that
 * lie on g's page (the range may reach beyond it: a chunk spanning
 * pages), in text order: one box per run of consecutive characters of one
 * text line (char_line), the union of their boxes. Separators and
 * whitespace-only runs get none. *out is the caller's (rag_free; NULL when *n_out is 0). */
int rag_page_geom_rects(const rag_page_geom *g, size_t byte_start,
                        size_t byte_end, rag_rect **out, size_t *n_out,
                        rag_err *err);

/* Walk paths (files or folders, recursively, following symlinks but never
 * looping: visited folders are remembered by device and inode), calling fn
 * for each regular file whose kind is indexable, in name order. Hidden files
 * and folders (".x") are skipped unless named in paths. A folder that cannot
 * be read, a symlink loop, a broken link and binary data under a document
 * extension are reported through on_error (may be NULL) and the walk goes
 * on. Returns the first negative code fn returned (which stops the walk),
 * RAG_ENOMEM, or RAG_OK. path arguments are borrowed for the call only. */
typedef int (*rag_walk_fn)(void *ctx, const char *path);
typedef void (*rag_walk_error_fn)(void *ctx, const char *path, const rag_err *err);
int rag_walk(const char *const *paths, size_t n_paths, rag_walk_fn fn,
             rag_walk_error_fn on_error, void *ctx);

#endif
