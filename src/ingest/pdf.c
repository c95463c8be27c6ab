/* pdf.c - PDF text through MuPDF, in three passes over one compact copy.
 *
 * Pass 1 loads each page's structured text (blocks in content-stream
 * order, lines, chars with font size and font) and keeps only what later
 * passes need: the line's UTF-8 text in one shared store plus bbox, mean
 * font size and bold count per line; a char-weighted font-size histogram.
 * MuPDF's page structures are dropped right away, so memory stays at about
 * twice the text size whatever the page count.
 * Pass 2 finds running headers and footers: lines in the top or bottom 10%
 * of their page whose normalised text (lower case, digit runs and roman
 * numerals -> '#', so "Page 3" == "Page iv") recurs on at least 3 pages
 * (2 for 2-3 page documents).
 * Pass 3 writes the text through the builder, page by page, with section
 * marks from the outline (each entry resolved to its page, then to the
 * block that carries its title, else the block nearest its y, else the
 * page start) or, without an outline, from blocks notably larger (>= 1.15x
 * the body median) or bolder than the body text.
 *
 * Highlight geometry (rag_extract_pdf_geom): the same three passes, and
 * for the one page asked for pass 1 also keeps each character's box and
 * the character behind each byte of its line text; pass 3 hands those
 * per-byte tags to the builder (ib_put_tagged), which records, for every
 * byte it writes, the character it came from, and numbers each character
 * by the line of the text it lands on (MuPDF lines rejoined on one
 * baseline share one, and so one highlight box). The text is the same bytes
 * as without geometry, so offsets agree with the index by construction.
 *
 * We do our own de-hyphenation (in the builder) instead of
 * FZ_STEXT_DEHYPHENATE, which turns "16-\nentry" into "16entry".
 * MuPDF keeps its own (libc) allocator: routed through rag_malloc, the
 * allocation-failure tests crashed inside FreeType (MuPDF 1.21), so fault
 * injection covers our code around MuPDF, not MuPDF itself. MuPDF's
 * warnings and errors go to rag_log at debug level. One fz_context per call: calls on different
 * threads share nothing.
 */
#include "ingest/ingest_internal.h"

#include <mupdf/fitz.h>
#include <mupdf/pdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_BUCKETS 512        /* font size in half points */
#define BAND 0.10f              /* header/footer band, fraction of height */
#define HEADING_RATIO 1.15f
#define MAX_SIZE_LEVELS 4
#define MATCH_CHARS 256         /* normalised block prefix for title match */
#define MAX_PAGES 1000000
#define MIN_PAGE_BYTES 4        /* even in compressed object streams */

typedef struct {
    float x0, y0, x1, y1;
    float base_y;
    size_t off;                 /* text in store */
    uint32_t n_bytes;
    uint32_t n_chars;           /* non-space chars */
    uint32_t n_bold;
    float size_sum;
    uint64_t key;               /* header/footer key, 0 = not in a band */
    uint32_t geom_first;        /* geometry page only: its first character */
    uint32_t geom_n;            /* and how many */
    uint8_t strip;
    uint8_t horizontal;
} pline;

typedef struct {
    size_t first_line;
    uint32_t n_lines;
    float y0;
    int level;                  /* heading level from the heuristic, 0 = body */
} pblock;

typedef struct {
    size_t first_block;
    size_t n_blocks;
    float top, height;
} ppage;

typedef struct {
    int page;                   /* 0-based */
    float y;
    size_t order;
    char *path;                 /* owned */
    char *norm;                 /* owned, normalised title */
    size_t target;              /* block index within its page */
} pentry;

typedef struct {
    fz_context *ctx;
    const char *name;
    rag_buf store;
    pline *lines;
    size_t n_lines, cap_lines;
    pblock *blocks;
    size_t n_blocks, cap_blocks;
    ppage *pages;
    size_t n_pages;
    pentry *outline;
    size_t n_outline;
    uint64_t hist[HIST_BUCKETS];
    float body_size;
    int n_failed_pages;
    char first_page_error[160];
    double deadline_ms;         /* the time budget; 0 = none */
    double max_seconds;
    /* highlight geometry of one page (NULL: none asked for) */
    rag_page_geom *geom;
    size_t geom_page0;          /* its 0-based index */
    uint32_t *store_tags;       /* character of store byte store_tag_base + i */
    size_t cap_store_tags;
    size_t store_tag_base;
    size_t cap_chars, cap_char_lines;
    int rc;
    rag_err err;
} pdf_state;

/* ---- MuPDF glue -------------------------------------------------------- */

static void on_fz_message(void *user, const char *msg)
{
    rag_log(RAG_LOG_DEBUG, "mupdf: %s: %s", (const char *)user, msg);
}

