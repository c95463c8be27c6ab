/* html_prep.c - one linear pass over HTML bytes that bounds what libxml2's
 * HTML parser (2.9) is given.
 *
 * Two of its limits are quadratic or fatal on hostile input:
 *   - a start tag's attributes are checked for duplicates pairwise, so one
 *     tag with 100k attributes costs 18 s (r09): attributes past
 *     max_attrs are cut from the tag;
 *   - the tree builder stops the whole parse at 256 open elements, so all
 *     text after a deeper point is lost (r05), and raising the limit
 *     (XML_PARSE_HUGE) makes every unmatched end tag scan the whole open
 *     element stack, quadratic again: with max_depth set, start tags
 *     nested deeper are flattened instead (block elements become <br>,
 *     inline ones vanish, their text stays; script, style and the other
 *     dropped elements go with their content).
 *
 * The pass tokenises as libxml2 does (comments, <!...> and <?...> to '>',
 * script/style raw text up to "</name", attribute values quoted up to the
 * matching quote, even across '>'), so it sees the tags the parser will
 * see. Its open-element count never undercounts libxml2's: it pushes every
 * start tag that is not void or self-closed and pops only on an end tag
 * naming the element on top, where libxml2 may close more (implied ends,
 * misnested tags). Flattening therefore keeps libxml2 below max_depth plus
 * the few elements it implies (html, body, p).
 *
 * Output is written only when something is cut: the input is copied in
 * runs between the cuts.
 */
#include "ingest/html_prep.h"

#include <string.h>
#include <strings.h>

typedef struct {
    const char *name;       /* into the input */
    unsigned char n_name;
    unsigned char flat;     /* flattened: its start tag was not emitted */
} open_el;

typedef struct {
    const char *data;
    size_t n;
    const html_prep_opts *o;
    html_prep_stats *st;
    rag_buf *out;
    int active;             /* out holds data[0..flushed) rewritten */
    size_t flushed;
    open_el *stack;
    size_t n_stack, cap_stack;
    size_t skip_depth;      /* inside a flattened dropped element: its depth + 1 */
    int rc;
} prep;

static int is_blank(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* libxml2's htmlParseHTMLName: [A-Za-z_:.][A-Za-z0-9_:.-]*, at most 100. */
static size_t name_len(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0 || !(is_letter((unsigned char)s[0]) || s[0] == '_' || s[0] == ':' ||
                    s[0] == '.'))
        return 0;
    while (i < n && i < 100 &&
           (is_letter((unsigned char)s[i]) || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
            s[i] == ':' || s[i] == '.' || s[i] == '-'))
        i++;
    return i;
}

static int name_is(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && strncasecmp(s, *list, n) == 0)
            return 1;
    return 0;
}

/* libxml2's empty (void) elements: closed as soon as they open. */
static const char *const void_tags[] = {
    "area", "base", "basefont", "br", "col", "frame", "hr", "img", "input", "isindex",
    "link", "meta", "param", NULL};
/* Flattened, these become a line break (html.c gives them breaks). */
static const char *const block_tags[] = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "blockquote",
    "ul", "ol", "dl", "table", "thead", "tbody", "tfoot", "figure", "figcaption",
    "address", "form", "fieldset", "caption", "details", "summary", "body", "html",
    "center", "legend", "li", "tr", "dt", "dd", "td", "th", "h1", "h2", "h3", "h4", "h5",
    "h6", "pre", NULL};
/* Dropped by html.c with their content: flattened, the content goes too. */
static const char *const dropped_tags[] = {
    "script", "style", "nav", "noscript", "template", "svg", "math", "iframe", "object",
    "embed", "canvas", "select", "button", "audio", "video", "map", "title", "head", NULL};

