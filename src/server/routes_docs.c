/* routes_docs.c - documents, pages, chunks, uploads and ingestion jobs.
 *
 * An upload (multipart/form-data with one or more `file` fields, or a raw
 * body with ?filename=) is checked, de-duplicated by sha256 (a file whose
 * content is already indexed is reported as a duplicate with its id and
 * not ingested again), saved whole into the collection's upload folder
 * and queued as one job; the answer is 202 {"job_id","documents":[...]}.
 * Ingestion runs in the background (jobs.c) while searches go on.
 *
 * The original bytes are served from the stored path with Range support;
 * paths never come from the request, only from the index, so there is no
 * path to traverse.
 *
 * Cited pages: /pages/{n}.png renders a PDF page (docrag_page_png) with
 * the `highlight` chunk's characters tinted, the boxes also in the
 * X-Highlight-Boxes header; any other kind of document answers 415
 * pointing at /pages/{n}?highlight=, whose JSON carries the page text and
 * the chunk's offsets in it (docrag_page_highlight). The .png pattern
 * comes first in the table: "{n}" alone also matches "3.png".
 */
#include "jobs.h"
#include "srv_int.h"
#include "server/http_parse.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static srv_coll *coll_of(srv_req *r)
{
    srv_coll *c = srv_collection(r, srv_query(r, "collection"));
    if (c && !srv_session(r, c))
        return NULL;
    return c;
}

static void list_documents(srv_req *r)
{
    docrag_error err;
    char *out = NULL;
    if (!coll_of(r))
        return;
    if (docrag_documents(r->session, &out, &err) != 0) {
        srv_reply_docrag_error(r, &err);
        return;
    }
    {
        /* the stored path is the server's business */
        json_t *o = json_loads(out, 0, NULL), *d;
        size_t i;
        docrag_free(out);
        json_array_foreach(json_object_get(o, "documents"), i, d)
            json_object_del(d, "path");
        srv_reply_json(r, 200, o);
    }
}

static void get_document(srv_req *r)
{
    int64_t id = srv_param_id(r, 0, "document id");
    docrag_error err;
    char *out = NULL;
    if (!id || !coll_of(r))
        return;
    if (docrag_document(r->session, id, &out, &err) != 0) {
        srv_reply_docrag_error(r, &err);
        return;
    }
    {
        json_t *o = json_loads(out, 0, NULL);
        docrag_free(out);
        json_object_del(o, "path");
        srv_reply_json(r, 200, o);
    }
}

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    if (!dot)
        return "application/octet-stream";
    if (!strcasecmp(dot, ".pdf"))
        return "application/pdf";
    if (!strcasecmp(dot, ".md") || !strcasecmp(dot, ".markdown"))
        return "text/markdown; charset=utf-8";
    if (!strcasecmp(dot, ".html") || !strcasecmp(dot, ".htm"))
        return "text/plain; charset=utf-8";   /* never rendered as a page of ours */
    if (!strcasecmp(dot, ".txt"))
        return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

/* The file behind document id on this replica, into *out (rag_free): its
 * recorded path; or, when that cannot be read here and the collection's
 * PostgreSQL store holds an upload job for the document's bytes (another
 * replica ran it and wrote the file into its own upload folder), this
 * replica's own copy, made on first use from the bytes the job keeps
 * (upload_dir/SHA16/NAME, as the replica that ran it wrote it). The bytes are used only when their SHA-256 is the document's
 * and their name is the recorded file's. 0, or -1 with *out NULL (the
 * document's error answered); a file that is nowhere is the caller's 410. */