static int st_fail(pdf_state *s, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int st_fail(pdf_state *s, int code, const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    if (s->rc < 0)
        return s->rc;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    s->rc = code;
    rag_fail(&s->err, code, "%s: %s", s->name, msg);
    return code;
}

/* ---- pass 1: collect ---------------------------------------------------- */

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    size_t n = *cap ? *cap : 64;
    void *q;
    if (need <= *cap)
        return RAG_OK;
    while (n < need)
        n *= 2;
    q = rag_realloc(*p, n * elem);
    if (!q)
        return RAG_ENOMEM;
    *p = q;
    *cap = n;
    return RAG_OK;
}

/* Geometry: character ch of MuPDF line `line` wrote store bytes
 * [from, store.len); remember its box and tag those bytes with it. */
static int geom_char(pdf_state *s, const fz_stext_char *ch, uint32_t line, size_t from)
{
    rag_page_geom *g = s->geom;
    size_t n = s->store.len - s->store_tag_base;
    fz_rect r = fz_rect_from_quad(ch->quad);

    if (g->n_chars >= RAG_GEOM_NONE)
        return st_fail(s, RAG_ELIMIT, "page %d has too many characters", g->page);
    if (grow((void **)&g->char_boxes, &s->cap_chars, g->n_chars + 1,
             sizeof *g->char_boxes) < 0 ||
        grow((void **)&g->char_line, &s->cap_char_lines, g->n_chars + 1,
             sizeof *g->char_line) < 0 ||
        grow((void **)&s->store_tags, &s->cap_store_tags, n, sizeof *s->store_tags) < 0)
        return st_fail(s, RAG_ENOMEM, "out of memory");
    g->char_boxes[g->n_chars] = (rag_rect){r.x0, r.y0, r.x1, r.y1};
    g->char_line[g->n_chars] = line;
    for (size_t k = from - s->store_tag_base; k < n; k++)
        s->store_tags[k] = (uint32_t)g->n_chars;
    g->n_chars++;
    return RAG_OK;
}

static int collect_page(pdf_state *s, fz_stext_page *st, size_t page_index)
{
    fz_context *ctx = s->ctx;
    fz_font *last_font = NULL;
    int last_bold = 0;
    ppage *pg = &s->pages[page_index];
    int track = s->geom && page_index == s->geom_page0;
    uint32_t line_no = 0;
    size_t geom_first = 0;

    if (track)
        s->store_tag_base = s->store.len;
    pg->first_block = s->n_blocks;
    for (fz_stext_block *blk = st->first_block; blk; blk = blk->next) {
        size_t block_first_line = s->n_lines;
        if (blk->type != FZ_STEXT_BLOCK_TEXT)
            continue;
        for (fz_stext_line *ln = blk->u.t.first_line; ln; ln = ln->next) {
            size_t n_ch = 0, off = s->store.len;
            pline *pl;
            uint32_t n_chars = 0, n_bold = 0;
            float size_sum = 0;

            for (fz_stext_char *ch = ln->first_char; ch; ch = ch->next)
                n_ch++;
            if (n_ch == 0)
                continue;
            if (rag_buf_reserve(&s->store, n_ch * 4) < 0)
                return st_fail(s, RAG_ENOMEM, "out of memory");
            line_no++;
            if (track)
                geom_first = s->geom->n_chars;
            for (fz_stext_char *ch = ln->first_char; ch; ch = ch->next) {
                uint32_t c = (uint32_t)ch->c;
                size_t from = s->store.len;
                int bucket;
                if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF) || c == 0)
                    c = 0xFFFD;
                if (c < 0x80)
                    s->store.data[s->store.len++] = (char)c;
                else
                    s->store.len += rag_utf8_encode(c, s->store.data + s->store.len);
                if (track && geom_char(s, ch, line_no, from) < 0)
                    return s->rc;
                if (c == ' ' || c == '\t')
                    continue;
                n_chars++;
                size_sum += ch->size;
                if (ch->font != last_font) {
                    last_font = ch->font;
                    last_bold = ch->font ? fz_font_is_bold(ctx, ch->font) : 0;
                }
                n_bold += (uint32_t)last_bold;
                bucket = (int)(ch->size * 2.0f + 0.5f);
                if (bucket < 0)
                    bucket = 0;
                if (bucket >= HIST_BUCKETS)
                    bucket = HIST_BUCKETS - 1;
                s->hist[bucket]++;
            }
            s->store.data[s->store.len] = '\0';
            if (n_chars == 0) {
                s->store.len = off;
                continue;
            }
            if (grow((void **)&s->lines, &s->cap_lines, s->n_lines + 1,
                     sizeof *s->lines) < 0)
                return st_fail(s, RAG_ENOMEM, "out of memory");
            pl = &s->lines[s->n_lines++];
            memset(pl, 0, sizeof *pl);
            pl->x0 = ln->bbox.x0;
            pl->y0 = ln->bbox.y0;
            pl->x1 = ln->bbox.x1;
            pl->y1 = ln->bbox.y1;
            pl->base_y = ln->first_char->origin.y;
            pl->off = off;
            pl->n_bytes = (uint32_t)(s->store.len - off);
            pl->n_chars = n_chars;
            pl->n_bold = n_bold;
            pl->size_sum = size_sum;
            pl->horizontal = ln->wmode == 0 && fabsf(ln->dir.y) < 0.1f &&
                             ln->dir.x > 0;
            if (track) {
                pl->geom_first = (uint32_t)geom_first;
                pl->geom_n = (uint32_t)(s->geom->n_chars - geom_first);
            }
        }
        if (s->n_lines == block_first_line)
            continue;
        if (grow((void **)&s->blocks, &s->cap_blocks, s->n_blocks + 1,
                 sizeof *s->blocks) < 0)
            return st_fail(s, RAG_ENOMEM, "out of memory");
        s->blocks[s->n_blocks].first_line = block_first_line;
        s->blocks[s->n_blocks].n_lines = (uint32_t)(s->n_lines - block_first_line);
        s->blocks[s->n_blocks].y0 = blk->bbox.y0;
        s->blocks[s->n_blocks].level = 0;
        s->n_blocks++;
    }
    pg->n_blocks = s->n_blocks - pg->first_block;
    return RAG_OK;
}

