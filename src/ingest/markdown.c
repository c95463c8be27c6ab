/* markdown.c - Markdown through md4c (CommonMark + GitHub tables,
 * strikethrough, task lists, autolinks).
 *
 * Headings become section marks ("H1 > H2 > H3") and stay in the text;
 * paragraphs, list items and table rows are separated as blocks; fenced and
 * indented code blocks are kept verbatim (indentation and line breaks);
 * raw HTML is dropped; entities are decoded. The input is repaired to valid
 * UTF-8 first so n_replaced counts every bad byte exactly once.
 */
#include "ingest/ingest_internal.h"

#include <md4c.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    ib *b;
    rag_doc *doc;
    int in_code;           /* inside a code block: text goes to code */
    rag_buf code;
    int in_heading;
    size_t heading_pos;
    int n_cell;            /* cells seen in the current table row */
} md_state;

static int md_abort(md_state *s)
{
    return s->b->rc < 0;
}

static int on_enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    md_state *s = ud;
    ib *b = s->b;

    switch (type) {
    case MD_BLOCK_H:
        ib_break(b, IB_SEP_PARA);
        s->in_heading = 1;
        s->heading_pos = ib_next_pos(b);
        break;
    case MD_BLOCK_CODE:
        s->in_code = 1;
        rag_buf_clear(&s->code);
        break;
    case MD_BLOCK_TR:
        ib_break(b, IB_SEP_LINE);
        s->n_cell = 0;
        break;
    case MD_BLOCK_TH:
    case MD_BLOCK_TD:
        if (s->n_cell++ > 0)
            ib_put(b, " | ", 3, 0);
        break;
    case MD_BLOCK_LI:
        ib_break(b, IB_SEP_LINE);
        break;
    case MD_BLOCK_P:
    case MD_BLOCK_QUOTE:
    case MD_BLOCK_TABLE:
    case MD_BLOCK_HR:
    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
    case MD_BLOCK_HTML:
        ib_break(b, IB_SEP_PARA);
        break;
    default:
        break;
    }
    (void)detail;
    return md_abort(s);
}

static int on_leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    md_state *s = ud;
    ib *b = s->b;

    switch (type) {
    case MD_BLOCK_H: {
        const MD_BLOCK_H_DETAIL *h = detail;
        size_t pos = s->heading_pos;
        s->in_heading = 0;
        if (!s->doc->title && h->level == 1 && pos < b->text.len) {
            s->doc->title = ib_clean_title(b->text.data + pos,
                                           b->text.len - pos, 0);
            if (!s->doc->title)
                ib_fail(b, RAG_ENOMEM, "out of memory");
        }
        ib_heading(b, (int)h->level, pos, NULL);
        ib_break(b, IB_SEP_PARA);
        break;
    }
    case MD_BLOCK_CODE:
        s->in_code = 0;
        if (s->code.len)
            ib_put_verbatim(b, s->code.data, s->code.len);
        break;
    case MD_BLOCK_P:
    case MD_BLOCK_QUOTE:
    case MD_BLOCK_TABLE:
    case MD_BLOCK_UL:
    case MD_BLOCK_OL:
    case MD_BLOCK_HTML:
        ib_break(b, IB_SEP_PARA);
        break;
    case MD_BLOCK_LI:
    case MD_BLOCK_TR:
        ib_break(b, IB_SEP_LINE);
        break;
    default:
        break;
    }
    return md_abort(s);
}

static int on_span(MD_SPANTYPE type, void *detail, void *ud)
{
    (void)type;
    (void)detail;
    return md_abort(ud);
}