static int local_file(srv_req *r, srv_coll *c, int64_t id, char **out)
{
    docrag_error err;
    docrag_job jb;
    char *path = NULL, *doc = NULL, *copy = NULL, key[80], name[RAG_FILENAME_MAX + 1];
    char sha[65], stored[24], why[256];
    const char *base, *want;
    const unsigned char *data;
    size_t n_data;
    json_t *o = NULL;

    *out = NULL;
    if (docrag_document_path(r->session, id, &path, &err) != 0) {
        srv_reply_docrag_error(r, &err);
        return -1;
    }
    *out = rag_strdup(path);
    docrag_free(path);
    if (!*out) {
        srv_reply_error(r, 500, "server_error", "out of memory");
        return -1;
    }
    if (access(*out, R_OK) == 0 || !docrag_engine_shared_jobs(c->engine) || !c->upload_dir[0])
        return 0;
    base = strrchr(*out, '/');
    base = base ? base + 1 : *out;
    if (docrag_document(r->session, id, &doc, &err) != 0 || !(o = json_loads(doc, 0, NULL)) ||
        !(want = json_string_value(json_object_get(o, "sha256"))) || strlen(want) != 64)
        goto done;
    /* made before, by an earlier request */
    copy = rag_asprintf("%s/%.16s/%s", c->upload_dir, want, base);
    if (copy && access(copy, R_OK) == 0)
        goto use;
    rag_free(copy);
    copy = NULL;
    snprintf(key, sizeof key, "upload:%s", want);
    if (docrag_job_by_key(c->engine, key, &jb, &err) != 0)
        goto done;
    if (srv_jobs_payload_parse(jb.payload, jb.n_payload, name, sizeof name, sha, &data,
                               &n_data, why, sizeof why) == 0 &&
        !strcmp(sha, want) && !strcmp(name, base)) {
        snprintf(stored, sizeof stored, "%.16s", sha);
        if (srv_save_upload(c->upload_dir, stored, name, data, n_data, &copy, why,
                            sizeof why) == 0)
            rag_log(RAG_LOG_INFO, "request %s: document %lld: this replica's copy of the "
                    "upload from the store (%zu bytes)", r->id, (long long)id, n_data);
        else
            rag_log(RAG_LOG_WARN, "request %s: document %lld: no copy of the upload: %s",
                    r->id, (long long)id, why);
    }
    docrag_job_fini(&jb);
    if (!copy)
        goto done;
use:
    rag_free(*out);
    *out = copy;
done:
    json_decref(o);
    docrag_free(doc);
    return 0;
}

static void get_file(srv_req *r)
{
    int64_t id = srv_param_id(r, 0, "document id");
    char *path = NULL, *buf = NULL;
    srv_coll *c;
    struct stat sb;
    int fd = -1;
    int64_t lo = 0, hi = 0, n;
    int status = 200;
    char h_range[96], h_disp[300];
    const char *hdrs[5] = {"Accept-Ranges: bytes", NULL, NULL, NULL, NULL};
    size_t n_h = 1;

    if (!id || !(c = coll_of(r)) || local_file(r, c, id, &path) < 0)
        return;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        srv_reply_error(r, 410, "gone", "the original file of document %lld is no longer "
                        "available", (long long)id);
        goto done;
    }
    hi = sb.st_size;
    if (r->range) {
        rag_range rg;
        rag_err rerr = {0};
        if (rag_range_parse(&rg, r->range, (uint64_t)sb.st_size, &rerr) < 0)
            rg.kind = RAG_RANGE_NONE;   /* malformed: ignored (RFC 9110 14.2) */
        if (rg.kind == RAG_RANGE_UNSATISFIABLE) {
            char h[64];
            const char *hs[2] = {h, NULL};
            snprintf(h, sizeof h, "Content-Range: bytes */%lld", (long long)sb.st_size);
            static const char body[] =
                "{\"error\":{\"code\":416,\"type\":\"range_not_satisfiable\","
                "\"message\":\"the range lies outside the file\"}}";
            srv_reply(r, 416, "application/json", body, sizeof body - 1, hs);
            goto done;
        }
        if (rg.kind == RAG_RANGE_SINGLE) {
            lo = (int64_t)rg.first;
            hi = (int64_t)rg.last + 1;
            status = 206;
            snprintf(h_range, sizeof h_range, "Content-Range: bytes %lld-%lld/%lld",
                     (long long)lo, (long long)hi - 1, (long long)sb.st_size);
            hdrs[n_h++] = h_range;
        }
        /* none, several or malformed ranges: the whole file */
    }
    {
        const char *base = strrchr(path, '/');
        char safe[256];
        if (rag_safe_filename(safe, sizeof safe, base ? base + 1 : path, NULL) < 0 ||
            strchr(safe, '"'))
            snprintf(safe, sizeof safe, "document-%lld", (long long)id);
        snprintf(h_disp, sizeof h_disp, "Content-Disposition: inline; filename=\"%s\"", safe);
        hdrs[n_h++] = h_disp;
    }
    n = hi - lo;
    if (n > r->s->info.cfg.max_upload * 4 && n > (int64_t)1 << 30) {
        srv_reply_error(r, 413, "too_large", "file too large to serve");
        goto done;
    }
    buf = rag_malloc(n > 0 ? (size_t)n : 1);
    if (!buf || pread(fd, buf, (size_t)n, lo) != (ssize_t)n) {
        srv_reply_error(r, 500, "server_error", "cannot read the original file");
        goto done;
    }
    srv_reply(r, status, mime_of(path), buf, (size_t)n, hdrs);