/* ---- pass 2: running headers and footers ------------------------------- */

static int is_roman(const char *w, size_t n)
{
    if (n == 0 || n > 7)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("ivxlcdm", w[i]))
            return 0;
    return 1;
}

/* Key of a line for repetition: lower case, whitespace collapsed, digit runs
 * and roman-numeral words -> '#'. 0 for lines that must never count as a
 * header (empty, or a row of three or more bare numbers: a table). */
static uint64_t line_key(const char *s, size_t n)
{
    char buf[256];
    size_t o = 0, i = 0, n_words = 0, n_numbers = 0;

    while (i < n && o < sizeof buf - 2) {
        size_t start, wlen, w0 = o;
        int all_num = 1;
        while (i < n && (s[i] == ' ' || s[i] == '\t'))
            i++;
        if (i >= n)
            break;
        if (o > 0)
            buf[o++] = ' ';
        w0 = o;
        start = i;
        while (i < n && s[i] != ' ' && s[i] != '\t' && o < sizeof buf - 2) {
            char c = s[i++];
            if (c >= '0' && c <= '9') {
                if (o == w0 || buf[o - 1] != '#')
                    buf[o++] = '#';
                continue;
            }
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            buf[o++] = c;
            if (c != '.' && c != '-')
                all_num = 0;
        }
        wlen = o - w0;
        (void)start;
        if (is_roman(buf + w0, wlen)) {
            buf[w0] = '#';
            o = w0 + 1;
            all_num = 1;
        }
        n_words++;
        if (all_num)
            n_numbers++;
    }
    if (o == 0 || (n_numbers >= 3 && n_numbers == n_words))
        return 0;
    return rag_hash64(buf, o) | 1;
}

static int find_headers(pdf_state *s)
{
    size_t n_band = 0, cap = 16, i, thr;
    struct slot { uint64_t key; uint32_t n_pages; uint32_t last_page; } *tab;

    if (s->n_pages < 2)
        return RAG_OK;
    thr = s->n_pages >= 6 ? 3 : s->n_pages >= 3 ? s->n_pages - 1 : 2;
    for (size_t p = 0; p < s->n_pages; p++) {
        ppage *pg = &s->pages[p];
        for (size_t b = pg->first_block; b < pg->first_block + pg->n_blocks; b++) {
            pblock *bk = &s->blocks[b];
            for (size_t l = bk->first_line; l < bk->first_line + bk->n_lines; l++) {
                pline *pl = &s->lines[l];
                if (pg->height <= 0)
                    continue;
                if (pl->y0 < pg->top + BAND * pg->height ||
                    pl->y1 > pg->top + (1 - BAND) * pg->height) {
                    pl->key = line_key(s->store.data + pl->off, pl->n_bytes);
                    n_band += pl->key != 0;
                }
            }
        }
    }
    if (n_band == 0)
        return RAG_OK;
    while (cap < n_band * 2)
        cap *= 2;
    tab = rag_calloc(cap, sizeof *tab);
    if (!tab)
        return st_fail(s, RAG_ENOMEM, "out of memory");
    /* Count distinct pages per key; then mark the lines. */
    for (int mark = 0; mark < 2; mark++) {
        for (size_t p = 0; p < s->n_pages; p++) {
            ppage *pg = &s->pages[p];
            size_t l0, l1;
            if (pg->n_blocks == 0)
                continue;
            l0 = s->blocks[pg->first_block].first_line;
            l1 = s->blocks[pg->first_block + pg->n_blocks - 1].first_line +
                 s->blocks[pg->first_block + pg->n_blocks - 1].n_lines;
            for (size_t l = l0; l < l1; l++) {
                pline *pl = &s->lines[l];
                if (!pl->key)
                    continue;
                i = pl->key & (cap - 1);
                while (tab[i].key && tab[i].key != pl->key)
                    i = (i + 1) & (cap - 1);
                if (!mark) {
                    if (!tab[i].key) {
                        tab[i].key = pl->key;
                        tab[i].n_pages = 1;
                        tab[i].last_page = (uint32_t)p;
                    } else if (tab[i].last_page != (uint32_t)p) {
                        tab[i].n_pages++;
                        tab[i].last_page = (uint32_t)p;
                    }
                } else if (tab[i].n_pages >= thr) {
                    pl->strip = 1;
                }
            }
        }
    }
    rag_free(tab);
    return RAG_OK;
}

