/* html.c - HTML through libxml2's tolerant HTML parser.
 *
 * The parsed tree is walked iteratively (no recursion, so deep nesting
 * cannot overflow the stack). script, style, nav, noscript, template and
 * embedded objects are dropped; block elements become paragraph breaks,
 * li/tr/br line breaks, table cells are joined by " | "; <pre> is kept
 * verbatim; h1..h6 become section marks. Title: <title>, else the first
 * <h1>, else the file name.
 *
 * Encoding: a document that declares no charset, or UTF-8, is repaired to
 * valid UTF-8 first (n_replaced counts the bad bytes) and parsed as UTF-8;
 * any other declared charset is left to libxml2 to convert.
 *
 * Hostile input (html_prep.c): attributes past HTML_MAX_ATTRS per tag are
 * cut before parsing (libxml2's duplicate check is quadratic in them). When
 * the parse stops early -- 256 open elements, or a text node over 10 MB,
 * after which libxml2 silently drops the rest -- the document is parsed
 * again with elements below HTML_FLAT_DEPTH flattened and XML_PARSE_HUGE
 * (no text-node limit; depth is ours to bound), with one warning; if that
 * stops early too, the file fails rather than being indexed in part. The
 * parser's SAX callbacks are wrapped to watch the time budget.
 */
#include "ingest/html_prep.h"
#include "ingest/ingest_internal.h"

#include <libxml/HTMLparser.h>
#include <libxml/SAX2.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define HTML_MAX_ATTRS 256   /* attributes kept per start tag */
#define HTML_FLAT_DEPTH 200  /* flattening depth when libxml2 stopped at 256 */

typedef struct {
    ib *b;
    rag_doc *doc;
    size_t heading_pos[7];
} html_state;

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

static int name_in(const char *name, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(name, *list) == 0)
            return 1;
    return 0;
}

static const char *const skip_tags[] = {
    "script", "style", "nav", "noscript", "template", "svg", "math",
    "iframe", "object", "embed", "canvas", "select", "button", "audio",
    "video", "map", "meta", "link", NULL};
static const char *const para_tags[] = {
    "p", "div", "section", "article", "main", "header", "footer", "aside",
    "blockquote", "ul", "ol", "dl", "table", "thead", "tbody", "tfoot",
    "figure", "figcaption", "hr", "address", "form", "fieldset", "caption",
    "details", "summary", "body", "html", "center", "legend", NULL};
static const char *const line_tags[] = {"li", "tr", "dt", "dd", "br", NULL};

static int heading_level(const char *name)
{
    if ((name[0] == 'h' || name[0] == 'H') && name[1] >= '1' && name[1] <= '6' &&
        name[2] == '\0')
        return name[1] - '0';
    return 0;
}

static int prev_is_cell(xmlNode *n)
{
    for (n = n->prev; n; n = n->prev)
        if (n->type == XML_ELEMENT_NODE)
            return strcmp((const char *)n->name, "td") == 0 ||
                   strcmp((const char *)n->name, "th") == 0;
    return 0;
}

/* Returns 1 to descend into the node's children, 0 to skip them. */
static int enter(html_state *s, xmlNode *n)
{
    ib *b = s->b;
    const char *name;
    int level;

    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        if (n->content)
            ib_put(b, (const char *)n->content, strlen((const char *)n->content), 0);
        return 0;
    }
    if (n->type != XML_ELEMENT_NODE)
        return n->type == XML_DOCUMENT_NODE || n->type == XML_HTML_DOCUMENT_NODE;
    name = (const char *)n->name;
    if (name_in(name, skip_tags))
        return 0;
    if (strcmp(name, "title") == 0) {
        if (!s->doc->title) {
            xmlChar *t = xmlNodeGetContent(n);
            if (t && *t) {
                s->doc->title = ib_clean_title((const char *)t,
                                               strlen((const char *)t), 0);
                if (!s->doc->title)
                    ib_fail(b, RAG_ENOMEM, "out of memory");
                else if (!*s->doc->title) {
                    rag_free(s->doc->title);
                    s->doc->title = NULL;
                }
            }
            xmlFree(t);
        }
        return 0;
    }
    if (strcmp(name, "pre") == 0) {
        xmlChar *t = xmlNodeGetContent(n);
        if (t)
            ib_put_verbatim(b, (const char *)t, strlen((const char *)t));
        xmlFree(t);
        return 0;
    }
    if ((level = heading_level(name)) > 0) {
        ib_break(b, IB_SEP_PARA);
        s->heading_pos[level] = ib_next_pos(b);
        return 1;
    }
    if (strcmp(name, "td") == 0 || strcmp(name, "th") == 0) {
        if (prev_is_cell(n))
            ib_put(b, " | ", 3, 0);
        return 1;
    }
    if (name_in(name, line_tags))
        ib_break(b, IB_SEP_LINE);
    else if (name_in(name, para_tags))
        ib_break(b, IB_SEP_PARA);
    return 1;
}