done:
    if (fd >= 0)
        close(fd);
    rag_free(buf);
    rag_free(path);
}

/* Every query parameter is one of `allowed` (NULL-terminated), else 422
 * naming it: a typo ("scal=2") never silently gives another image. */
static int only_params(srv_req *r, const char *const *allowed)
{
    for (size_t i = 0; r->q && i < rag_query_count(r->q); i++) {
        const char *k, *v;
        size_t j;
        rag_query_at(r->q, i, &k, &v);
        for (j = 0; allowed[j] && strcmp(allowed[j], k); j++)
            ;
        if (!allowed[j]) {
            srv_reply_error(r, 422, "invalid_request", "unknown query parameter '%.40s'", k);
            return 0;
        }
    }
    return 1;
}

/* ?highlight=CHUNK_ID: 0 when absent, -1 after answering 422. */
static int64_t highlight_param(srv_req *r)
{
    const char *v = srv_query(r, "highlight");
    int64_t id;
    if (!v)
        return 0;
    if (!(id = srv_text_id(v))) {   /* 123 or "123" */
        srv_reply_error(r, 422, "invalid_request", "'highlight' must be a chunk id");
        return -1;
    }
    return id;
}

/* The page number of /pages/{n}[.png]: 0 after answering. */
static int page_param(srv_req *r)
{
    int64_t page = srv_param_id(r, 1, "page");
    if (!page)
        return 0;
    if (page > 1000000) {
        srv_reply_error(r, 404, "not_found", "no such page");
        return 0;
    }
    return (int)page;
}

static void get_page(srv_req *r)
{
    static const char *const params[] = {"highlight", "collection", NULL};
    int64_t id = srv_param_id(r, 0, "document id"), chunk;
    int page;
    docrag_error err;
    char *out = NULL;
    if (!id || !(page = page_param(r)) || !only_params(r, params) ||
        (chunk = highlight_param(r)) < 0 || !coll_of(r))
        return;
    if (docrag_page_highlight(r->session, id, page, chunk, &out, &err) != 0) {
        srv_reply_docrag_error(r, &err);
        return;
    }
    {
        json_t *o = json_loads(out, 0, NULL);
        const char *doc;
        docrag_free(out);
        /* the base name, as results show it, not the server's path */
        doc = json_string_value(json_object_get(o, "doc"));
        if (doc && strrchr(doc, '/'))
            json_object_set_new(o, "doc", json_string(strrchr(doc, '/') + 1));
        srv_reply_json(r, 200, o);
    }
}

/* ?scale=S (default 1.5): 0 after answering 422. Bounds as the API's. */
static double scale_param(srv_req *r)
{
    const char *v = srv_query(r, "scale");
    char *end = NULL;
    double x;
    if (!v)
        return 1.5;
    errno = 0;
    x = strtod(v, &end);
    if (!*v || *end || errno || !(x >= 0.25 && x <= 4)) {
        srv_reply_error(r, 422, "invalid_request", "'scale' must be a number from 0.25 to 4");
        return 0;
    }
    return x;
}