/* Replace data[a, b) by `with` in the output. */
static void cut(prep *p, size_t a, size_t b, const char *with)
{
    if (p->rc < 0)
        return;
    if (!p->active) {
        p->active = 1;
        rag_buf_clear(p->out);
        if ((p->rc = rag_buf_reserve(p->out, p->n + 16)) < 0)
            return;
    }
    if ((p->rc = rag_buf_append(p->out, p->data + p->flushed, a - p->flushed)) < 0 ||
        (with && (p->rc = rag_buf_puts(p->out, with)) < 0))
        return;
    p->flushed = b;
}

static int push(prep *p, const char *name, size_t n_name, int flat)
{
    if (p->n_stack == p->cap_stack) {
        size_t cap = p->cap_stack ? p->cap_stack * 2 : 256;
        open_el *ns = rag_realloc(p->stack, cap * sizeof *ns);
        if (!ns)
            return p->rc = RAG_ENOMEM;
        p->stack = ns;
        p->cap_stack = cap;
    }
    p->stack[p->n_stack++] = (open_el){name, (unsigned char)n_name, (unsigned char)flat};
    return RAG_OK;
}

/* Where libxml2 ends a comment whose text starts at i: just past the
 * first "-->", or at the first byte that is not an XML character (it stops
 * there and parses on as content), or at the end. */
