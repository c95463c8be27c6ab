/* ingest.c - public entry points: options, type detection, dispatch to the
 * extractors, and the rag_doc lifetime.
 *
 * Detection order: magic bytes first (a PDF named .txt is a PDF; a PNG or a
 * file with NUL bytes named .md is binary and refused), then the extension,
 * then a light sniff for HTML. Text formats are read whole into memory, so
 * they get their own size cap (64 MiB by default); PDFs are read by MuPDF
 * from the file and only the general cap applies.
 */
#include "ingest/ingest_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

rag_extract_opts rag_extract_default_opts(void)
{
    rag_extract_opts o;
    memset(&o, 0, sizeof o);
    o.max_file_bytes = (size_t)1 << 30;       /* 1 GiB, any format */
    o.max_text_file_bytes = (size_t)64 << 20; /* 64 MiB, text formats */
    o.max_text_bytes = (size_t)256 << 20;     /* 256 MiB of extracted text */
    o.max_seconds = 120;                      /* per file */
    o.strip_headers = 1;
    return o;
}

const char *rag_doc_kind_name(rag_doc_kind kind)
{
    switch (kind) {
    case RAG_DOC_PDF: return "pdf";
    case RAG_DOC_MARKDOWN: return "markdown";
    case RAG_DOC_HTML: return "html";
    case RAG_DOC_TEXT: return "text";
    default: return "unknown";
    }
}

const char *rag__basename(const char *path)
{
    const char *s = strrchr(path, '/');
    return s && s[1] ? s + 1 : path;
}

static int has_prefix(const unsigned char *h, size_t n, const char *magic,
                      size_t n_magic)
{
    return n >= n_magic && memcmp(h, magic, n_magic) == 0;
}

/* Magic numbers of common binary formats none of the extractors reads. */
static int is_binary_magic(const unsigned char *h, size_t n)
{
    static const struct { const char *m; size_t n; } magics[] = {
        {"\x89PNG", 4}, {"\xFF\xD8\xFF", 3}, {"GIF8", 4}, {"PK\x03\x04", 4},
        {"\x7F" "ELF", 4}, {"\x1F\x8B", 2}, {"BZh", 3}, {"\xFD" "7zXZ", 5},
        {"7z\xBC\xAF", 4}, {"Rar!", 4}, {"\xD0\xCF\x11\xE0", 4},
        {"RIFF", 4}, {"OggS", 4}, {"ID3", 3}, {"\x00\x00\x01\x00", 4},
        {"SQLite format 3", 15}, {"\x28\xB5\x2F\xFD", 4}, {"%!PS", 4},
        {"II*\x00", 4}, {"MM\x00*", 4}, {"\xCA\xFE\xBA\xBE", 4},
    };
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if (has_prefix(h, n, magics[i].m, magics[i].n))
            return 1;
    return memchr(h, 0, n) != NULL;
}

static const char *extension(const char *path)
{
    const char *base = rag__basename(path);
    const char *dot = strrchr(base, '.');
    return dot && dot != base ? dot + 1 : "";
}

static rag_doc_kind kind_from_extension(const char *path)
{
    static const struct { const char *ext; rag_doc_kind kind; } exts[] = {
        {"pdf", RAG_DOC_PDF},       {"md", RAG_DOC_MARKDOWN},
        {"markdown", RAG_DOC_MARKDOWN}, {"mdown", RAG_DOC_MARKDOWN},
        {"mkd", RAG_DOC_MARKDOWN},  {"html", RAG_DOC_HTML},
        {"htm", RAG_DOC_HTML},      {"xhtml", RAG_DOC_HTML},
        {"txt", RAG_DOC_TEXT},      {"text", RAG_DOC_TEXT},
    };
    const char *ext = path ? extension(path) : "";
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(ext, exts[i].ext) == 0)
            return exts[i].kind;
    return RAG_DOC_UNKNOWN;
}

static int looks_like_html(const unsigned char *h, size_t n)
{
    size_t i = 0;
    if (n >= 3 && h[0] == 0xEF && h[1] == 0xBB && h[2] == 0xBF)
        i = 3;
    while (i < n && (h[i] == ' ' || h[i] == '\n' || h[i] == '\r' || h[i] == '\t'))
        i++;
    return (n - i >= 9 && strncasecmp((const char *)h + i, "<!doctype", 9) == 0) ||
           (n - i >= 5 && strncasecmp((const char *)h + i, "<html", 5) == 0);
}

