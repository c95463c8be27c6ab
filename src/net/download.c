/* download.c - fetch model files from the Hugging Face Hub.
 *
 * URL: {endpoint}/{model_id}/resolve/{revision}/{file}. The Hub answers small
 * files directly (ETag = git blob sha1) and redirects LFS files to a CDN,
 * putting the file's sha256 in X-Linked-Etag and its size in X-Linked-Size on
 * the redirect. We follow redirects (libcurl drops our Authorization header
 * when the host changes), write to FILE.part, resume an interrupted transfer
 * with "Range: bytes=N-", check the size (Content-Range total, else
 * Content-Length, else X-Linked-Size) and the sha256 when one is known, and
 * only then rename FILE.part to FILE. So a FILE that exists is complete, and
 * a second pull skips it without touching the network.
 */
#include "net.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

rag_hub_opts rag_hub_default_opts(void)
{
    rag_hub_opts o;
    memset(&o, 0, sizeof o);
    o.revision = "main";
    o.connect_timeout_ms = 10000;
    o.idle_timeout_ms = 30000;
    o.max_attempts = 5;
    o.deadline_ms = 1800000;
    o.max_retry_after_ms = 30000;
    return o;
}

typedef struct {
    FILE *f;
    const char *file;
    const rag_hub_opts *opts;
    int64_t offset;          /* bytes already in .part when the try began */
    int64_t written;         /* bytes written this try */
    long status;             /* status of the response being read */
    int decided;             /* first body byte seen */
    int sink_ok;             /* body goes to the file */
    int truncate_first;      /* server ignored Range: restart the file */
    char linked_etag[80];
    int64_t linked_size;
    char etag[80];
    int64_t content_length;
    int64_t range_total;
    char retry_after[64];
    rag_buf errbody;
    CURL *h;
    int write_failed;
    int64_t limit;           /* 0 = not yet known, -1 = none announced */
    int too_long;            /* more bytes than announced: discard */
    int64_t cap;             /* the file kind's size cap, 0 = none */
    int too_big;             /* announced or sent more than cap */
} dl_state;

static void header_value(const char *buf, size_t n, char *out, size_t n_out)
{
    const char *v = memchr(buf, ':', n);
    size_t k = 0;
    if (!v) {
        out[0] = '\0';
        return;
    }
    v++;
    while (v < buf + n && (*v == ' ' || *v == '\t'))
        v++;
    while (v < buf + n && *v != '\r' && *v != '\n' && k + 1 < n_out)
        out[k++] = *v++;
    out[k] = '\0';
}

static size_t dl_header(char *buf, size_t size, size_t nitems, void *ud)
{
    dl_state *s = ud;
    size_t n = size * nitems;
    char v[128];

    if (n >= 5 && !strncmp(buf, "HTTP/", 5)) {
        /* a new response (after a redirect): per-response fields reset; the
         * X-Linked-* of the redirect stay */
        const char *sp = memchr(buf, ' ', n);
        s->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        s->etag[0] = '\0';
        s->content_length = -1;
        s->range_total = -1;
        s->retry_after[0] = '\0';
        return n;
    }
    if (!strncasecmp(buf, "x-linked-etag:", 14)) {
        header_value(buf, n, s->linked_etag, sizeof s->linked_etag);
    } else if (!strncasecmp(buf, "x-linked-size:", 14)) {
        header_value(buf, n, v, sizeof v);
        s->linked_size = strtoll(v, NULL, 10);
    } else if (!strncasecmp(buf, "etag:", 5)) {
        header_value(buf, n, s->etag, sizeof s->etag);
    } else if (!strncasecmp(buf, "content-length:", 15)) {
        header_value(buf, n, v, sizeof v);
        s->content_length = strtoll(v, NULL, 10);
    } else if (!strncasecmp(buf, "content-range:", 14)) {
        char *slash;
        header_value(buf, n, v, sizeof v);
        slash = strrchr(v, '/');
        if (slash && slash[1] != '*')
            s->range_total = strtoll(slash + 1, NULL, 10);
    } else if (!strncasecmp(buf, "retry-after:", 12)) {
        header_value(buf, n, s->retry_after, sizeof s->retry_after);
    }
    return n;
}