/* ---- headings: outline or font heuristic -------------------------------- */

/* ASCII letters and digits, lower-cased; everything else dropped. */
static size_t norm_alnum(char *out, size_t cap, const char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            out[o++] = (char)(c - 'A' + 'a');
        else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
            out[o++] = c;
    }
    out[o] = '\0';
    return o;
}

static int cmp_entry(const void *a, const void *b)
{
    const pentry *x = a, *y = b;
    if (x->page != y->page)
        return x->page < y->page ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void free_outline(pdf_state *s)
{
    for (size_t i = 0; i < s->n_outline; i++) {
        rag_free(s->outline[i].path);
        rag_free(s->outline[i].norm);
    }
    rag_free(s->outline);
    s->outline = NULL;
    s->n_outline = 0;
}

/* Flatten the outline into entries with full paths. Called inside fz_try:
 * our own failures only set s->rc. */
static void flatten_outline(pdf_state *s, fz_document *doc, fz_outline *root)
{
    fz_context *ctx = s->ctx;
    fz_outline *stack[IB_MAX_LEVELS + 1];
    char *titles[IB_MAX_LEVELS + 1];
    size_t cap = 0;
    int depth = 0;
    fz_outline *it = root;

    while (it && s->rc == RAG_OK) {
        char *t = ib_clean_title(it->title ? it->title : "",
                                 it->title ? strlen(it->title) : 0,
                                 IB_MAX_TITLE_BYTES);
        int page;
        if (!t) {
            st_fail(s, RAG_ENOMEM, "out of memory");
            break;
        }
        /* a merged file's outline label ("AIML action plan cover.pdf") is
         * no section: its entries move up a level */
        if (rag_title_is_file_name(t))
            t[0] = '\0';
        titles[depth] = t;
        page = fz_page_number_from_location(ctx, doc, it->page);
        if (page >= 0 && (size_t)page < s->n_pages && *t) {
            rag_buf path = RAG_BUF_INIT;
            char norm[MATCH_CHARS];
            int rc = RAG_OK;
            pentry *e;
            for (int d = 0; d <= depth && rc == RAG_OK; d++) {
                if (!*titles[d])
                    continue;
                if (path.len)
                    rc = rag_buf_puts(&path, " > ");
                if (rc == RAG_OK)
                    rc = rag_buf_puts(&path, titles[d]);
            }
            if (rc == RAG_OK && grow((void **)&s->outline, &cap, s->n_outline + 1,
                                     sizeof *s->outline) < 0)
                rc = RAG_ENOMEM;
            if (rc < 0) {
                rag_buf_fini(&path);
                rag_free(t);
                st_fail(s, RAG_ENOMEM, "out of memory");
                break;
            }
            e = &s->outline[s->n_outline];
            memset(e, 0, sizeof *e);
            e->page = page;
            e->y = it->y;
            e->order = s->n_outline;
            e->path = rag_buf_take(&path);
            norm_alnum(norm, sizeof norm, t, strlen(t));
            e->norm = rag_strdup(norm);
            s->n_outline++;
            if (!e->path || !e->norm) {
                st_fail(s, RAG_ENOMEM, "out of memory");
                rag_free(t);
                break;
            }
        }
        /* Next in pre-order; titles[] keeps the ancestors of `it`. */
        if (it->down && depth < IB_MAX_LEVELS) {
            stack[depth++] = it;
            it = it->down;
            continue;
        }
        rag_free(titles[depth]);
        while (!it->next && depth > 0) {
            it = stack[--depth];
            rag_free(titles[depth]);
        }
        it = it->next;
    }
    if (s->rc < 0) {
        /* Free the titles still held by the stack on failure. */
        for (int d = 0; d < depth; d++)
            rag_free(titles[d]);
    }
}

static void load_outline(pdf_state *s, fz_document *doc)
{
    fz_context *ctx = s->ctx;
    fz_outline *root = NULL;

    fz_var(root);
    fz_try(ctx) {
        root = fz_load_outline(ctx, doc);
        if (root)
            flatten_outline(s, doc, root);
    }
    fz_always(ctx) {
        fz_drop_outline(ctx, root);
    }
    fz_catch(ctx) {
        rag_log(RAG_LOG_DEBUG, "%s: outline ignored: %s", s->name,
                fz_caught_message(ctx));
        free_outline(s);
    }
    if (s->n_outline > 1)
        qsort(s->outline, s->n_outline, sizeof *s->outline, cmp_entry);
}

/* Normalised text of a block's kept lines, up to MATCH_CHARS. */
static size_t block_norm(pdf_state *s, const pblock *bk, char *out, size_t *n_chars)
{
    size_t o = 0;
    *n_chars = 0;
    out[0] = '\0';
    for (size_t l = bk->first_line; l < bk->first_line + bk->n_lines; l++) {
        const pline *pl = &s->lines[l];
        if (pl->strip)
            continue;
        *n_chars += pl->n_chars;
        if (o + 1 < MATCH_CHARS)
            o += norm_alnum(out + o, MATCH_CHARS - o, s->store.data + pl->off,
                            pl->n_bytes);
    }
    return o;
}

/* For each outline entry, the block of its page that starts its section. */
static void resolve_outline(pdf_state *s)
{
    size_t i = 0;
    while (i < s->n_outline) {
        size_t j = i, prev = 0;
        ppage *pg = &s->pages[s->outline[i].page];
        while (j < s->n_outline && s->outline[j].page == s->outline[i].page)
            j++;
        for (size_t k = i; k < j; k++) {
            pentry *e = &s->outline[k];
            size_t tn = strlen(e->norm), found = SIZE_MAX;
            float best = 1e30f;
            for (size_t b = prev; b < pg->n_blocks && tn >= 2; b++) {
                char norm[MATCH_CHARS];
                size_t n_chars, n = block_norm(s, &s->blocks[pg->first_block + b],
                                               norm, &n_chars);
                const char *hit;
                if (n == 0 || n_chars > tn + 40)
                    continue;
                hit = strstr(norm, e->norm);
                if (hit && hit - norm <= 16) {
                    found = b;
                    break;
                }
            }
            if (found == SIZE_MAX && e->y > 0) {
                for (size_t b = prev; b < pg->n_blocks; b++) {
                    float d = fabsf(s->blocks[pg->first_block + b].y0 - e->y);
                    if (d < best) {
                        best = d;
                        found = b;
                    }
                }
            }
            if (found == SIZE_MAX)
                found = prev;
            e->target = found;
            prev = found;
        }
        i = j;
    }
}

static int cmp_float_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

static void find_body_size(pdf_state *s)
{
    uint64_t total = 0, acc = 0;
    for (int i = 0; i < HIST_BUCKETS; i++)
        total += s->hist[i];
    s->body_size = 10.0f;
    for (int i = 0; i < HIST_BUCKETS && total; i++) {
        acc += s->hist[i];
        if (acc * 2 >= total) {
            s->body_size = (float)i / 2.0f;
            break;
        }
    }
}

/* Font heuristic: level 1..MAX_SIZE_LEVELS by size, one more for bold
 * body-size lines. */
static void find_headings(pdf_state *s)
{
    float sizes[64];
    size_t n_sizes = 0;
    float body = s->body_size;

    if (body <= 0)
        return;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t b = 0; b < s->n_blocks; b++) {
            pblock *bk = &s->blocks[b];
            uint32_t n_chars = 0, n_bold = 0, n_kept = 0;
            float size_sum = 0, mean;
            const pline *last = NULL;
            for (size_t l = bk->first_line; l < bk->first_line + bk->n_lines; l++) {
                const pline *pl = &s->lines[l];
                if (pl->strip)
                    continue;
                n_kept++;
                n_chars += pl->n_chars;
                n_bold += pl->n_bold;
                size_sum += pl->size_sum;
                last = pl;
            }
            if (n_kept == 0 || n_kept > 3 || n_chars < 2 || n_chars > 150)
                continue;
            mean = size_sum / (float)n_chars;
            if (mean >= HEADING_RATIO * body) {
                float q = floorf(mean * 2.0f + 0.5f) / 2.0f;
                if (pass == 0) {
                    size_t k;
                    for (k = 0; k < n_sizes && sizes[k] != q; k++)
                        ;
                    if (k == n_sizes && n_sizes < 64)
                        sizes[n_sizes++] = q;
                } else {
                    size_t k;
                    for (k = 0; k < n_sizes && sizes[k] != q; k++)
                        ;
                    bk->level = (int)(k < MAX_SIZE_LEVELS ? k + 1 : MAX_SIZE_LEVELS);
                }
            } else if (pass == 1 && n_kept == 1 && n_bold == n_chars &&
                       n_chars <= 80 && mean >= 0.95f * body) {
                const char *t = s->store.data + last->off;
                char first = t[0], end = t[last->n_bytes - 1];
                if (!(first >= 'a' && first <= 'z') && !strchr(".,;:", end))
                    bk->level = (int)(n_sizes < MAX_SIZE_LEVELS ? n_sizes : MAX_SIZE_LEVELS) + 1;
            }
        }
        if (pass == 0)
            qsort(sizes, n_sizes, sizeof sizes[0], cmp_float_desc);
    }
}