static void leave(html_state *s, xmlNode *n)
{
    ib *b = s->b;
    const char *name;
    int level;

    if (n->type != XML_ELEMENT_NODE)
        return;
    name = (const char *)n->name;
    if ((level = heading_level(name)) > 0) {
        size_t pos = s->heading_pos[level];
        if (!s->doc->title && level == 1 && pos < b->text.len) {
            s->doc->title = ib_clean_title(b->text.data + pos,
                                           b->text.len - pos, 0);
            if (!s->doc->title)
                ib_fail(b, RAG_ENOMEM, "out of memory");
        }
        ib_heading(b, level, pos, NULL);
        ib_break(b, IB_SEP_PARA);
    } else if (name_in(name, line_tags)) {
        ib_break(b, IB_SEP_LINE);
    } else if (name_in(name, para_tags)) {
        ib_break(b, IB_SEP_PARA);
    }
}

static void walk(html_state *s, xmlNode *root)
{
    xmlNode *n = root;

    while (n && s->b->rc == RAG_OK) {
        int down = enter(s, n);
        if (down && n->children) {
            n = n->children;
            continue;
        }
        if (down)
            leave(s, n);
        while (n) {
            if (n == root) {
                n = NULL;
                break;
            }
            if (n->next) {
                n = n->next;
                break;
            }
            n = n->parent;
            if (n)
                leave(s, n);
        }
    }
}

/* Declared charset other than UTF-8 in the first 2 KiB? */
static int declares_other_charset(const char *data, size_t n_bytes)
{
    size_t lim = n_bytes < 2048 ? n_bytes : 2048;
    for (size_t i = 0; i + 8 <= lim; i++) {
        if (strncasecmp(data + i, "charset=", 8) == 0 ||
            (i + 9 <= lim && strncasecmp(data + i, "encoding=", 9) == 0)) {
            size_t j = i + (data[i] == 'c' || data[i] == 'C' ? 8 : 9);
            while (j < lim && (data[j] == '"' || data[j] == '\'' || data[j] == ' '))
                j++;
            if (lim - j >= 5 && strncasecmp(data + j, "utf-8", 5) == 0)
                return 0;
            if (lim - j >= 4 && strncasecmp(data + j, "utf8", 4) == 0)
                return 0;
            return j < lim;
        }
    }
    return 0;
}

/* ---- parsing under a time budget ---------------------------------------- */

typedef struct {
    double deadline_ms;     /* 0 = none */
    unsigned n_events;
    int timed_out;
} parse_watch;

/* Every 256 SAX events, look at the clock; past the deadline, stop. */
static int watch_tick(void *ctx)
{
    htmlParserCtxtPtr c = ctx;
    parse_watch *w = c->_private;
    if (w->timed_out)
        return 1;
    if (w->deadline_ms > 0 && (++w->n_events & 255) == 0 && rag_now_ms() > w->deadline_ms) {
        w->timed_out = 1;
        xmlStopParser(c);
        return 1;
    }
    return 0;
}

static void sax_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
    if (!watch_tick(ctx))
        xmlSAX2StartElement(ctx, name, atts);
}

static void sax_end(void *ctx, const xmlChar *name)
{
    watch_tick(ctx);
    xmlSAX2EndElement(ctx, name);   /* always: keeps the node stack in step */
}

static void sax_chars(void *ctx, const xmlChar *ch, int len)
{
    if (!watch_tick(ctx))
        xmlSAX2Characters(ctx, ch, len);
}

/* One parse. *stopped: the parser halted before the end of the input (a
 * fatal error: too deep, a text node too large, out of memory), with its
 * message in why. NULL document, or *timed_out, are failures too. */
static htmlDocPtr parse(const char *data, size_t n_bytes, const char *url,
                        const char *enc, int options, parse_watch *w, int *stopped,
                        char *why, size_t n_why)
{
    htmlParserCtxtPtr c = htmlNewParserCtxt();
    htmlDocPtr d;

    *stopped = 0;
    why[0] = '\0';
    if (!c)
        return NULL;
    c->_private = w;
    c->sax->startElement = sax_start;
    c->sax->endElement = sax_end;
    c->sax->characters = sax_chars;
    d = htmlCtxtReadMemory(c, data, (int)n_bytes, url, enc, options);
    if (!w->timed_out && c->disableSAX && c->instate == XML_PARSER_EOF) {
        xmlErrorPtr e = xmlCtxtGetLastError(c);
        size_t k;
        *stopped = 1;
        if (c->errNo == XML_ERR_INTERNAL_ERROR && e && e->message &&
            strstr(e->message, "depth"))
            snprintf(why, n_why, "elements nested over 256 deep");
        else if (c->errNo == XML_ERR_NO_MEMORY)
            snprintf(why, n_why, "a text node over 10 MB, or out of memory");
        else
            snprintf(why, n_why, "%s", e && e->message ? e->message : "a fatal error");
        k = strlen(why);
        while (k > 0 && (why[k - 1] == '\n' || why[k - 1] == ' '))
            why[--k] = '\0';
    }
    htmlFreeParserCtxt(c);
    return d;
}