static size_t dl_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
    dl_state *s = ud;
    size_t n = size * nmemb;

    if (!s->decided) {
        s->decided = 1;
        s->sink_ok = s->status == 200 || s->status == 206;
        s->truncate_first = s->status == 200 && s->offset > 0;
        if (s->truncate_first) {
            if (fflush(s->f) != 0 || ftruncate(fileno(s->f), 0) != 0 ||
                fseek(s->f, 0, SEEK_SET) != 0) {
                s->write_failed = 1;
                return 0;
            }
            s->offset = 0;
        }
    }
    if (s->sink_ok && !s->limit) {
        /* never accept more than the server announced */
        if (s->range_total >= 0)
            s->limit = s->range_total;
        else if (s->content_length >= 0)
            s->limit = (s->status == 206 ? s->offset : 0) + s->content_length;
        else if (s->linked_size >= 0)
            s->limit = s->linked_size;
        else
            s->limit = -1;
    }
    if (s->sink_ok && s->cap > 0 &&
        (s->limit > s->cap || s->offset + s->written + (int64_t)n > s->cap)) {
        /* a 100 MB "config.json" is refused at its first bytes */
        s->too_big = 1;
        return 0;
    }
    if (s->sink_ok && s->limit > 0 && s->offset + s->written + (int64_t)n > s->limit) {
        s->too_long = 1;
        return 0;
    }
    if (!s->sink_ok) {
        if (s->errbody.len < 2048)
            rag_buf_append(&s->errbody, ptr, n < 2048 ? n : 2048);
        return n;
    }
    if (fwrite(ptr, 1, n, s->f) != n) {
        s->write_failed = 1;
        return 0;
    }
    s->written += (int64_t)n;
    return n;
}

static int dl_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow)
{
    dl_state *s = ud;
    (void)ultotal;
    (void)ulnow;
    if (s->opts->progress && s->sink_ok)
        s->opts->progress(s->file, s->offset + (int64_t)dlnow,
                          dltotal > 0 ? s->offset + (int64_t)dltotal : -1,
                          s->opts->userdata);
    return 0;
}

/* sha256 from an ETag-ish value, or "" if it is not one. */
static void etag_sha256(const char *etag, char out[65])
{
    const char *p = etag;
    size_t n = 0;
    out[0] = '\0';
    if (!strncmp(p, "W/", 2))
        p += 2;
    if (*p == '"')
        p++;
    while (isxdigit((unsigned char)p[n]))
        n++;
    if (n != 64 || (p[n] != '"' && p[n] != '\0'))
        return;
    for (size_t i = 0; i < 64; i++)
        out[i] = (char)tolower((unsigned char)p[i]);
    out[64] = '\0';
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int valid_ref(const char *s, int allow_slash)
{
    if (!s || !*s || s[0] == '/' || s[0] == '.' || strstr(s, ".."))
        return 0;
    for (const char *p = s; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.' ||
              (allow_slash && *p == '/')))
            return 0;
    return 1;
}