/* Does the text of a heading block contain at least two letters? */
static int has_letters(pdf_state *s, const pblock *bk)
{
    int n = 0;
    for (size_t l = bk->first_line; l < bk->first_line + bk->n_lines; l++) {
        const unsigned char *t = (const unsigned char *)s->store.data + s->lines[l].off;
        for (uint32_t i = 0; i < s->lines[l].n_bytes; i++)
            if ((t[i] | 0x20) >= 'a' && (t[i] | 0x20) <= 'z' && ++n >= 2)
                return 1;
    }
    return 0;
}

/* ---- pass 3: write ------------------------------------------------------ */

static int emit(pdf_state *s, ib *b)
{
    size_t e = 0;
    int use_outline = s->n_outline > 0;

    for (size_t p = 0; p < s->n_pages && b->rc == RAG_OK; p++) {
        ppage *pg = &s->pages[p];
        int track = s->geom && p == s->geom_page0;
        uint32_t text_line = 0;
        ib_page_begin(b);
        if (track)
            ib_track_begin(b);
        for (size_t bi = 0; bi < pg->n_blocks; bi++) {
            pblock *bk = &s->blocks[pg->first_block + bi];
            const pline *prev = NULL;
            size_t pos;
            int any = 0;

            while (use_outline && e < s->n_outline &&
                   (s->outline[e].page < (int)p ||
                    (s->outline[e].page == (int)p && s->outline[e].target <= bi))) {
                ib_mark(b, s->outline[e].path);
                e++;
            }
            ib_break(b, IB_SEP_PARA);
            pos = ib_next_pos(b);
            for (size_t l = bk->first_line; l < bk->first_line + bk->n_lines; l++) {
                const pline *pl = &s->lines[l];
                int same = 0;
                if (pl->strip)
                    continue;
                if (prev) {
                    same = pl->horizontal && prev->horizontal &&
                           fabsf(pl->base_y - prev->base_y) < 1.5f &&
                           pl->x0 >= prev->x1 - 1.0f;
                    ib_break(b, same ? IB_SEP_SPACE : IB_SEP_LINE);
                }
                if (track) {
                    /* the line of the text this MuPDF line lands on: lines
                     * rejoined on one baseline share it (one box) */
                    if (!same)
                        text_line++;
                    for (uint32_t c = 0; c < pl->geom_n; c++)
                        s->geom->char_line[pl->geom_first + c] = text_line;
                }
                if (track)
                    ib_put_tagged(b, s->store.data + pl->off, pl->n_bytes, 0,
                                  s->store_tags + (pl->off - s->store_tag_base));
                else
                    ib_put(b, s->store.data + pl->off, pl->n_bytes, 0);
                prev = pl;
                any = 1;
            }
            if (any && !use_outline && bk->level > 0 && has_letters(s, bk))
                ib_heading(b, bk->level, pos, NULL);
        }
        /* Entries pointing past the last block of this page. */
        while (use_outline && e < s->n_outline && s->outline[e].page == (int)p) {
            ib_mark(b, s->outline[e].path);
            e++;
        }
        if (track)
            ib_track_end(b);
    }
    return b->rc;
}