int rag__extract_html(rag_doc *doc, const char *data, size_t n_bytes,
                      const rag_extract_opts *opts, rag_err *err)
{
    rag_buf clean = RAG_BUF_INIT, prepped = RAG_BUF_INIT;
    const char *enc = NULL, *in;
    html_prep_opts po = {HTML_MAX_ATTRS, 0};
    html_prep_stats ps;
    parse_watch w = {rag__deadline(opts), 0, 0};
    html_state s;
    htmlDocPtr hdoc;
    size_t n_bad = 0, n_in, n_cut;
    int rc, options, stopped;
    char why[200];
    ib b;

    pthread_once(&xml_once, xml_init);
    if (n_bytes > INT_MAX)
        return rag_fail(err, RAG_ELIMIT, "%s: HTML over 2 GiB", doc->path);
    options = HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
              HTML_PARSE_NONET | HTML_PARSE_NOBLANKS | HTML_PARSE_COMPACT;
    if (!declares_other_charset(data, n_bytes)) {
        if (!rag_utf8_valid(data, n_bytes)) {
            rc = rag_utf8_sanitize(&clean, data, n_bytes, &n_bad);
            if (rc < 0)
                return rag_fail(err, rc, "%s: out of memory", doc->path);
            data = clean.data;
            n_bytes = clean.len;
            if (n_bytes > INT_MAX) {
                rag_buf_fini(&clean);
                return rag_fail(err, RAG_ELIMIT, "%s: HTML over 2 GiB", doc->path);
            }
        }
        enc = "UTF-8";
        options |= HTML_PARSE_IGNORE_ENC;
    }
    in = data;
    n_in = n_bytes;
    rc = html_prep(&prepped, data, n_bytes, &po, &ps);
    if (rc > 0 && prepped.len <= INT_MAX) {
        in = prepped.data;
        n_in = prepped.len;
    }
    n_cut = ps.n_tags_cut;
    hdoc = rc < 0 ? NULL : parse(in, n_in, doc->path, enc, options, &w, &stopped, why,
                                 sizeof why);
    if (rc >= 0 && hdoc && stopped && !w.timed_out) {
        /* libxml2 dropped everything after the point it stopped at: parse
         * again with depth bounded by us and no text-node limit. */
        xmlFreeDoc(hdoc);
        hdoc = NULL;
        char first[200];
        snprintf(first, sizeof first, "%s", why);
        po.max_depth = HTML_FLAT_DEPTH;
        rc = html_prep(&prepped, data, n_bytes, &po, &ps);
        in = rc > 0 ? prepped.data : data;
        n_in = rc > 0 ? prepped.len : n_bytes;
        if (rc >= 0 && n_in <= INT_MAX)
            hdoc = parse(in, n_in, doc->path, enc, options | XML_PARSE_HUGE, &w, &stopped,
                         why, sizeof why);
        if (hdoc && stopped && !w.timed_out) {
            xmlFreeDoc(hdoc);
            rag_buf_fini(&prepped);
            rag_buf_fini(&clean);
            return rag_fail(err, RAG_EFORMAT, "%s: the HTML parser stopped before the end "
                            "(%s); not indexed rather than indexed in part", doc->path, why);
        }
        if (hdoc && ps.n_flattened)
            rag_log(RAG_LOG_WARN, "%s: the HTML parser stopped early (%s): parsed again "
                    "with %zu elements nested deeper than %d flattened; all text kept",
                    doc->path, first, ps.n_flattened, HTML_FLAT_DEPTH);
        else if (hdoc)
            rag_log(RAG_LOG_WARN, "%s: the HTML parser stopped early (%s): parsed again "
                    "without its text-node limit; all text kept", doc->path, first);
    }
    rag_buf_fini(&prepped);
    if (rc < 0) {
        rag_buf_fini(&clean);
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory", doc->path);
    }
    if (w.timed_out) {
        xmlFreeDoc(hdoc);
        rag_buf_fini(&clean);
        return rag__fail_time(err, doc->path, opts->max_seconds);
    }
    if (!hdoc) {
        rag_buf_fini(&clean);
        return rag_fail(err, RAG_EFORMAT, "%s: HTML parser found no document",
                        doc->path);
    }
    if (n_cut)
        rag_log(RAG_LOG_WARN, "%s: %zu tags had more than %d attributes; the rest were "
                "ignored", doc->path, n_cut, HTML_MAX_ATTRS);
    memset(&s, 0, sizeof s);
    ib_init(&b, doc->path, opts->max_text_bytes);
    ib_set_deadline(&b, w.deadline_ms, opts->max_seconds);
    s.b = &b;
    s.doc = doc;
    walk(&s, (xmlNode *)hdoc);
    xmlFreeDoc(hdoc);
    b.n_replaced = n_bad;
    rc = ib_finish(&b, doc);
    if (rc < 0 && err)
        *err = b.err;
    ib_fini(&b);
    rag_buf_fini(&clean);
    return rc;
}
