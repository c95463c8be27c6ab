/* web_embed.c - build tool: turn the web UI's files into a C table.
 *
 *   web_embed --out FILE.c [--max-bytes N] NAME=PATH...
 *
 * Writes FILE.c defining srv_web_assets[] / srv_web_n_assets
 * (src/server/web_assets.h): for each NAME (served as /assets/NAME) its
 * bytes, its content type (from NAME's extension; an unknown extension is
 * an error, so nothing is ever served as a guess), a gzip copy made here
 * with zlib at level 9 (kept only when smaller; the gzip header carries no
 * name and mtime 0, so the output is reproducible) and a strong ETag (FNV-1a
 * 64 of the bytes). Every array ends with a NUL byte that is not counted,
 * so text assets are C strings too.
 *
 * --max-bytes is the UI's size budget: the build fails when the files add
 * up to more (uncompressed), naming each file's size.
 *
 * Runs at build time only (CMake add_custom_command); it prints one line
 * of totals on stdout and every error on stderr, exit status 1.
 */
#include <zlib.h>

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ASSETS 64

typedef struct {
    const char *name;
    const char *path;
    const char *content_type;
    unsigned char *data;
    size_t n_data;
    unsigned char *gz;
    size_t n_gz;
    uint64_t hash;
} asset;

static const struct {
    const char *ext;
    const char *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".json", "application/json"},
    {".svg", "image/svg+xml"},
    {".ico", "image/x-icon"},
    {".png", "image/png"},
    {".txt", "text/plain; charset=utf-8"},
};

static const char *type_of(const char *name)
{
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return NULL;
}