/* The kind of document id ("pdf", ...) into kind: 0, or -1 after answering. */
static int doc_kind(srv_req *r, int64_t id, char *kind, size_t n_kind)
{
    docrag_error err;
    char *out = NULL;
    json_t *o;
    if (docrag_document(r->session, id, &out, &err) != 0) {
        srv_reply_docrag_error(r, &err);
        return -1;
    }
    o = json_loads(out, 0, NULL);
    docrag_free(out);
    snprintf(kind, n_kind, "%s", o ? json_string_value(json_object_get(o, "kind")) : "");
    json_decref(o);
    return 0;
}

static void get_page_png(srv_req *r)
{
    static const char *const params[] = {"highlight", "scale", "collection", NULL};
    int64_t id = srv_param_id(r, 0, "document id");
    docrag_page_image_opts o;
    docrag_error err;
    unsigned char *png = NULL;
    size_t n_png = 0;
    char kind[32], *info = NULL, *path = NULL, h_boxes[4096];
    const char *hdrs[3] = {"Cache-Control: private, max-age=300", NULL, NULL};
    srv_coll *c;
    int page, rc;

    docrag_page_image_opts_init(&o);
    if (!id || !(page = page_param(r)) || !only_params(r, params) ||
        (o.highlight_chunk = highlight_param(r)) < 0 || !(o.scale = scale_param(r)) ||
        !(c = coll_of(r)) || doc_kind(r, id, kind, sizeof kind) < 0)
        return;
    if (strcmp(kind, "pdf") != 0) {
        char link[160];
        const char *hs[2] = {link, NULL};
        json_t *e = json_pack("{s:{s:i,s:s,s:s}}", "error", "code", 415, "type",
                              "unsupported_media_type", "message",
                              "this document is not a PDF: it has no page images; "
                              "GET /v1/documents/{id}/pages/{n}?highlight=CHUNK_ID gives the "
                              "page text with the passage's offsets");
        char *t = e ? json_dumps(e, JSON_COMPACT) : NULL;
        char hl[40] = "";
        if (o.highlight_chunk)
            snprintf(hl, sizeof hl, "?highlight=%lld", (long long)o.highlight_chunk);
        snprintf(link, sizeof link, "Link: </v1/documents/%lld/pages/%d%s>; "
                 "rel=\"alternate\"; type=\"application/json\"", (long long)id, page, hl);
        json_decref(e);
        if (t)
            srv_reply(r, 415, "application/json", t, strlen(t), hs);
        else
            srv_reply_error(r, 500, "server_error", "out of memory");
        free(t);
        return;
    }
    /* as /file says of a file that is gone */
    if (local_file(r, c, id, &path) < 0)
        return;
    if (access(path, R_OK) != 0) {
        rag_free(path);
        srv_reply_error(r, 410, "gone", "the original file of document %lld is no longer "
                        "available", (long long)id);
        return;
    }
    o.file = path;   /* this replica's copy of an upload another one ran */
    rc = docrag_page_png(r->session, id, page, &o, &png, &n_png, &info, &err);
    rag_free(path);
    if (rc != 0) {
        if (err.code == DOCRAG_EFORMAT)   /* the file no longer matches the index */
            srv_reply_error(r, 409, "conflict", "%s", err.msg);
        else if (err.code == DOCRAG_ELIMIT)   /* the pixel cap: a smaller scale will do */
            srv_reply_error(r, 422, "invalid_request", "%s", err.msg);
        else
            srv_reply_docrag_error(r, &err);
        return;
    }
    if (o.highlight_chunk) {
        /* the boxes for a client that fetches the image (an <img> cannot
         * read headers: the JSON page route has the text offsets) */
        json_t *io = json_loads(info, 0, NULL);
        char *t = io ? json_dumps(json_object_get(io, "boxes"), JSON_COMPACT) : NULL;
        if (t && strlen(t) + 32 < sizeof h_boxes) {
            snprintf(h_boxes, sizeof h_boxes, "X-Highlight-Boxes: %s", t);
            hdrs[1] = h_boxes;
        }
        free(t);
        json_decref(io);
    }
    srv_reply(r, 200, "image/png", png, n_png, hdrs);
    docrag_free(info);
    docrag_free(png);
}