rag_doc_kind rag_detect_kind(const char *path, const unsigned char *head,
                             size_t n_head)
{
    rag_doc_kind by_ext;

    by_ext = kind_from_extension(path);
    /* "%PDF-" at the start is a PDF whatever the name; a file named .pdf
     * may carry up to 1 KiB of junk before it (readers accept that). */
    if (head && has_prefix(head, n_head, "%PDF-", 5))
        return RAG_DOC_PDF;
    if (head && by_ext == RAG_DOC_PDF) {
        size_t lim = n_head < 1024 ? n_head : 1024;
        for (size_t i = 0; i + 5 <= lim; i++)
            if (head[i] == '%' && memcmp(head + i, "%PDF-", 5) == 0)
                return RAG_DOC_PDF;
    }
    if (head && is_binary_magic(head, n_head))
        return RAG_DOC_UNKNOWN;
    if (by_ext != RAG_DOC_UNKNOWN)
        return by_ext;
    if (head && looks_like_html(head, n_head))
        return RAG_DOC_HTML;
    return RAG_DOC_UNKNOWN;
}

void rag_doc_destroy(rag_doc *doc)
{
    if (!doc)
        return;
    rag_free(doc->path);
    rag_free(doc->title);
    rag_free(doc->version);
    rag_free(doc->date);
    rag_free(doc->text);
    rag_free(doc->pages);
    for (size_t i = 0; i < doc->n_sections; i++)
        rag_free(doc->sections[i].path);
    rag_free(doc->sections);
    rag_free(doc);
}

/* Version and date of a document without pages: its first lines (up to
 * TEXT_META_LINES, within TEXT_META_BYTES), paragraphs as blocks. */
#define TEXT_META_LINES 40
#define TEXT_META_BYTES 4096

static int text_meta(rag_doc *doc, rag_err *err)
{
    rag_meta_line ml[TEXT_META_LINES];
    size_t n_ml = 0, at = 0, end = doc->text_bytes < TEXT_META_BYTES ? doc->text_bytes
                                                                     : TEXT_META_BYTES;
    int block = 0;

    while (at < end && n_ml < TEXT_META_LINES) {
        const char *nl = memchr(doc->text + at, '\n', end - at);
        size_t stop = nl ? (size_t)(nl - doc->text) : end;
        if (stop > at)
            ml[n_ml++] = (rag_meta_line){doc->text + at, stop - at, 0, block};
        else
            block++;
        at = stop + 1;
    }
    if (rag_meta_find_version(ml, n_ml, &doc->version, &doc->date, err) < 0)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", doc->path);
    return RAG_OK;
}

static int extract(rag_doc **out, const char *name, rag_doc_kind kind,
                   const char *data, size_t n_bytes, const char *file_path,
                   const rag_extract_opts *opts, rag_page_geom *geom, rag_err *err)
{
    rag_doc *doc;
    int rc;

    doc = rag_calloc(1, sizeof *doc);
    if (!doc)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    doc->path = rag_strdup(name);
    if (!doc->path) {
        rag_free(doc);
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    }
    doc->kind = kind;
    switch (kind) {
    case RAG_DOC_PDF:
        rc = rag__extract_pdf(doc, data, n_bytes, file_path, opts, geom, err);
        break;
    case RAG_DOC_MARKDOWN:
        rc = rag__extract_markdown(doc, data, n_bytes, opts, err);
        break;
    case RAG_DOC_HTML:
        rc = rag__extract_html(doc, data, n_bytes, opts, err);
        break;
    case RAG_DOC_TEXT:
        rc = rag__extract_text(doc, data, n_bytes, opts, err);
        break;
    default:
        rc = rag_fail(err, RAG_EFORMAT, "%s: not a supported document type",
                      name);
    }
    if (rc == RAG_OK && kind != RAG_DOC_PDF && !geom)
        rc = text_meta(doc, err);
    if (rc == RAG_OK && !doc->title) {
        doc->title = rag_strdup(rag__basename(name));
        if (!doc->title)
            rc = rag_fail(err, RAG_ENOMEM, "%s: out of memory", name);
    }
    if (rc < 0) {
        rag_doc_destroy(doc);
        return rc;
    }
    *out = doc;
    return RAG_OK;
}

/* Binary content for a text format: magic numbers or NUL bytes early on. */
static int check_text_payload(const char *name, const char *data,
                              size_t n_bytes, rag_err *err)
{
    size_t n_head = n_bytes < 8192 ? n_bytes : 8192;
    if (is_binary_magic((const unsigned char *)data, n_head))
        return rag_fail(err, RAG_EFORMAT,
                        "%s: binary data (NUL bytes or a binary file "
                        "signature), not text", name);
    return RAG_OK;
}