static void sleep_ms(const rag_hub_opts *o, double ms)
{
    struct timespec ts;
    if (ms <= 0)
        return;
    if (o->clock.sleep_ms) {
        o->clock.sleep_ms(o->clock.userdata, ms);
        return;
    }
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)fmod(ms * 1e6, 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double hub_now(const rag_hub_opts *o)
{
    return o->clock.now_ms ? o->clock.now_ms(o->clock.userdata) : rag_now_ms();
}

static int hub_fail(const char *token, rag_err *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int hub_fail(const char *token, rag_err *err, int code, const char *fmt, ...)
{
    char msg[512];
    const char *secrets[] = {token, NULL};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rag_net_redact(msg, token && *token ? secrets : NULL);
    return rag_fail(err, code, "%s", msg);
}

/* Append to err->msg (cut to fit). */
static void err_suffix(rag_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void err_suffix(rag_err *err, const char *fmt, ...)
{
    size_t n;
    va_list ap;
    if (!err)
        return;
    n = strlen(err->msg);
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - n, fmt, ap);
    va_end(ap);
}

static const char *hub_token(const rag_hub_opts *o)
{
    const char *t = o->token ? o->token : getenv("HF_TOKEN");
    return t && *t ? t : NULL;
}

/* rag_hub_download_file with the deadline counted from t0 (hub_now time;
 * < 0 = now): rag_hub_pull gives every file the pull's start. */
static int download(const char *model_id, const char *file, const char *dest_path,
                    const rag_hub_opts *opts_in, double t0, int64_t *bytes_out, rag_err *err)
{
    rag_hub_opts opts = opts_in ? *opts_in : rag_hub_default_opts();
    const char *base = opts.endpoint ? opts.endpoint : getenv("HF_ENDPOINT");
    const char *rev = opts.revision ? opts.revision : "main";
    const char *token = hub_token(&opts);
    char *url = NULL, *part = NULL, *auth = NULL;
    int rc = RAG_OK, attempt;
    int max_attempts = opts.max_attempts > 0 ? opts.max_attempts : 5;
    int64_t total_bytes = 0;

    if (bytes_out)
        *bytes_out = 0;
    if (t0 < 0)
        t0 = hub_now(&opts);
    if (!base || !*base)
        base = "https://huggingface.co";
    if (!valid_ref(model_id, 1) || !valid_ref(file, 1) || !valid_ref(rev, 0))
        return rag_fail(err, RAG_EINVAL, "hub: invalid model id, file or revision "
                        "(\"%s\", \"%s\", \"%s\")", model_id, file, rev);
    if (token && strstr(token, "${"))
        return rag_fail(err, RAG_EINVAL, "hub: HF_TOKEN looks like an unexpanded "
                        "variable; refusing to send it");
    if ((rc = rag_net_global_init(err)) < 0)
        return rc;
    url = rag_asprintf("%.*s/%s/resolve/%s/%s", (int)(strlen(base) - (base[strlen(base) - 1] == '/')),
                       base, model_id, rev, file);
    part = rag_asprintf("%s.part", dest_path);
    auth = token ? rag_asprintf("Authorization: Bearer %s", token) : NULL;
    if (!url || !part || (token && !auth)) {
        rc = rag_fail(err, RAG_ENOMEM, "out of memory");
        goto done;
    }

    for (attempt = 1;; attempt++) {
        dl_state s;
        CURL *h;
        CURLcode cc;
        struct curl_slist *hd = NULL;
        char range[64];
        int64_t have, expect = -1;
        int retry = 0, by_deadline = 0;
        double hint = -1, left = -1;
        long total_ms = 0;

        if (opts.deadline_ms > 0) {
            left = opts.deadline_ms - (hub_now(&opts) - t0);
            if (left <= 0) {
                rc = hub_fail(token, err, RAG_EBACKEND, "hub: %s/%s: the deadline of %.0f s "
                              "passed%s%s", model_id, file, opts.deadline_ms / 1000.0,
                              attempt > 1 ? "; last: " : "", attempt > 1 && err ? err->msg : "");
                goto done;
            }
            total_ms = left < 1 ? 1 : (long)left;
        }
        memset(&s, 0, sizeof s);
        s.file = file;
        s.opts = &opts;
        s.cap = rag_hub_file_cap(file);
        s.linked_size = -1;
        s.content_length = -1;
        s.range_total = -1;
        s.f = fopen(part, "ab");
        if (!s.f) {
            rc = rag_fail(err, RAG_EIO, "%s: %s", part, strerror(errno));
            goto done;
        }
        have = file_size(part);
        s.offset = have > 0 ? have : 0;
        h = curl_easy_init();
        if (auth)
            hd = curl_slist_append(hd, auth);
        if (s.offset > 0) {
            snprintf(range, sizeof range, "Range: bytes=%lld-", (long long)s.offset);
            hd = curl_slist_append(hd, range);
        }
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_VERBOSE, 0L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         total_ms > 0 && total_ms < opts.connect_timeout_ms
                             ? total_ms : opts.connect_timeout_ms);
        if (total_ms > 0) /* this attempt never outlives the deadline */
            curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME,
                         (long)((opts.idle_timeout_ms + 999) / 1000));
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, dl_header);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &s);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, dl_write);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
        curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, dl_progress);
        curl_easy_setopt(h, CURLOPT_XFERINFODATA, &s);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "docrag/0.1");
        s.h = h;
        {
            double a0 = hub_now(&opts);
            cc = curl_easy_perform(h);
            by_deadline = cc == CURLE_OPERATION_TIMEDOUT && total_ms > 0 &&
                          hub_now(&opts) - a0 >= (double)total_ms - 50;
        }
        curl_easy_cleanup(h);
        curl_slist_free_all(hd);
        if (fclose(s.f) != 0 && cc == CURLE_OK)
            s.write_failed = 1;
        total_bytes += s.written;
        have = file_size(part);

        if (s.write_failed) {
            rag_buf_fini(&s.errbody);
            rc = rag_fail(err, RAG_EIO, "%s: write failed: %s", part, strerror(errno));
            goto done;
        }
        if (s.too_big) {
            rag_buf_fini(&s.errbody);
            unlink(part);
            rc = hub_fail(token, err, RAG_ELIMIT, "hub: %s/%s: %lld bytes%s, more than the "
                          "%lld a %s may have; not stored", model_id, file,
                          (long long)(s.limit > 0 ? s.limit : s.offset + s.written),
                          s.limit > 0 ? " announced" : " or more", (long long)s.cap, file);
            goto done;
        }
        if (s.too_long) {
            unlink(part);
            retry = 1;
            rc = hub_fail(token, err, RAG_EFORMAT,
                          "hub: %s/%s: server sent more bytes than announced (%lld)",
                          model_id, file, (long long)s.limit);
        } else if (by_deadline) {
            rc = hub_fail(token, err, RAG_EBACKEND, "hub: %s: the deadline of %.0f s passed "
                          "during the transfer (%lld bytes so far)", url,
                          opts.deadline_ms / 1000.0, (long long)have);
            goto done;
        } else if (cc == CURLE_OPERATION_TIMEDOUT) {
            retry = 1;
            rc = hub_fail(token, err, RAG_EBACKEND, "hub: %s: nothing received for %ld s "
                          "(%lld bytes so far)", url, (opts.idle_timeout_ms + 999) / 1000,
                          (long long)have);
        } else if (cc != CURLE_OK) {
            retry = 1;
            rc = hub_fail(token, err, RAG_EBACKEND, "hub: %s: %s (%lld bytes so far)",
                          url, curl_easy_strerror(cc), (long long)have);
        } else if (s.status == 416 && s.offset > 0 &&
                   (s.range_total < 0 || s.range_total == s.offset)) {
            expect = s.range_total >= 0 ? s.range_total : s.linked_size; /* complete */
        } else if (s.status == 200 || s.status == 206) {
            if (s.range_total >= 0)
                expect = s.range_total;
            else if (s.content_length >= 0)
                expect = (s.status == 206 ? s.offset : 0) + s.content_length;
            else
                expect = s.linked_size;
        } else if (s.status == 404) {
            rag_buf_fini(&s.errbody);
            rc = hub_fail(token, err, RAG_ENOTFOUND, "hub: %s: %s not found at revision %s",
                          model_id, file, rev);
            unlink(part);
            goto done;
        } else if (s.status == 401 || s.status == 403) {
            rag_buf_fini(&s.errbody);
            rc = hub_fail(token, err, RAG_EBACKEND,
                          "hub: %s: HTTP %ld for %s (%s)", model_id, s.status, file,
                          token ? "token rejected or no access to a gated model"
                                : "gated or private model: set HF_TOKEN");
            goto done;
        } else {
            retry = rag_net_status_retryable(s.status);
            if (s.retry_after[0])
                hint = rag_net_parse_retry_after(s.retry_after, (double)time(NULL));
            char ex[121];
            const char *secrets[] = {token, NULL};
            /* the body's message, redacted, then cut: never verbatim */
            rag_net_excerpt(ex, sizeof ex, s.errbody.data, s.errbody.len,
                            token ? secrets : NULL);
            rc = hub_fail(token, err, RAG_EBACKEND, "hub: %s: HTTP %ld%s%s", url, s.status,
                          ex[0] ? ": " : "", ex);
        }
        rag_buf_fini(&s.errbody);

        if (!retry) {
            char want[65], got[65];
            if (expect >= 0 && have != expect) {
                retry = 1;
                rc = hub_fail(token, err, RAG_EFORMAT,
                              "hub: %s/%s: got %lld bytes, expected %lld", model_id,
                              file, (long long)have, (long long)expect);
            } else {
                etag_sha256(s.linked_etag, want);
                if (!want[0])
                    etag_sha256(s.etag, want);
                if (want[0]) {
                    if ((rc = rag_sha256_file(part, got, err)) < 0)
                        goto done;
                    if (strcmp(want, got) != 0) {
                        unlink(part); /* corrupt: resuming would keep the bad bytes */
                        retry = 1;
                        rc = hub_fail(token, err, RAG_EFORMAT,
                                      "hub: %s/%s: sha256 mismatch (expected %.12s…, got %.12s…)",
                                      model_id, file, want, got);
                    }
                }
                if (!retry && (rc = rag_hub_check_file(file, part, err)) < 0) {
                    /* complete but not what the file must be: junk is not
                     * stored, and fetching it again would not help */
                    unlink(part);
                    rag_err_prefix(err, "hub: %s", model_id);
                    goto done;
                }
                if (!retry) {
                    if (rename(part, dest_path) != 0) {
                        rc = rag_fail(err, RAG_EIO, "%s: rename: %s", dest_path,
                                      strerror(errno));
                        goto done;
                    }
                    rc = RAG_OK;
                    goto done;
                }
            }
        }
        if (attempt >= max_attempts) {
            rag_err_prefix(err, "after %d attempts", attempt);
            goto done;
        }
        {
            double up = 250.0 * pow(2.0, attempt - 1);
            /* full jitter from a per-call hash (no global RNG state) */
            uint64_t z = (uint64_t)(rag_now_ms() * 1000.0) ^ ((uint64_t)attempt << 32) ^
                         (uint64_t)(uintptr_t)&s;
            double delay;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            z ^= z >> 31;
            double cap = opts.max_retry_after_ms > 0 ? opts.max_retry_after_ms : 30000;
            delay = hint >= 0 ? (hint < cap ? hint : cap)
                              : up * ((double)(z >> 11) / 9007199254740992.0);
            if (opts.deadline_ms > 0 && hub_now(&opts) - t0 + delay > opts.deadline_ms) {
                /* the wait would pass the deadline: fail now, not after it */
                if (hint >= 0)
                    err_suffix(err, " (the server asks to retry in %.0f s; that passes the "
                               "deadline of %.0f s; %d attempt%s)", hint / 1000.0,
                               opts.deadline_ms / 1000.0, attempt, attempt > 1 ? "s" : "");
                else
                    err_suffix(err, " (no time left for a retry within the deadline of "
                               "%.0f s; %d attempt%s)", opts.deadline_ms / 1000.0, attempt,
                               attempt > 1 ? "s" : "");
                goto done;
            }
            rag_log(RAG_LOG_WARN, "%s; retrying in %.1f s (%d/%d)", err ? err->msg : file,
                    delay / 1000.0, attempt, max_attempts - 1);
            sleep_ms(&opts, delay);
        }
    }
