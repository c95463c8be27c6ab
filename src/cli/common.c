/* common.c - flags shared by every subcommand and error printing. */
#include "cli.h"

#include "docrag.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const rag_err *err)
{
    fprintf(stderr, "docrag: %s\n", err->msg[0] ? err->msg : rag_status_name(err->code));
    return 1;
}

const char *cli_name(char buf[CLI_NAME_BYTES], const char *s)
{
    docrag_visible(buf, CLI_NAME_BYTES, s);
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
    c->src.sets = c->sets;
    for (int i = 1; i < *argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (!strcmp(a, "--db"))
            slot = &c->db;
        else if (!strcmp(a, "--config"))
            slot = &c->src.config_path;
        else if (!strcmp(a, "--profile"))
            slot = &c->src.profile;
        else if (!strcmp(a, "-q")) {
            rag_log_set_level(RAG_LOG_ERROR);
            c->verbosity_set = 1;
            continue;
        } else if (!strcmp(a, "-v")) {
            rag_log_set_level(RAG_LOG_DEBUG);
            c->verbosity_set = 1;
            continue;
        } else if (!strcmp(a, "--set")) {
            if (i + 1 >= *argc || c->src.n_sets >= 32) {
                fprintf(stderr, "docrag: --set needs KEY=VALUE\n");
                return 2;
            }
            c->sets[c->src.n_sets++] = argv[++i];
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

int cli_load_config(rag_config **out, cli_common *c)
{
    rag_err err = {0};
    int rc = rag_config_load(out, &c->src, &err);
    if (rc < 0)
        return cli_error(&err);
    if (!c->verbosity_set && (*out)->log_level) {
        static const char *const names[] = {"debug", "info", "warn", "error"};
        for (int i = 0; i < 4; i++)
            if (!strcmp((*out)->log_level, names[i]))
                rag_log_set_level((rag_log_level)i);
    }
    if (c->db) {
        char *db = rag_strdup(c->db);
        if (!db) {
            rag_config_destroy(*out);
            *out = NULL;
            fprintf(stderr, "docrag: out of memory\n");
            return 1;
        }
        rag_free((*out)->db_path);
        (*out)->db_path = db;
    }
    return 0;
}

int cli_open_index(rag_index **out, const rag_config *cfg, int read_only)
{
    rag_err err = {0};
    if (rag_index_open(out, cfg->db_path, read_only ? RAG_INDEX_READ_ONLY : 0, &err) < 0)
        return cli_error(&err);
    return 0;
}

char *cli_join_args(int argc, char **argv, int from)
{
    rag_buf b = RAG_BUF_INIT;
    for (int i = from; i < argc; i++) {
        if ((i > from && rag_buf_putc(&b, ' ') < 0) || rag_buf_puts(&b, argv[i]) < 0) {
            rag_buf_fini(&b);
            return NULL;
        }
    }
    return rag_buf_take(&b);
}

int cli_search_mode(const char *name, rag_search_mode *mode)
{
    int m = rag_search_mode_parse(name);
    if (m < 0) {
        fprintf(stderr, "docrag: unknown search mode '%s' (bm25, dense, hybrid)\n", name);
        return 2;
    }
    *mode = (rag_search_mode)m;
    return 0;
}