static void get_chunk(srv_req *r)
{
    int64_t id = srv_param_id(r, 0, "chunk id");
    docrag_error err;
    char *out = NULL;
    if (!id || !coll_of(r))
        return;
    docrag_session_set_output(r->session, DOCRAG_OUT_PUBLIC);
    if (docrag_chunk(r->session, id, &out, &err) != 0)
        srv_reply_docrag_error(r, &err);
    else
        srv_reply_json_text(r, 200, out);
    docrag_free(out);
}

/* 1 if path lies inside dir (both made absolute). */
static int inside(const char *path, const char *dir)
{
    char *d = realpath(dir, NULL);
    size_t n = d ? strlen(d) : 0;
    int in = d && !strncmp(path, d, n) && path[n] == '/';
    free(d);
    return in;
}

/* A write's error: the PostgreSQL store unreachable is a 503 naming its
 * endpoint (reads go on from the local copy; try again later), anything
 * else as usual. */
static void reply_write_error(srv_req *r, srv_coll *c, const docrag_error *err)
{
    docrag_store_state st;
    docrag_engine_store_state(c->engine, &st);
    if (!strcmp(st.backend, "postgres") && (err->code == DOCRAG_EIO || !st.reachable)) {
        char msg[sizeof err->msg + sizeof st.endpoint + 64];
        rag_log(RAG_LOG_WARN, "request %s: %s", r->id, err->msg);
        if (strstr(err->msg, st.endpoint))
            snprintf(msg, sizeof msg, "%s", err->msg);
        else
            snprintf(msg, sizeof msg, "%s: the store cannot be reached (%s); try again later",
                     st.endpoint, err->msg);
        srv_reply_error_retry(r, 503, "store_unavailable", 5, msg);
        return;
    }
    srv_reply_docrag_error(r, err);
}

static void delete_document(srv_req *r)
{
    int64_t id = srv_param_id(r, 0, "document id");
    srv_coll *c;
    docrag_error err;
    char *path = NULL;
    if (!id || !(c = coll_of(r)))
        return;
    if (docrag_document_path(r->session, id, &path, &err) != 0 ||
        docrag_document_delete(r->session, id, &err) != 0) {
        docrag_free(path);
        reply_write_error(r, c, &err);
        return;
    }
    /* an uploaded file is ours to remove (with its hash folder); a file
     * indexed from the user's own folders is left alone */
    if (inside(path, c->upload_dir) && unlink(path) == 0) {
        char *slash = strrchr(path, '/');
        if (slash) {
            *slash = '\0';
            rmdir(path);
        }
    }
    docrag_free(path);
    srv_reply_json(r, 200, json_pack("{s:I,s:b}", "id", (json_int_t)id, "deleted", 1));
}

/* ---- uploads ------------------------------------------------------------------ */

/* mkdir -p for the upload folder and one level below it. */
static int make_dir(const char *dir)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return 0;
    if (errno == ENOENT) {
        char *parent = rag_strdup(dir), *slash = parent ? strrchr(parent, '/') : NULL;
        int rc = -1;
        if (slash && slash != parent) {
            *slash = '\0';
            if (mkdir(parent, 0755) == 0 || errno == EEXIST)
                rc = mkdir(dir, 0755) == 0 || errno == EEXIST ? 0 : -1;
        }
        rag_free(parent);
        return rc;
    }
    return -1;
}

/* Write data to dir/sub/name whole: a temporary file, fsync, rename; the
 * absolute path (as the indexer stores it) into *out_path. sub is the
 * content hash's prefix, so two different files may share a name and the
 * document keeps its own name as its title. */