done:
    if (bytes_out)
        *bytes_out = total_bytes;
    if (auth) {
        memset(auth, 0, strlen(auth));
        rag_free(auth);
    }
    rag_free(url);
    rag_free(part);
    return rc;
}

int rag_hub_download_file(const char *model_id, const char *file,
                          const char *dest_path, const rag_hub_opts *opts,
                          int64_t *bytes_out, rag_err *err)
{
    return download(model_id, file, dest_path, opts, -1, bytes_out, err);
}

static int mkdirs(const char *path, rag_err *err)
{
    char *p = rag_strdup(path);
    if (!p)
        return rag_fail(err, RAG_ENOMEM, "out of memory");
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int rc = rag_fail(err, RAG_EIO, "%s: %s", p, strerror(errno));
            rag_free(p);
            return rc;
        }
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        int rc = rag_fail(err, RAG_EIO, "%s: %s", p, strerror(errno));
        rag_free(p);
        return rc;
    }
    rag_free(p);
    return RAG_OK;
}

int rag_hub_pull(const char *model_id, const char *dir, const rag_hub_opts *opts,
                 rag_hub_result *res, rag_err *err)
{
    static const struct {
        const char *file;
        int required; /* 1 required, 2 one of the tokenizer pair */
    } files[] = {
        {"config.json", 1},
        {"tokenizer.json", 2},
        {"vocab.txt", 2},
        {"tokenizer_config.json", 0},
        {"special_tokens_map.json", 0},
        {"modules.json", 0},
        {"1_Pooling/config.json", 0},
        {"sentence_bert_config.json", 0},
        {"model.safetensors", 1},
    };
    int rc, have_tokenizer = 0;
    rag_hub_result r;
    rag_hub_opts fo = opts ? *opts : rag_hub_default_opts();
    double t0 = hub_now(&fo);

    memset(&r, 0, sizeof r);
    if ((rc = mkdirs(dir, err)) < 0)
        return rc;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char *dest = rag_asprintf("%s/%s", dir, files[i].file);
        char *slash;
        int64_t got = 0;
        struct stat st;
        if (!dest)
            return rag_fail(err, RAG_ENOMEM, "out of memory");
        slash = strrchr(dest, '/');
        if (slash && slash > dest + strlen(dir)) {
            *slash = '\0';
            rc = mkdirs(dest, err);
            *slash = '/';
            if (rc < 0) {
                rag_free(dest);
                return rc;
            }
        }
        if (stat(dest, &st) == 0) {
            rag_err cerr = {0};
            /* only verified files are renamed into place; one left by an
             * older version that fails the check is fetched again */
            if (rag_hub_check_file(files[i].file, dest, &cerr) == RAG_OK) {
                r.n_files++;
                have_tokenizer |= files[i].required == 2;
                rag_free(dest);
                continue;
            }
            rag_log(RAG_LOG_WARN, "hub: %s: %s; fetching it again", model_id, cerr.msg);
        }
        /* one deadline for the whole pull, counted from its start */
        rc = download(model_id, files[i].file, dest, &fo, t0, &got, err);
        r.bytes += got;
        rag_free(dest);
        if (rc == RAG_ENOTFOUND && files[i].required != 1) {
            r.n_missing_optional++;
            continue;
        }
        if (rc < 0) {
            if (res)
                *res = r;
            return rc;
        }
        r.n_files++;
        r.n_downloaded++;
        have_tokenizer |= files[i].required == 2;
    }
    if (res)
        *res = r;
    if (!have_tokenizer)
        return rag_fail(err, RAG_ENOTFOUND,
                        "hub: %s has neither tokenizer.json nor vocab.txt", model_id);
    return RAG_OK;
}
