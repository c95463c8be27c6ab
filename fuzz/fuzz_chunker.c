/* fuzz_chunker.c - libFuzzer target for rag_chunker_split.
 *
 * Input layout: byte 0..2 pick the options (target 16..79, max target..
 * target+63, overlap < target), byte 3 is the page-break byte (every
 * occurrence starts a new page, at most 32 pages), byte 4 the section byte
 * (a line starting with it opens a new section, at most 32); the rest,
 * sanitized to UTF-8, is the text. Any broken invariant aborts.
 */
#include "text/chunker.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MARKS 32

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_chunker: invariant broken: %s\n", what);
        abort();
    }
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static void check_split(const rag_doc *doc, const rag_chunks *cs, const rag_chunk_opts *o)
{
    size_t covered = 0;
    for (size_t k = 0; k < cs->n; k++) {
        const rag_chunk *c = &cs->items[k];
        size_t pg = 0, sec = 0;
        const char *want_sec = "";
        check(c->ord == (int)k, "ord");
        check(c->id > 0, "id > 0");
        check(c->byte_start < c->byte_end && c->byte_end <= doc->text_bytes, "range");
        check(c->text_bytes == c->byte_end - c->byte_start, "text_bytes");
        check(memcmp(c->text, doc->text + c->byte_start, c->text_bytes) == 0, "text copy");
        check(c->text[c->text_bytes] == '\0', "NUL");
        check(!is_ws((unsigned char)c->text[0]) && !is_ws((unsigned char)c->text[c->text_bytes - 1]),
              "trimmed");
        check(rag_utf8_valid(c->text, c->text_bytes), "UTF-8 boundaries");
        check(c->n_tokens == rag_chunk_estimate_tokens(c->text, c->text_bytes), "n_tokens");
        check(c->n_tokens <= o->max_tokens, "max_tokens");
        if (k > 0) {
            check(c->byte_start > cs->items[k - 1].byte_start, "start advances");
            check(c->byte_end > cs->items[k - 1].byte_end, "end advances");
        }
        for (size_t i = covered; i < c->byte_start; i++)
            check(is_ws((unsigned char)doc->text[i]), "only whitespace left out");
        if (c->byte_end > covered)
            covered = c->byte_end;
        while (pg + 1 < doc->n_pages && doc->pages[pg + 1].byte_start <= c->byte_start)
            pg++;
        check(c->page_start == doc->pages[pg].page, "page_start");
        pg = 0;
        while (pg + 1 < doc->n_pages && doc->pages[pg + 1].byte_start <= c->byte_end - 1)
            pg++;
        check(c->page_end == doc->pages[pg].page, "page_end");
        for (sec = 0; sec < doc->n_sections; sec++)
            if (doc->sections[sec].byte_start <= c->byte_start)
                want_sec = doc->sections[sec].path;
        check(strcmp(c->section, want_sec) == 0, "section");
    }
    for (size_t i = covered; i < doc->text_bytes; i++)
        check(is_ws((unsigned char)doc->text[i]), "tail is whitespace");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char names[MAX_MARKS][8];
    rag_page_span pages[MAX_MARKS + 1];
    rag_section_mark marks[MAX_MARKS];
    rag_buf text = RAG_BUF_INIT;
    rag_chunk_opts o;
    rag_doc doc;
    rag_chunks *cs = NULL, *again = NULL;
    unsigned char page_byte, sec_byte;
    size_t n_pages = 0, n_marks = 0;
    int rc;

    if (size < 5)
        return 0;
    o.target_tokens = 16 + data[0] % 64;
    o.max_tokens = o.target_tokens + data[1] % 64;
    o.overlap_tokens = data[2] % o.target_tokens;
    page_byte = data[3];
    sec_byte = data[4];
    if (rag_utf8_sanitize(&text, (const char *)data + 5, size - 5, NULL) < 0)
        return 0;

    memset(&doc, 0, sizeof doc);
    doc.path = (char *)"fuzz.txt";
    doc.title = (char *)"fuzz";
    doc.kind = RAG_DOC_TEXT;
    doc.text = text.data ? text.data : (char *)"";
    doc.text_bytes = text.len;
    pages[0].page = 1;
    pages[0].byte_start = 0;
    n_pages = 1;
    for (size_t i = 0; i < text.len; i++) {
        unsigned char c = (unsigned char)text.data[i];
        if (c == page_byte && n_pages <= MAX_MARKS && i > pages[n_pages - 1].byte_start) {
            pages[n_pages - 1].byte_end = i;
            pages[n_pages].page = (int)n_pages + 1;
            pages[n_pages].byte_start = i;
            n_pages++;
        }
        if (c == sec_byte && (i == 0 || text.data[i - 1] == '\n') && n_marks < MAX_MARKS) {
            snprintf(names[n_marks], sizeof names[n_marks], "S%zu", n_marks);
            marks[n_marks].byte_start = i;
            marks[n_marks].path = names[n_marks];
            n_marks++;
        }
    }
    pages[n_pages - 1].byte_end = text.len;
    doc.pages = pages;
    doc.n_pages = n_pages;
    doc.sections = n_marks ? marks : NULL;
    doc.n_sections = n_marks;

    rc = rag_chunker_split(&cs, &doc, &o, NULL);
    check(rc == RAG_OK, "split succeeds");
    check_split(&doc, cs, &o);
    /* deterministic */
    rc = rag_chunker_split(&again, &doc, &o, NULL);
    check(rc == RAG_OK && again->n == cs->n, "same chunk count twice");
    for (size_t k = 0; k < cs->n; k++)
        check(again->items[k].id == cs->items[k].id, "same ids twice");
    rag_chunks_destroy(again);
    rag_chunks_destroy(cs);
    rag_buf_fini(&text);
    return 0;
}
