/* common.c - flags shared by every subcommand, opening the engine, error
 * printing and small helpers for reading the API's JSON. */
#include "cli.h"

#include "docrag.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_error(const docrag_error *err)
{
    fprintf(stderr, "docrag: %s\n", err->msg[0] ? err->msg : docrag_status_name(err->code));
    return 1;
}

const char *cli_name(char buf[CLI_NAME_BYTES], const char *s)
{
    docrag_visible(buf, CLI_NAME_BYTES, s);
    return buf;
}

const char *cli_doc_label(char buf[CLI_NAME_BYTES], const json_t *o)
{
    const char *title = cli_str(o, "title"), *version = cli_str(o, "version");
    const char *base = cli_base_name(cli_str(o, "doc"));
    char raw[CLI_NAME_BYTES];
    if (!title[0] || strcmp(title, base) == 0) {
        docrag_visible(buf, CLI_NAME_BYTES, base);
        return buf;
    }
    if (version[0] && !strstr(title, version))
        snprintf(raw, sizeof raw, "%s, version %s (%s)", title, version, base);
    else
        snprintf(raw, sizeof raw, "%s (%s)", title, base);
    docrag_visible(buf, CLI_NAME_BYTES, raw);
    return buf;
}

const char cli_common_help[] =
    "  --db FILE          the index (default: $DOCRAG_DB, db: in the config, docrag.db)\n"
    "  --config FILE      configuration file (default: $DOCRAG_CONFIG, ./docrag.yaml if\n"
    "                     it exists)\n"
    "  --profile NAME     local, hf_spaces, api or railway (default: detected, local)\n"
    "  --set KEY=VALUE    one setting, repeatable (docs/configuration.md)\n"
    "  -q                 quiet: errors only, no warnings\n"
    "  -v                 verbose: diagnostics (debug lines) on stderr\n"
    "  -h, --help         this help\n";

/* The --set values and the commands' own settings: one array per process
 * (rooted here, so it is not a leak when main returns). */
static const char **sets;
static size_t n_sets_cap;

static int sets_push(cli_common *c, const char *kv)
{
    if (c->engine.n_sets == n_sets_cap) {
        size_t cap = n_sets_cap ? 2 * n_sets_cap : 64;
        const char **p = realloc(sets, cap * sizeof *p);
        if (!p) {
            fprintf(stderr, "docrag: out of memory\n");
            return 1;
        }
        sets = p;
        n_sets_cap = cap;
    }
    sets[c->engine.n_sets++] = kv;
    c->sets = sets;
    c->engine.sets = sets;
    return 0;
}