int srv_save_upload(const char *dir, const char *sub, const char *name, const void *data,
                    size_t n, char **out_path, char *why, size_t n_why)
{
    char *folder = rag_asprintf("%s/%s", dir, sub);
    char *tmp = rag_asprintf("%s/%s/.upload-%s.tmp", dir, sub, name);
    char *path = rag_asprintf("%s/%s/%s", dir, sub, name);
    char *abs = NULL;
    int fd = -1, ok = 0;

    if (!folder || !tmp || !path) {
        snprintf(why, n_why, "out of memory");
        goto done;
    }
    if (make_dir(dir) < 0 || make_dir(folder) < 0) {
        snprintf(why, n_why, "cannot create the upload folder");
        rag_log(RAG_LOG_ERROR, "%s: %s", folder, strerror(errno));
        goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(why, n_why, "cannot store the file");
        rag_log(RAG_LOG_ERROR, "%s: %s", tmp, strerror(errno));
        goto done;
    }
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, (const char *)data + off, n - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            snprintf(why, n_why, errno == ENOSPC ? "no space left to store the file"
                                                 : "cannot store the file");
            goto done;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        fd = -1;
        snprintf(why, n_why, "cannot store the file");
        goto done;
    }
    fd = -1;
    if (rename(tmp, path) != 0 || !(abs = realpath(path, NULL))) {
        snprintf(why, n_why, "cannot store the file");
        goto done;
    }
    ok = 1;
    *out_path = rag_strdup(abs);
    if (!*out_path) {
        ok = 0;
        snprintf(why, n_why, "out of memory");
    }
done:
    if (fd >= 0)
        close(fd);
    if (!ok && tmp)
        unlink(tmp);
    free(abs);
    rag_free(folder);
    rag_free(tmp);
    rag_free(path);
    return ok ? 0 : -1;
}

typedef struct {
    const char *name;
    const void *data;
    size_t n;
} upload_file;