int rag_extract_mem(rag_doc **out, const char *name, rag_doc_kind kind,
                    const char *data, size_t n_bytes,
                    const rag_extract_opts *opts, rag_err *err)
{
    rag_extract_opts def = rag_extract_default_opts();
    int rc;

    *out = NULL;
    if (!opts)
        opts = &def;
    if (!name)
        name = "(memory)";
    if (!data && n_bytes)
        return rag_fail(err, RAG_EINVAL, "%s: no data", name);
    if (n_bytes == 0)
        return rag_fail(err, RAG_EFORMAT, "%s: empty file", name);
    if (opts->max_file_bytes && n_bytes > opts->max_file_bytes)
        return rag_fail(err, RAG_ELIMIT, "%s: %zu bytes, over the %zu-byte limit",
                        name, n_bytes, opts->max_file_bytes);
    if (kind != RAG_DOC_PDF) {
        if (opts->max_text_file_bytes && n_bytes > opts->max_text_file_bytes)
            return rag_fail(err, RAG_ELIMIT,
                            "%s: %zu bytes, over the %zu-byte limit for text "
                            "formats", name, n_bytes, opts->max_text_file_bytes);
        rc = check_text_payload(name, data, n_bytes, err);
        if (rc < 0)
            return rc;
    }
    return extract(out, name, kind, data, n_bytes, NULL, opts, NULL, err);
}

/* rag_extract_file, and with geom (page set) rag_extract_pdf_geom: one
 * path, so the two cannot extract differently. */
static int extract_file(rag_doc **out, const char *path, const rag_extract_opts *opts,
                        rag_page_geom *geom, rag_err *err)
{
    rag_extract_opts def = rag_extract_default_opts();
    unsigned char head[1024];
    rag_buf data = RAG_BUF_INIT;
    struct stat st;
    size_t n_head, cap;
    rag_doc_kind kind;
    FILE *f;
    int rc;

    *out = NULL;
    if (!opts)
        opts = &def;
    if (stat(path, &st) != 0)
        return rag_fail(err, errno == ENOENT ? RAG_ENOTFOUND : RAG_EIO,
                        "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return rag_fail(err, RAG_EINVAL, "%s: is a folder (use rag_walk)", path);
    if (!S_ISREG(st.st_mode))
        return rag_fail(err, RAG_EFORMAT, "%s: not a regular file", path);
    if (st.st_size == 0)
        return rag_fail(err, RAG_EFORMAT, "%s: empty file", path);
    if (opts->max_file_bytes && (uint64_t)st.st_size > opts->max_file_bytes)
        return rag_fail(err, RAG_ELIMIT,
                        "%s: file is %lld bytes, over the %zu-byte limit", path,
                        (long long)st.st_size, opts->max_file_bytes);
    f = fopen(path, "rb");
    if (!f)
        return rag_fail(err, errno == ENOENT ? RAG_ENOTFOUND : RAG_EIO,
                        "%s: %s", path, strerror(errno));
    n_head = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n_head == 0)
        return rag_fail(err, RAG_EFORMAT, "%s: empty file", path);
    kind = rag_detect_kind(path, head, n_head);
    if (kind == RAG_DOC_UNKNOWN) {
        if (kind_from_extension(path) != RAG_DOC_UNKNOWN)
            return rag_fail(err, RAG_EFORMAT,
                            "%s: binary data (NUL bytes or a binary file "
                            "signature), not %s", path,
                            rag_doc_kind_name(kind_from_extension(path)));
        return rag_fail(err, RAG_EFORMAT, "%s: not a supported document type",
                        path);
    }
    if (kind == RAG_DOC_PDF)
        return extract(out, path, kind, NULL, (size_t)st.st_size, path, opts, geom, err);
    if (geom)
        return rag_fail(err, RAG_EINVAL, "%s: not a PDF (%s): no page geometry", path,
                        rag_doc_kind_name(kind));

    cap = opts->max_text_file_bytes;
    if (opts->max_file_bytes && (!cap || opts->max_file_bytes < cap))
        cap = opts->max_file_bytes;
    if (cap && (uint64_t)st.st_size > cap)
        return rag_fail(err, RAG_ELIMIT,
                        "%s: file is %lld bytes, over the %zu-byte limit for "
                        "text formats", path, (long long)st.st_size, cap);
    rc = rag_read_file(&data, path, cap, err);
    if (rc == RAG_OK && data.len == 0)
        rc = rag_fail(err, RAG_EFORMAT, "%s: empty file", path);
    if (rc == RAG_OK)
        rc = check_text_payload(path, data.data, data.len, err);
    if (rc == RAG_OK)
        rc = extract(out, path, kind, data.data, data.len, NULL, opts, NULL, err);
    rag_buf_fini(&data);
    return rc;
}

int rag_extract_file(rag_doc **out, const char *path,
                     const rag_extract_opts *opts, rag_err *err)
{
    return extract_file(out, path, opts, NULL, err);
}

int rag_extract_pdf_geom(rag_doc **doc_out, rag_page_geom **geom_out, const char *path,
                         int page, const rag_extract_opts *opts, rag_err *err)
{
    rag_page_geom *g;
    int rc;

    *doc_out = NULL;
    *geom_out = NULL;
    g = rag_calloc(1, sizeof *g);
    if (!g)
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", path);
    g->page = page;
    rc = extract_file(doc_out, path, opts, g, err);
    if (rc < 0) {
        rag_page_geom_destroy(g);
        return rc;
    }
    *geom_out = g;
    return RAG_OK;
}