int cli_common_parse(cli_common *c, int *argc, char **argv)
{
    static const char *const with_value[] = {"--db", "--config", "--profile", "--set"};
    int out = 1;
    memset(c, 0, sizeof *c);
    docrag_engine_opts_init(&c->engine);
    c->sets = sets;
    c->engine.sets = sets;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i], *v = NULL;
        size_t n_name = strcspn(a, "=");
        int which = -1;
        if (!strcmp(a, "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "-q")) {
            c->engine.quiet = 1;
            c->engine.verbose = 0;
            docrag_log_set_level(DOCRAG_LOG_ERROR);
            continue;
        }
        if (!strcmp(a, "-v")) {
            c->engine.verbose = 1;
            c->engine.quiet = 0;
            docrag_log_set_level(DOCRAG_LOG_DEBUG);
            continue;
        }
        for (int w = 0; w < 4; w++)
            if (strlen(with_value[w]) == n_name && !strncmp(a, with_value[w], n_name))
                which = w;
        if (which < 0) {
            argv[out++] = argv[i];
            continue;
        }
        if (a[n_name] == '=')
            v = a + n_name + 1;
        else if (i + 1 < *argc)
            v = argv[++i];
        if (!v) {
            fprintf(stderr, "docrag: %s needs a value%s\n", with_value[which],
                    which == 3 ? " (KEY=VALUE)" : "");
            return 2;
        }
        if (which == 0)
            c->engine.db_path = v;
        else if (which == 1)
            c->engine.config_path = v;
        else if (which == 2)
            c->engine.profile = v;
        else if (!strchr(v, '=') || v[0] == '=') {
            char nb[CLI_NAME_BYTES];
            fprintf(stderr, "docrag: --set '%s': expected KEY=VALUE\n", cli_name(nb, v));
            return 2;
        } else if (sets_push(c, v))
            return 1;
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int cli_common_set(cli_common *c, const char *kv)
{
    return sets_push(c, kv);
}

int cli_open(docrag_engine **e, docrag_session **s, cli_common *c)
{
    docrag_error err;
    *e = NULL;
    if (s)
        *s = NULL;
    if (docrag_engine_open(e, &c->engine, &err) < 0)
        return cli_error(&err);
    if (c->engine.verbose) {   /* -v: what this run works on */
        docrag_server_config sc;
        char nb[CLI_NAME_BYTES];
        docrag_engine_server_config(*e, &sc);
        fprintf(stderr, "docrag: debug: profile %s, config %s, database %s\n",
                sc.profile ? sc.profile : "?",
                c->engine.config_path ? c->engine.config_path : "(default)",
                cli_name(nb, docrag_engine_db_path(*e)));
    }
    if (s && docrag_session_open(s, *e, &err) < 0) {
        docrag_engine_close(*e);
        *e = NULL;
        return cli_error(&err);
    }
    return 0;
}

int cli_doc_check(docrag_session *s, const cli_help *h, const char *glob)
{
    docrag_error err;
    char *out = NULL, nb[CLI_NAME_BYTES], gb[CLI_NAME_BYTES];
    json_t *o, *docs, *d;
    size_t i;
    int found = 0;

    if (docrag_documents(s, &out, &err) < 0)
        return cli_error(&err);
    o = cli_json(out);
    docrag_free(out);
    if (!o)
        return 1;
    docs = json_object_get(o, "documents");
    json_array_foreach(docs, i, d) {
        const char *path = cli_str(d, "path");
        if (!fnmatch(glob, path, 0) || !fnmatch(glob, cli_base_name(path), 0)) {
            found = 1;
            break;
        }
    }
    if (!found) {
        fprintf(stderr, "docrag: %s: --doc '%s' matches none of the %zu indexed documents",
                h->name, cli_name(gb, glob), json_array_size(docs));
        json_array_foreach(docs, i, d) {
            if (i == 5) {
                fprintf(stderr, ", ...");
                break;
            }
            fprintf(stderr, "%s%s", i ? ", " : " (",
                    cli_name(nb, cli_base_name(cli_str(d, "path"))));
        }
        fprintf(stderr, "%s\n", json_array_size(docs) ? ")" : "");
    }
    json_decref(o);
    return !found;
}

void cli_close(docrag_engine *e, docrag_session *s)
{
    docrag_session_close(s);
    docrag_engine_close(e);
}

json_t *cli_json(const char *text)
{
    json_error_t jerr;
    json_t *o = text ? json_loads(text, 0, &jerr) : NULL;
    if (!o)
        fprintf(stderr, "docrag: out of memory reading the result\n");
    return o;
}

int cli_print_json(char *text)
{
    int rc = fputs(text, stdout) < 0 || fputc('\n', stdout) == EOF;
    docrag_free(text);
    return rc || fflush(stdout) != 0;
}

const char *cli_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

long long cli_int(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

double cli_num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

char *cli_join_args(int argc, char **argv, int from)
{
    size_t n = 1;
    char *s, *p;
    for (int i = from; i < argc; i++)
        n += strlen(argv[i]) + 1;
    if (!(s = malloc(n)))
        return NULL;
    p = s;
    for (int i = from; i < argc; i++) {
        size_t len = strlen(argv[i]);
        if (i > from)
            *p++ = ' ';
        memcpy(p, argv[i], len);
        p += len;
    }
    *p = '\0';
    return s;
}

int cli_mode_known(const char *name)
{
    return !strcmp(name, "bm25") || !strcmp(name, "dense") || !strcmp(name, "hybrid");
}

const char *cli_base_name(const char *path)
{
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

size_t cli_utf8_floor(const char *s, size_t n)
{
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int cli_report(int argc, char **argv, const cli_help *h, cli_report_call call,
               void (*print_text)(const json_t *o))
{
    cli_common common;
    docrag_engine *e = NULL;
    docrag_session *s = NULL;
    docrag_error err;
    char *out = NULL, nb[CLI_NAME_BYTES];
    json_t *o = NULL;
    cli_args ar;
    int json = 0, opt, rc = 1;

    if (cli_common_parse(&common, &argc, argv))
        return 2;
    cli_args_init(&ar, h, argc, argv);
    while ((opt = cli_args_next(&ar)) != CLI_ARGS_END) {
        if (opt == 0)
            json = 1;
        else if (opt == CLI_ARGS_POS)
            return cli_bad(h, "unexpected argument '%s'", cli_name(nb, ar.value));
        else
            return cli_args_exit(opt);
    }
    common.engine.scope = DOCRAG_SCOPE_INDEX;
    common.engine.read_only = 1;
    if (cli_open(&e, &s, &common))
        return 1;
    if (call(s, &out, &err) < 0) {
        cli_error(&err);
        goto done;
    }
    if (json) {
        rc = cli_print_json(out);
        out = NULL;
    } else if ((o = cli_json(out))) {
        print_text(o);
        rc = fflush(stdout) != 0;
    }
done:
    json_decref(o);
    docrag_free(out);
    cli_close(e, s);
    return rc;
}
