/* routes_ui.c - the web UI: GET / (index.html), GET /assets/NAME, and
 * /favicon.ico for browsers that ask for it without reading the page.
 *
 * The files are compiled in (web_assets.h, generated from web/ and
 * Debian's Chart.js at build time), so the binary is the whole UI: no
 * folder to install, nothing read from disk, no path from the request
 * ever reaches the file system. The routes run on the event loop with no
 * engine and no key: the page itself holds no data; it asks the API,
 * which checks the key.
 *
 * Caching: every answer carries a strong ETag (of the bytes; the gzip copy
 * has its own) and `Cache-Control: no-cache`, so a browser revalidates
 * and gets a 304 while the binary is the same, and a new build is seen at
 * once though asset URLs carry no version. gzip is sent when the client's
 * Accept-Encoding admits it (Vary: Accept-Encoding). HEAD is answered
 * like GET, without the body.
 */
#include "srv_int.h"
#include "server/http_parse.h"
#include "server/web_assets.h"

#include <string.h>

static const srv_web_asset *find_asset(const char *name)
{
    for (size_t i = 0; i < srv_web_n_assets; i++)
        if (!strcmp(srv_web_assets[i].name, name))
            return &srv_web_assets[i];
    return NULL;
}

/* 1 if an If-None-Match value names etag (weak comparison, RFC 9110
 * 13.1.2: a W/ prefix is ignored) or is "*". */
static int etag_matches(const char *header, const char *etag)
{
    size_t n_etag = strlen(etag);
    const char *p = header;
    while (p && *p) {
        const char *end;
        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        if (!strncmp(p, "W/", 2))
            p += 2;
        if (*p != '"')
            return 0;   /* malformed: never a match */
        end = strchr(p + 1, '"');
        if (!end)
            return 0;
        if ((size_t)(end + 1 - p) == n_etag && !memcmp(p, etag, n_etag))
            return 1;
        p = end + 1;
    }
    return 0;
}

/* GET, or HEAD (evhttp sends the headers only). 0, or -1 with a 405. */
static int check_method(srv_req *r)
{
    static const char *const allow[] = {"Allow: GET, HEAD", NULL};
    static const char body[] = "{\"error\":{\"code\":405,\"type\":\"method_not_allowed\","
                               "\"message\":\"method not allowed here\"}}";
    if (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))
        return 0;
    srv_reply(r, 405, "application/json", body, sizeof body - 1, allow);
    return -1;
}

static void serve(srv_req *r, const srv_web_asset *a)
{
    int gz = a->gz && rag_accepts_gzip(r->accept_encoding);
    const char *etag = gz ? a->etag_gz : a->etag;
    char h_etag[64];
    const char *hs[6];
    size_t n_h = 0;

    snprintf(h_etag, sizeof h_etag, "ETag: %s", etag);
    hs[n_h++] = h_etag;
    hs[n_h++] = "Cache-Control: no-cache";
    if (a->gz)
        hs[n_h++] = "Vary: Accept-Encoding";
    if (r->if_none_match && etag_matches(r->if_none_match, etag)) {
        hs[n_h] = NULL;
        srv_reply(r, 304, NULL, NULL, 0, hs);
        return;
    }
    if (gz)
        hs[n_h++] = "Content-Encoding: gzip";
    hs[n_h] = NULL;
    if (gz)
        srv_reply(r, 200, a->content_type, a->gz, a->n_gz, hs);
    else
        srv_reply(r, 200, a->content_type, a->data, a->n_data, hs);
}

static void index_page(srv_req *r)
{
    const srv_web_asset *a = find_asset("index.html");
    if (check_method(r) < 0)
        return;
    if (!a) {
        srv_reply_error(r, 404, "not_found", "this build has no web UI");
        return;
    }
    serve(r, a);
}

static void asset(srv_req *r)
{
    const srv_web_asset *a = find_asset(r->params[0]);
    if (check_method(r) < 0)
        return;
    /* index.html is the page at /, not an asset of its own */
    if (!a || !strcmp(a->name, "index.html")) {
        srv_reply_error(r, 404, "not_found", "no asset %.64s", r->params[0]);
        return;
    }
    serve(r, a);
}

static void favicon(srv_req *r)
{
    const srv_web_asset *a = find_asset("favicon.svg");
    if (check_method(r) < 0)
        return;
    if (!a) {
        srv_reply_error(r, 404, "not_found", "no favicon");
        return;
    }
    serve(r, a);
}

const srv_route srv_routes_ui[] = {
    /* method NULL: GET and HEAD, checked by the handler */
    {NULL, "/", SRV_ROLE_NONE, SRV_BODY_NONE, SRV_ON_LOOP | SRV_NO_ENGINE, index_page, "ui"},
    {NULL, "/assets/{name}", SRV_ROLE_NONE, SRV_BODY_NONE, SRV_ON_LOOP | SRV_NO_ENGINE, asset,
     "ui_asset"},
    {NULL, "/favicon.ico", SRV_ROLE_NONE, SRV_BODY_NONE, SRV_ON_LOOP | SRV_NO_ENGINE, favicon,
     "ui_favicon"},
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