static size_t comment_end(const prep *p, size_t start)
{
    for (size_t i = start; i < p->n; i++) {
        unsigned char c = (unsigned char)p->data[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return i;
        if (c == '>' && i >= start + 2 && p->data[i - 1] == '-' && p->data[i - 2] == '-')
            return i + 1;
    }
    return p->n;
}

/* Start of "</name" (case-insensitive) at or after i, or n: where
 * libxml2's recovering parser ends script and style text. */
static size_t raw_text_end(const prep *p, size_t i, const char *name, size_t n_name)
{
    while (i + 2 + n_name <= p->n) {
        const char *q = memchr(p->data + i, '<', p->n - i);
        if (!q)
            break;
        i = (size_t)(q - p->data);
        if (i + 2 + n_name <= p->n && q[1] == '/' && strncasecmp(q + 2, name, n_name) == 0)
            return i;
        i++;
    }
    return p->n;
}

/* A start tag at data[i] == '<', name at i + 1. Returns the index after it. */
static size_t start_tag(prep *p, size_t i)
{
    const char *d = p->data;
    size_t n = p->n, j, n_name = name_len(d + i + 1, n - i - 1);
    const char *name = d + i + 1;
    size_t n_attrs = 0, cut_from = 0, end;
    int self_closed = 0, flat, opens;

    j = i + 1 + n_name;
    for (;;) {
        size_t a0, an;
        while (j < n && is_blank((unsigned char)d[j]))
            j++;
        if (j >= n || d[j] == '>' || (d[j] == '/' && j + 1 < n && d[j + 1] == '>'))
            break;
        a0 = j;
        an = name_len(d + j, n - j);
        if (an == 0) {
            /* libxml2 drops a bogus attribute up to a blank or the end */
            while (j < n && !is_blank((unsigned char)d[j]) && d[j] != '>' &&
                   !(d[j] == '/' && j + 1 < n && d[j + 1] == '>'))
                j++;
            continue;
        }
        j += an;
        while (j < n && is_blank((unsigned char)d[j]))
            j++;
        if (j < n && d[j] == '=') {
            j++;
            while (j < n && is_blank((unsigned char)d[j]))
                j++;
            if (j < n && (d[j] == '"' || d[j] == '\'')) {
                const char *q = memchr(d + j + 1, d[j], n - j - 1);
                j = q ? (size_t)(q - d) + 1 : n;
            } else {
                while (j < n && !is_blank((unsigned char)d[j]) && d[j] != '>')
                    j++;
            }
        }
        if (p->o->max_attrs && ++n_attrs == p->o->max_attrs + 1)
            cut_from = a0;
    }
    end = j;   /* at '>', "/>" or the end of the data */
    if (end < n && d[end] == '/') {
        self_closed = 1;
        end += 2;
    } else if (end < n) {
        end++;
    }
    opens = !self_closed && !name_is(name, n_name, void_tags);
    flat = p->skip_depth > 0 ||
           (opens && p->o->max_depth && p->n_stack >= p->o->max_depth);
    /* One cut per tag: the whole tag when flattened, else its extra
     * attributes (the rest of the tag up to '>' or "/>"). */
    if (flat) {
        int dropped = name_is(name, n_name, dropped_tags);
        const char *with = p->skip_depth || dropped || !name_is(name, n_name, block_tags)
                               ? NULL : "<br>";
        cut(p, i, end, with);
        p->st->n_flattened++;
        if (opens && !p->skip_depth && dropped)
            p->skip_depth = p->n_stack + 1;
    } else if (cut_from) {
        cut(p, cut_from, j, NULL);
        p->st->n_tags_cut++;
    }
    if (!opens)
        return end;
    if (push(p, name, n_name, flat) < 0)
        return n;
    if ((n_name == 6 && strncasecmp(name, "script", 6) == 0) ||
        (n_name == 5 && strncasecmp(name, "style", 5) == 0)) {
        size_t e = raw_text_end(p, end, name, n_name);
        if (p->skip_depth)
            cut(p, end, e, NULL);
        end = e;
    }
    return end;
}

/* An end tag at data[i] == '<', '/' at i + 1, name at i + 2. */
static size_t end_tag(prep *p, size_t i)
{
    const char *d = p->data;
    size_t n = p->n, n_name = name_len(d + i + 2, n - i - 2);
    const char *name = d + i + 2;
    const char *q = memchr(d + i, '>', n - i);
    size_t end = q ? (size_t)(q - d) + 1 : n;
    open_el *top = p->n_stack ? &p->stack[p->n_stack - 1] : NULL;

    if (top && top->n_name == n_name && strncasecmp(top->name, name, n_name) == 0) {
        int was_skipping = p->skip_depth > 0;
        if (top->flat)
            cut(p, i, end, was_skipping || name_is(name, n_name, dropped_tags) ? NULL
                           : name_is(name, n_name, block_tags) ? "<br>" : NULL);
        p->n_stack--;
        if (p->skip_depth && p->n_stack + 1 == p->skip_depth)
            p->skip_depth = 0;
    } else if (p->skip_depth) {
        cut(p, i, end, NULL);
    }
    return end;
}

int html_prep(rag_buf *out, const char *data, size_t n_bytes, const html_prep_opts *o,
              html_prep_stats *st)
{
    prep p;
    size_t i = 0;

    memset(st, 0, sizeof *st);
    memset(&p, 0, sizeof p);
    p.data = data;
    p.n = n_bytes;
    p.o = o;
    p.st = st;
    p.out = out;
    while (i < n_bytes && p.rc == RAG_OK) {
        const char *lt = memchr(data + i, '<', n_bytes - i);
        size_t rest;
        if (!lt) {
            if (p.skip_depth)
                cut(&p, i, n_bytes, NULL);
            break;
        }
        if (p.skip_depth && (size_t)(lt - data) > i)
            cut(&p, i, (size_t)(lt - data), NULL);   /* text of a dropped element */
        i = (size_t)(lt - data);
        rest = n_bytes - i;
        if (rest >= 4 && memcmp(lt, "<!--", 4) == 0) {
            size_t e = comment_end(&p, i + 4);
            if (p.skip_depth)
                cut(&p, i, e, NULL);
            i = e;
        } else if (rest >= 3 && lt[1] == '/' && name_len(lt + 2, rest - 2)) {
            i = end_tag(&p, i);
        } else if (rest >= 2 && name_len(lt + 1, rest - 1)) {
            i = start_tag(&p, i);
        } else {
            if (p.skip_depth)
                cut(&p, i, i + 1, NULL);
            i++;
        }
    }
    rag_free(p.stack);
    if (p.rc == RAG_OK && p.active)
        p.rc = rag_buf_append(out, data + p.flushed, n_bytes - p.flushed);
    if (p.rc < 0)
        return p.rc;
    return p.active;
}