/* "&amp;", "&#233;", "&#xE9;" -> code point; 0 if unknown. */
static uint32_t entity_cp(const char *t, size_t n)
{
    static const struct { const char *name; uint32_t cp; } named[] = {
        {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''},
        {"nbsp", 0xA0}, {"copy", 0xA9}, {"reg", 0xAE}, {"mdash", 0x2014},
        {"ndash", 0x2013}, {"hellip", 0x2026}, {"laquo", 0xAB},
        {"raquo", 0xBB}, {"times", 0xD7}, {"deg", 0xB0}, {"eacute", 0xE9},
        {"trade", 0x2122}, {"rarr", 0x2192}, {"larr", 0x2190},
    };
    char name[16];

    if (n < 3 || t[0] != '&' || t[n - 1] != ';')
        return 0;
    t++;
    n -= 2;
    if (t[0] == '#') {
        unsigned long v;
        char num[16], *end;
        int hex = n > 1 && (t[1] == 'x' || t[1] == 'X');
        size_t skip = hex ? 2 : 1;
        if (n - skip == 0 || n - skip >= sizeof num)
            return 0;
        memcpy(num, t + skip, n - skip);
        num[n - skip] = '\0';
        v = strtoul(num, &end, hex ? 16 : 10);
        if (*end || v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
            return 0xFFFD;
        return (uint32_t)v;
    }
    if (n >= sizeof name)
        return 0;
    memcpy(name, t, n);
    name[n] = '\0';
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (strcmp(name, named[i].name) == 0)
            return named[i].cp;
    return 0;
}

static int on_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *ud)
{
    md_state *s = ud;
    ib *b = s->b;
    uint32_t cp;

    if (s->in_code) {
        if (type == MD_TEXT_NULLCHAR) {
            if (rag_buf_append(&s->code, "\xEF\xBF\xBD", 3) < 0)
                ib_fail(b, RAG_ENOMEM, "out of memory");
        } else if (rag_buf_append(&s->code, text, size) < 0) {
            ib_fail(b, RAG_ENOMEM, "out of memory");
        }
        return md_abort(s);
    }
    switch (type) {
    case MD_TEXT_NULLCHAR:
        ib_put_cp(b, 0xFFFD);
        break;
    case MD_TEXT_BR:
    case MD_TEXT_SOFTBR:
        ib_break(b, s->in_heading ? IB_SEP_SPACE : IB_SEP_LINE);
        break;
    case MD_TEXT_HTML:
        break;
    case MD_TEXT_ENTITY:
        cp = entity_cp(text, size);
        if (cp)
            ib_put_cp(b, cp);
        else
            ib_put(b, text, size, 0);
        break;
    default:
        ib_put(b, text, size, 0);
        break;
    }
    return md_abort(s);
}

int rag__extract_markdown(rag_doc *doc, const char *data, size_t n_bytes,
                          const rag_extract_opts *opts, rag_err *err)
{
    rag_buf clean = RAG_BUF_INIT;
    md_state s;
    MD_PARSER parser;
    size_t n_bad = 0;
    ib b;
    int rc, mrc;

    memset(&s, 0, sizeof s);
    ib_init(&b, doc->path, opts->max_text_bytes);
    ib_set_deadline(&b, rag__deadline(opts), opts->max_seconds);
    s.b = &b;
    s.doc = doc;
    if (!rag_utf8_valid(data, n_bytes)) {
        rc = rag_utf8_sanitize(&clean, data, n_bytes, &n_bad);
        if (rc < 0) {
            ib_fini(&b);
            return rag_fail(err, rc, "%s: out of memory", doc->path);
        }
        data = clean.data;
        n_bytes = clean.len;
    }
    if (n_bytes > 0xFFFFFFFFu) {
        rag_buf_fini(&clean);
        ib_fini(&b);
        return rag_fail(err, RAG_ELIMIT, "%s: Markdown over 4 GiB", doc->path);
    }
    memset(&parser, 0, sizeof parser);
    parser.flags = MD_DIALECT_GITHUB;
    parser.enter_block = on_enter_block;
    parser.leave_block = on_leave_block;
    parser.enter_span = on_span;
    parser.leave_span = on_span;
    parser.text = on_text;
    mrc = md_parse(data, (MD_SIZE)n_bytes, &parser, &s);
    if (mrc != 0 && b.rc == RAG_OK)
        ib_fail(&b, RAG_ENOMEM, "Markdown parser failed (out of memory)");
    b.n_replaced = n_bad;
    rc = ib_finish(&b, doc);
    if (rc < 0 && err)
        *err = b.err;
    rag_buf_fini(&s.code);
    rag_buf_fini(&clean);
    ib_fini(&b);
    return rc;
}