/* ---- driver ------------------------------------------------------------- */

static int has_eof_marker(const char *tail, size_t n)
{
    for (size_t i = 0; i + 5 <= n; i++)
        if (tail[i] == '%' && memcmp(tail + i, "%%EOF", 5) == 0)
            return 1;
    return 0;
}

static int check_tail(const char *data, size_t n_bytes, const char *file_path,
                      const char *name, rag_err *err)
{
    char tail[1024];
    size_t n = 0;

    if (data) {
        n = n_bytes < sizeof tail ? n_bytes : sizeof tail;
        memcpy(tail, data + n_bytes - n, n);
    } else {
        FILE *f = fopen(file_path, "rb");
        if (!f)
            return rag_fail(err, RAG_EIO, "%s: cannot open", name);
        if (fseek(f, -(long)sizeof tail, SEEK_END) != 0)
            rewind(f);
        n = fread(tail, 1, sizeof tail, f);
        fclose(f);
    }
    /* The marker is the literal line "%%EOF"; the message describes it in
     * words, as printed text with percent signs reads like a format-string
     * slip. */
    if (!has_eof_marker(tail, n))
        return rag_fail(err, RAG_EFORMAT,
                        "%s: truncated or damaged PDF: no end-of-file marker in "
                        "its last %zu bytes", name, n);
    return RAG_OK;
}

static void pdf_state_fini(pdf_state *s)
{
    rag_buf_fini(&s->store);
    rag_free(s->lines);
    rag_free(s->blocks);
    rag_free(s->pages);
    rag_free(s->store_tags);
    free_outline(s);
}