static int read_file(const char *path, unsigned char **out, size_t *n_out)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t n = 0, cap = 0;
    if (!f) {
        fprintf(stderr, "web_embed: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        size_t got;
        if (n + 65536 + 1 > cap) {
            unsigned char *nb = realloc(buf, cap = (n + 65536 + 1) * 2);
            if (!nb) {
                fprintf(stderr, "web_embed: out of memory\n");
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        fprintf(stderr, "web_embed: %s: read error\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    *n_out = n;
    return 0;
}

/* gzip (RFC 1952) of data at level 9; header: no name, mtime 0, OS 3. */
static int gzip(const unsigned char *data, size_t n, unsigned char **out, size_t *n_out)
{
    z_stream z;
    size_t cap = compressBound((uLong)n) + 64;
    unsigned char *buf = malloc(cap + 1);
    gz_header h;
    int rc;
    if (!buf)
        return -1;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        free(buf);
        return -1;
    }
    memset(&h, 0, sizeof h);
    h.os = 3;
    deflateSetHeader(&z, &h);
    z.next_in = (unsigned char *)data;
    z.avail_in = (uInt)n;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    rc = deflate(&z, Z_FINISH);
    *n_out = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -1;
    }
    buf[*n_out] = '\0';
    *out = buf;
    return 0;
}

static uint64_t fnv1a64(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

static void write_bytes(FILE *f, const char *var, const unsigned char *p, size_t n)
{
    fprintf(f, "static const unsigned char %s[%zu] = {", var, n + 1);
    for (size_t i = 0; i <= n; i++)
        fprintf(f, "%s%u,", i % 24 ? "" : "\n", i < n ? p[i] : 0u);
    fprintf(f, "\n};\n");
}

/* A C string literal of s (names and types are plain ASCII; checked). */
static int is_plain(const char *s)
{
    for (; *s; s++)
        if (*s < 0x20 || *s > 0x7e || *s == '"' || *s == '\\')
            return 0;
    return 1;
}

int main(int argc, char **argv)
{
    asset a[MAX_ASSETS];
    size_t n_assets = 0, total = 0, total_gz = 0;
    long long max_bytes = 0;
    const char *out_path = NULL;
    FILE *f;

    for (int i = 1; i < argc; i++) {
        char *eq;
        if (!strcmp(argv[i], "--out") && i + 1 < argc) {
            out_path = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--max-bytes") && i + 1 < argc) {
            max_bytes = strtoll(argv[++i], NULL, 10);
            continue;
        }
        eq = strchr(argv[i], '=');
        if (!eq || eq == argv[i] || !eq[1]) {
            fprintf(stderr, "usage: web_embed --out FILE.c [--max-bytes N] NAME=PATH...\n");
            return 1;
        }
        if (n_assets == MAX_ASSETS) {
            fprintf(stderr, "web_embed: more than %d assets\n", MAX_ASSETS);
            return 1;
        }
        *eq = '\0';
        a[n_assets] = (asset){.name = argv[i], .path = eq + 1};
        if (!is_plain(a[n_assets].name) || strchr(a[n_assets].name, '/')) {
            fprintf(stderr, "web_embed: bad asset name '%s'\n", a[n_assets].name);
            return 1;
        }
        for (size_t k = 0; k < n_assets; k++)
            if (!strcmp(a[k].name, a[n_assets].name)) {
                fprintf(stderr, "web_embed: asset '%s' given twice\n", a[k].name);
                return 1;
            }
        if (!(a[n_assets].content_type = type_of(a[n_assets].name))) {
            fprintf(stderr, "web_embed: %s: no content type for this extension\n",
                    a[n_assets].name);
            return 1;
        }
        n_assets++;
    }
    if (!out_path || !n_assets) {
        fprintf(stderr, "usage: web_embed --out FILE.c [--max-bytes N] NAME=PATH...\n");
        return 1;
    }
    for (size_t i = 0; i < n_assets; i++) {
        if (read_file(a[i].path, &a[i].data, &a[i].n_data) < 0)
            return 1;
        if (gzip(a[i].data, a[i].n_data, &a[i].gz, &a[i].n_gz) < 0) {
            fprintf(stderr, "web_embed: %s: gzip failed\n", a[i].path);
            return 1;
        }
        if (a[i].n_gz >= a[i].n_data) {   /* not worth it */
            free(a[i].gz);
            a[i].gz = NULL;
            a[i].n_gz = 0;
        }
        a[i].hash = fnv1a64(a[i].data, a[i].n_data);
        total += a[i].n_data;
        total_gz += a[i].n_gz ? a[i].n_gz : a[i].n_data;
    }
    if (max_bytes > 0 && (long long)total > max_bytes) {
        fprintf(stderr, "web_embed: the web UI's assets are %zu bytes, over the budget of %lld:\n",
                total, max_bytes);
        for (size_t i = 0; i < n_assets; i++)
            fprintf(stderr, "  %8zu  %s\n", a[i].n_data, a[i].name);
        return 1;
    }

    f = fopen(out_path, "w");
    if (!f) {
        fprintf(stderr, "web_embed: %s: %s\n", out_path, strerror(errno));
        return 1;
    }
    fprintf(f, "/* Generated by tools/web_embed from web/ and Debian's Chart.js: do not edit. */\n"
               "#include \"server/web_assets.h\"\n\n");
    for (size_t i = 0; i < n_assets; i++) {
        char var[32];
        snprintf(var, sizeof var, "data_%zu", i);
        write_bytes(f, var, a[i].data, a[i].n_data);
        if (a[i].n_gz) {
            snprintf(var, sizeof var, "gz_%zu", i);
            write_bytes(f, var, a[i].gz, a[i].n_gz);
        }
    }
    fprintf(f, "\nconst srv_web_asset srv_web_assets[] = {\n");
    for (size_t i = 0; i < n_assets; i++) {
        fprintf(f, "    {\"%s\", \"%s\", data_%zu, %zu, ", a[i].name, a[i].content_type, i,
                a[i].n_data);
        if (a[i].n_gz)
            fprintf(f, "gz_%zu, %zu, ", i, a[i].n_gz);
        else
            fprintf(f, "0, 0, ");
        fprintf(f, "\"\\\"%016" PRIx64 "\\\"\", \"\\\"%016" PRIx64 "-gz\\\"\"},\n", a[i].hash,
                a[i].hash);
    }
    fprintf(f, "};\nconst size_t srv_web_n_assets = %zu;\nconst size_t srv_web_total_bytes = %zu;\n",
            n_assets, total);
    if (fclose(f) != 0) {
        fprintf(stderr, "web_embed: %s: write error\n", out_path);
        return 1;
    }
    printf("web_embed: %zu assets, %zu bytes (%zu as served with gzip), budget %lld\n", n_assets,
           total, total_gz, max_bytes);
    for (size_t i = 0; i < n_assets; i++) {
        free(a[i].data);
        free(a[i].gz);
    }
    return 0;
}