static void upload(srv_req *r)
{
    srv_coll *c = coll_of(r);
    upload_file files[64];
    size_t n_files = 0, n_paths = 0;
    rag_multipart *mp = NULL;
    json_t *docs = NULL;
    char **paths = NULL;
    char job_id[40] = "";
    docrag_error err;
    rag_err perr = {0};
    int shared, n_shared = 0;

    if (!c)
        return;
    shared = docrag_engine_shared_jobs(c->engine);
    if (!r->n_body) {
        srv_reply_error(r, 400, "invalid_request", "the upload is empty");
        return;
    }
    if (r->content_type && !strncasecmp(r->content_type, "multipart/form-data", 19)) {
        char boundary[RAG_MULTIPART_BOUNDARY_MAX + 1];
        if (rag_multipart_boundary(boundary, r->content_type, &perr) < 0 ||
            rag_multipart_parse(&mp, r->body, r->n_body, boundary, NULL, &perr) < 0) {
            srv_reply_error(r, perr.code == RAG_ELIMIT ? 413 : 400, "invalid_request", "%s",
                            perr.msg);
            return;
        }
        for (size_t i = 0; i < mp->n_parts; i++) {
            const rag_multipart_part *p = &mp->parts[i];
            if (strcmp(p->name, "file"))
                continue;
            if (n_files == sizeof files / sizeof files[0]) {
                srv_reply_error(r, 413, "too_large", "at most 64 files per upload");
                goto done;
            }
            if (!p->filename || !p->filename[0]) {
                srv_reply_error(r, 422, "invalid_request",
                                "file field %zu has no filename", n_files + 1);
                goto done;
            }
            files[n_files++] = (upload_file){p->filename, p->data, p->n_data};
        }
        if (!n_files) {
            srv_reply_error(r, 422, "invalid_request",
                            "no 'file' field in the multipart upload");
            goto done;
        }
    } else {
        const char *name = srv_query(r, "filename");
        if (!name || !*name) {
            srv_reply_error(r, 422, "invalid_request",
                            "send multipart/form-data with 'file' fields, or a raw body "
                            "with ?filename=NAME");
            return;
        }
        files[n_files++] = (upload_file){name, r->body, r->n_body};
    }
    docs = json_array();
    paths = rag_calloc(n_files, sizeof *paths);
    if (!docs || !paths) {
        srv_reply_error(r, 503, "overloaded", "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n_files; i++) {
        char sha[65], safe[RAG_FILENAME_MAX + 1], stored[24], why[128] = "";
        int64_t existing = 0;
        int dup;
        json_t *d;
        if (rag_safe_filename(safe, sizeof safe, files[i].name, &perr) < 0) {
            srv_reply_error(r, 422, "invalid_request", "file %zu: %s", i + 1, perr.msg);
            goto done;
        }
        rag_sha256_hex(files[i].data, files[i].n, sha);
        dup = docrag_document_by_sha(r->session, sha, &existing, &err);
        /* the same content twice in one upload is one document */
        for (size_t k = 0; !dup && k < json_array_size(docs); k++)
            if (!strcmp(json_string_value(json_object_get(json_array_get(docs, k), "sha256")),
                        sha))
                dup = 2;
        d = json_pack("{s:s,s:s,s:I}", "name", safe, "sha256", sha, "bytes",
                      (json_int_t)files[i].n);
        if (!d) {
            srv_reply_error(r, 503, "overloaded", "out of memory");
            goto done;
        }
        if (dup < 0) {
            json_decref(d);
            srv_reply_docrag_error(r, &err);
            goto done;
        }
        if (dup) {
            json_object_set_new(d, "duplicate", json_true());
            json_object_set_new(d, "status", json_string(dup == 1 ? "indexed" : "duplicate"));
            if (dup == 1)
                json_object_set_new(d, "id", json_integer(existing));
            json_array_append_new(docs, d);
            continue;
        }
        if (shared) {
            /* the bytes go into the job: any replica may run it */
            unsigned char *pl = NULL;
            size_t n_pl = 0;
            int64_t jid = 0;
            int created = 0;
            char key[80];
            if (srv_jobs_payload(&pl, &n_pl, safe, sha, files[i].data, files[i].n) < 0) {
                json_decref(d);
                srv_reply_error(r, 503, "overloaded", "out of memory");
                goto done;
            }
            snprintf(key, sizeof key, "upload:%s", sha);
            if (docrag_job_enqueue(c->engine, key, pl, n_pl, &jid, &created, &err) != 0) {
                rag_free(pl);
                json_decref(d);
                reply_write_error(r, c, &err);
                goto done;
            }
            rag_free(pl);
            snprintf(stored, sizeof stored, "pg_%lld", (long long)jid);
            json_object_set_new(d, "status", json_string("queued"));
            json_object_set_new(d, "job_id", json_string(stored));
            if (!n_shared++)
                snprintf(job_id, sizeof job_id, "%s", stored);
            json_array_append_new(docs, d);
            continue;
        }
        snprintf(stored, sizeof stored, "%.16s", sha);
        if (srv_save_upload(c->upload_dir, stored, safe, files[i].data, files[i].n, &paths[n_paths],
                       why, sizeof why) < 0) {
            json_decref(d);
            srv_reply_error(r, 507, "insufficient_storage", "file %s: %s", safe, why);
            goto done;
        }
        json_object_set_new(d, "status", json_string("queued"));
        json_object_set_new(d, "path", json_string(paths[n_paths]));
        n_paths++;
        json_array_append_new(docs, d);
    }
    {
        /* The answer's copy is made before the job exists: once queued, the
         * ingest thread updates docs (ids, status, no paths) under the jobs
         * lock, so this thread must not read it any more (a deep copy after
         * the submit raced with that and read freed strings). */
        json_t *out_docs = json_deep_copy(docs), *d;
        size_t i;
        int rc;
        char loc[80];
        const char *hs[2] = {loc, NULL};
        json_t *o;
        char *t;

        if (!out_docs) {
            srv_reply_error(r, 503, "overloaded", "out of memory");
            goto done;
        }
        json_array_foreach(out_docs, i, d)
            json_object_del(d, "path");
        /* shared jobs (PostgreSQL): the first file's job answers for the
         * upload, each document names its own */
        rc = n_shared ? 0 : srv_jobs_submit(srv_get_jobs(r->s), c, paths, n_paths, docs,
                                             job_id, &err);
        if (n_shared)
            json_decref(docs);
        docs = NULL;   /* stolen, even on failure */
        if (rc != 0) {
            json_decref(out_docs);
            srv_reply_error_retry(r, 503, "overloaded", 5, err.msg);
            goto done;
        }
        if (!n_shared) {
            paths = NULL;   /* the job owns them */
            n_paths = 0;
        }
        o = json_pack("{s:s,s:s,s:o}", "job_id", job_id, "status", "queued", "documents",
                      out_docs);
        t = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        snprintf(loc, sizeof loc, "Location: /v1/jobs/%s", job_id);
        if (t)
            srv_reply(r, 202, "application/json", t, strlen(t), hs);
        else
            srv_reply_error(r, 503, "overloaded", "out of memory");
        free(t);
    }
done:
    for (size_t i = 0; paths && i < n_paths; i++)
        rag_free(paths[i]);
    rag_free(paths);
    json_decref(docs);
    rag_multipart_destroy(mp);
}

/* A shared job's {"id","status","attempts","collection"}: its state is in
 * the collection's store, whichever replica took it. NULL: answered (404,
 * or 503 while the store cannot be reached). */
static json_t *shared_job(srv_req *r, srv_coll **out)
{
    srv_coll *c = srv_collection(r, srv_query(r, "collection"));
    docrag_error err;
    json_t *o;
    if (!c)
        return NULL;
    if (!docrag_engine_shared_jobs(c->engine)) {
        srv_reply_error(r, 404, "not_found", "no job %.40s", r->params[0]);
        return NULL;
    }
    if (!(o = srv_jobs_shared_get(c, r->params[0], &err)))
        reply_write_error(r, c, &err);
    *out = c;
    return o;
}

static void get_job(srv_req *r)
{
    srv_coll *c;
    json_t *o;
    if (!strncmp(r->params[0], "pg_", 3)) {
        if ((o = shared_job(r, &c)))
            srv_reply_json(r, 200, o);
        return;
    }
    o = srv_jobs_get(srv_get_jobs(r->s), r->params[0]);
    if (!o) {
        srv_reply_error(r, 404, "not_found", "no job %.40s", r->params[0]);
        return;
    }
    srv_reply_json(r, 200, o);
}

static void job_events(srv_req *r)
{
    srv_coll *c;
    json_t *o;
    if (!strncmp(r->params[0], "pg_", 3)) {
        /* followed through the store, from any replica */
        if ((o = shared_job(r, &c)))
            srv_jobs_shared_follow(c, r->params[0], o, r);
        return;
    }
    if (srv_jobs_follow(srv_get_jobs(r->s), r->params[0], r) < 0)
        srv_reply_error(r, 404, "not_found", "no job %.40s", r->params[0]);
}

const srv_route srv_routes_docs[] = {
    {"GET", "/v1/documents", SRV_ROLE_READ, SRV_BODY_NONE, 0, list_documents, "documents"},
    {"POST", "/v1/documents", SRV_ROLE_ADMIN, SRV_BODY_UPLOAD, 0, upload, "upload"},
    {"GET", "/v1/documents/{id}", SRV_ROLE_READ, SRV_BODY_NONE, 0, get_document, "document"},
    {"DELETE", "/v1/documents/{id}", SRV_ROLE_ADMIN, SRV_BODY_NONE, 0, delete_document,
     "delete_document"},
    {"GET", "/v1/documents/{id}/file", SRV_ROLE_READ, SRV_BODY_NONE, 0, get_file, "file"},
    /* before "{n}", which also matches "3.png" */
    {"GET", "/v1/documents/{id}/pages/{n}.png", SRV_ROLE_READ, SRV_BODY_NONE, 0, get_page_png,
     "page_png"},
    {"GET", "/v1/documents/{id}/pages/{n}", SRV_ROLE_READ, SRV_BODY_NONE, 0, get_page, "page"},
    {"GET", "/v1/chunks/{id}", SRV_ROLE_READ, SRV_BODY_NONE, 0, get_chunk, "chunk"},
    {"GET", "/v1/jobs/{id}", SRV_ROLE_READ, SRV_BODY_NONE, 0, get_job, "job"},
    {"GET", "/v1/jobs/{id}/events", SRV_ROLE_READ, SRV_BODY_NONE, 0, job_events, "job_events"},
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