/* Pass 1 for one page; a page MuPDF cannot read stays empty. */
static void read_page(pdf_state *s, fz_document *doc, size_t p)
{
    fz_context *ctx = s->ctx;
    fz_page *page = NULL;
    fz_stext_page *st = NULL;
    fz_stext_options sopts;

    memset(&sopts, 0, sizeof sopts);
    sopts.flags = FZ_STEXT_MEDIABOX_CLIP;
    fz_var(page);
    fz_var(st);
    fz_try(ctx) {
        fz_rect r;
        page = fz_load_page(ctx, doc, (int)p);
        r = fz_bound_page(ctx, page);
        s->pages[p].top = r.y0;
        s->pages[p].height = r.y1 - r.y0;
        if (s->geom && p == s->geom_page0)
            s->geom->bounds = (rag_rect){r.x0, r.y0, r.x1, r.y1};
        st = fz_new_stext_page_from_page(ctx, page, &sopts);
        collect_page(s, st, p);
    }
    fz_always(ctx) {
        fz_drop_stext_page(ctx, st);
        fz_drop_page(ctx, page);
    }
    fz_catch(ctx) {
        if (s->n_failed_pages++ == 0)
            snprintf(s->first_page_error, sizeof s->first_page_error,
                     "page %zu: %s", p + 1, fz_caught_message(ctx));
        s->pages[p].first_block = s->n_blocks;
        s->pages[p].n_blocks = 0;
    }
}

/* Open, check encryption, read metadata and every page (pass 1). */
static void read_document(pdf_state *s, rag_doc *out, const char *data,
                          size_t n_bytes, const char *file_path)
{
    fz_context *ctx = s->ctx;
    fz_stream *stm = NULL;
    fz_document *doc = NULL;

    fz_var(stm);
    fz_var(doc);
    fz_try(ctx) {
        char title[512];
        int n_pages;
        if (data)
            stm = fz_open_memory(ctx, (const unsigned char *)data, n_bytes);
        else
            stm = fz_open_file(ctx, file_path);
        doc = fz_open_document_with_stream(ctx, "application/pdf", stm);
        if (fz_needs_password(ctx, doc) && !fz_authenticate_password(ctx, doc, "")) {
            st_fail(s, RAG_EFORMAT, "encrypted PDF needs a password");
            break;
        }
        n_pages = fz_count_pages(ctx, doc);
        if (n_pages <= 0) {
            st_fail(s, RAG_EFORMAT, "PDF has no pages");
            break;
        }
        /* /Count comes from the file: a page needs a few bytes at least. */
        if ((size_t)n_pages > MAX_PAGES ||
            (size_t)n_pages > 64 + n_bytes / MIN_PAGE_BYTES) {
            st_fail(s, RAG_EFORMAT, "page count %d is implausible for %zu bytes",
                    n_pages, n_bytes);
            break;
        }
        s->pages = rag_calloc((size_t)n_pages, sizeof *s->pages);
        if (!s->pages) {
            st_fail(s, RAG_ENOMEM, "out of memory");
            break;
        }
        s->n_pages = (size_t)n_pages;
        if (s->geom && s->geom_page0 >= s->n_pages) {
            st_fail(s, RAG_ENOTFOUND, "no page %d (the PDF has %d)", s->geom->page,
                    n_pages);
            break;
        }
        if (fz_lookup_metadata(ctx, doc, FZ_META_INFO_TITLE, title, sizeof title) > 0) {
            rag_buf t = RAG_BUF_INIT;
            if (rag_utf8_sanitize(&t, title, strlen(title), NULL) == RAG_OK) {
                out->title = ib_clean_title(t.data, t.len, 0);
                if (out->title && !*out->title) {
                    rag_free(out->title);
                    out->title = NULL;
                }
            }
            rag_buf_fini(&t);
        }
    }
    fz_catch(ctx) {
        st_fail(s, RAG_EFORMAT, "cannot open PDF: %s", fz_caught_message(ctx));
    }
    if (s->rc < 0)
        goto done;
    load_outline(s, doc);
    for (size_t p = 0; p < s->n_pages && s->rc == RAG_OK; p++) {
        /* the time budget, between pages: MuPDF runs one page at a time */
        if (s->deadline_ms > 0 && rag_now_ms() > s->deadline_ms) {
            rag__fail_time(&s->err, s->name, s->max_seconds);
            s->rc = RAG_ELIMIT;
            break;
        }
        read_page(s, doc, p);
    }
    if (s->rc == RAG_OK && (size_t)s->n_failed_pages == s->n_pages)
        st_fail(s, RAG_EFORMAT, "no page could be read (%s)", s->first_page_error);
    else if (s->rc == RAG_OK && s->n_failed_pages > 0)
        rag_log(RAG_LOG_WARN, "%s: %d of %zu pages could not be read (%s)",
                s->name, s->n_failed_pages, s->n_pages, s->first_page_error);
done:
    fz_drop_document(ctx, doc);
    fz_drop_stream(ctx, stm);
}

/* ---- title, version, date from the first page (doc_meta.c) ------------- */

