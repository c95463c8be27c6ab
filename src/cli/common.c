/* common.c - flags shared by every subcommand, opening the engine, error
 * printing and small helpers for reading the API's JSON. */
#include "cli.h"

#include "docrag.h"

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

int cli_usage(const char *usage)
{
    fprintf(stderr, "usage: %s\n", usage);
    return 2;
}

int cli_common_parse(cli_common *c, int *argc, char **argv)
{
    int out = 1;
    memset(c, 0, sizeof *c);
    docrag_engine_opts_init(&c->engine);
    c->engine.sets = c->sets;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "--db"))
            slot = &c->engine.db_path;
        else if (!strcmp(a, "--config"))
            slot = &c->engine.config_path;
        else if (!strcmp(a, "--profile"))
            slot = &c->engine.profile;
        else if (!strcmp(a, "-q")) {
            c->engine.quiet = 1;
            c->engine.verbose = 0;
            docrag_log_set_level(DOCRAG_LOG_ERROR);
            continue;
        } else if (!strcmp(a, "-v")) {
            c->engine.verbose = 1;
            c->engine.quiet = 0;
            docrag_log_set_level(DOCRAG_LOG_DEBUG);
            continue;
        } else if (!strcmp(a, "--set")) {
            if (i + 1 >= *argc || c->engine.n_sets >= CLI_MAX_SETS) {
                fprintf(stderr, "docrag: --set needs KEY=VALUE\n");
                return 2;
            }
            c->sets[c->engine.n_sets++] = argv[++i];
            continue;
        }
        if (slot) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "docrag: %s needs a value\n", a);
                return 2;
            }
            *slot = argv[++i];
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int cli_common_set(cli_common *c, const char *kv)
{
    if (c->engine.n_sets >= sizeof c->sets / sizeof c->sets[0]) {
        fprintf(stderr, "docrag: too many --set flags\n");
        return 2;
    }
    c->sets[c->engine.n_sets++] = kv;
    return 0;
}

int cli_open(docrag_engine **e, docrag_session **s, cli_common *c)
{
    docrag_error err;
    *e = NULL;
    if (s)
        *s = NULL;
    if (docrag_engine_open(e, &c->engine, &err) < 0)
        return cli_error(&err);
    if (s && docrag_session_open(s, *e, &err) < 0) {
        docrag_engine_close(*e);
        *e = NULL;
        return cli_error(&err);
    }
    return 0;
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