/* The first page with text (of the first three): its lines in order. */
static int first_page_meta(pdf_state *s, rag_doc *doc)
{
    rag_meta_line *ml = NULL;
    size_t n_ml = 0;
    int rc = RAG_OK, oom = 0;

    for (size_t p = 0; p < s->n_pages && p < 3 && n_ml == 0; p++) {
        const ppage *pg = &s->pages[p];
        size_t n = 0;
        for (size_t b = 0; b < pg->n_blocks; b++)
            n += s->blocks[pg->first_block + b].n_lines;
        if (n == 0)
            continue;
        ml = rag_calloc(n, sizeof *ml);
        if (!ml)
            return st_fail(s, RAG_ENOMEM, "out of memory");
        for (size_t b = 0; b < pg->n_blocks; b++) {
            const pblock *bk = &s->blocks[pg->first_block + b];
            for (uint32_t i = 0; i < bk->n_lines; i++) {
                const pline *pl = &s->lines[bk->first_line + i];
                ml[n_ml++] = (rag_meta_line){s->store.data + pl->off, pl->n_bytes,
                                             pl->size_sum / (float)pl->n_chars, (int)b};
            }
        }
    }
    if (n_ml == 0)
        return RAG_OK;
    /* The metadata title stands when the page shows it, or when the page's
     * heading is not a fuller form of it ("Guiding Principles - GMLP");
     * a placeholder never does. */
    if (doc->title && rag_title_is_junk(doc->title, doc->path)) {
        rag_free(doc->title);
        doc->title = NULL;
    }
    if (!doc->title || !rag_meta_title_on_page(doc->title, ml, n_ml)) {
        char *heading = rag_meta_heading_title(ml, n_ml, s->body_size, &oom);
        if (heading && *heading && !rag_title_is_junk(heading, NULL) &&
            (!doc->title || rag_meta_title_widens(doc->title, heading))) {
            rag_free(doc->title);
            doc->title = heading;
        } else {
            rag_free(heading);
        }
    }
    if (oom)
        rc = st_fail(s, RAG_ENOMEM, "out of memory");
    if (rc == RAG_OK && rag_meta_find_version(ml, n_ml, &doc->version, &doc->date,
                                              &s->err) < 0)
        rc = s->rc = RAG_ENOMEM;
    rag_free(ml);
    return rc;
}

int rag__extract_pdf(rag_doc *doc, const char *data, size_t n_bytes,
                     const char *file_path, const rag_extract_opts *opts,
                     rag_page_geom *geom, rag_err *err)
{
    pdf_state s;
    ib b;
    int rc;

    rc = check_tail(data, n_bytes, file_path, doc->path, err);
    if (rc < 0)
        return rc;
    memset(&s, 0, sizeof s);
    s.name = doc->path;
    s.deadline_ms = rag__deadline(opts);
    s.max_seconds = opts->max_seconds;
    if (geom) {
        if (geom->page < 1)
            return rag_fail(err, RAG_ENOTFOUND, "%s: no page %d", doc->path, geom->page);
        s.geom = geom;
        s.geom_page0 = (size_t)geom->page - 1;
    }
    s.ctx = fz_new_context(NULL, NULL, (size_t)32 << 20);
    if (!s.ctx)
        return rag_fail(err, RAG_ENOMEM, "%s: cannot create a MuPDF context",
                        doc->path);
    fz_set_warning_callback(s.ctx, on_fz_message, (void *)doc->path);
    fz_set_error_callback(s.ctx, on_fz_message, (void *)doc->path);
    fz_try(s.ctx) {
        fz_register_document_handlers(s.ctx);
    }
    fz_catch(s.ctx) {
        st_fail(&s, RAG_ENOMEM, "cannot set up MuPDF: %s",
                fz_caught_message(s.ctx));
    }
    if (s.rc == RAG_OK)
        read_document(&s, doc, data, n_bytes, file_path);
    fz_drop_context(s.ctx);
    s.ctx = NULL;
    if (s.rc < 0) {
        if (err)
            *err = s.err;
        rc = s.rc;
        pdf_state_fini(&s);
        return rc;
    }

    find_body_size(&s);
    if (opts->strip_headers)
        find_headers(&s);
    if (s.rc == RAG_OK && !geom)
        first_page_meta(&s, doc);
    if (s.rc == RAG_OK) {
        if (s.n_outline > 0)
            resolve_outline(&s);
        else
            find_headings(&s);
    }
    if (s.rc < 0) {
        if (err)
            *err = s.err;
        rc = s.rc;
        pdf_state_fini(&s);
        return rc;
    }
    ib_init(&b, doc->path, opts->max_text_bytes);
    ib_set_deadline(&b, s.deadline_ms, opts->max_seconds);
    emit(&s, &b);
    rc = ib_finish(&b, doc);
    if (rc < 0 && err)
        *err = b.err;
    if (rc == RAG_OK && geom) {
        geom->origin = ib_take_tags(&b, &geom->origin_base, &geom->n_origin);
        geom->byte_start = doc->pages[s.geom_page0].byte_start;
        geom->byte_end = doc->pages[s.geom_page0].byte_end;
    }
    ib_fini(&b);
    pdf_state_fini(&s);
    return rc;
}
