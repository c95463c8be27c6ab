/* cmd_config.c - docrag config show [--json] [--no-origin]
 *
 * Prints the effective configuration (defaults < profile < file < DOCRAG_*
 * < flags) with secrets masked and, unless --no-origin, where each value
 * came from. --db is passed on as a flag so its origin shows as a flag.
 */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#define USAGE "docrag config show [--json] [--no-origin] [--config F] [--profile P] " \
              "[--set KEY=VALUE]..."

int cmd_config(int argc, char **argv)
{
    cli_common common;
    rag_config *cfg = NULL;
    rag_buf out = RAG_BUF_INIT;
    unsigned flags = RAG_CONFIG_SHOW_ORIGIN;
    char *db_set = NULL;
    int rc;

    if (cli_common_parse(&common, &argc, argv) != 0)
        return 2;
    if (argc < 2 || strcmp(argv[1], "show") != 0)
        return cli_usage(USAGE);
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            flags |= RAG_CONFIG_SHOW_JSON;
        else if (!strcmp(argv[i], "--no-origin"))
            flags &= ~(unsigned)RAG_CONFIG_SHOW_ORIGIN;
        else
            return cli_usage(USAGE);
    }
    if (common.db) {
        if (common.src.n_sets >= sizeof common.sets / sizeof common.sets[0]) {
            fprintf(stderr, "docrag: too many --set flags\n");
            return 2;
        }
        db_set = rag_asprintf("db=%s", common.db);
        if (!db_set) {
            fprintf(stderr, "docrag: out of memory\n");
            return 1;
        }
        common.sets[common.src.n_sets++] = db_set;
    }
    rc = cli_load_config(&cfg, &common);
    if (rc != 0) {
        rag_free(db_set);
        return rc;
    }
    if (rag_config_show_ex(&out, cfg, flags) < 0) {
        fprintf(stderr, "docrag: out of memory\n");
        rc = 1;
    } else {
        fwrite(out.data, 1, out.len, stdout);
        rc = fflush(stdout) == 0 ? 0 : 1;
    }
    rag_buf_fini(&out);
    rag_config_destroy(cfg);
    rag_free(db_set);
    return rc;
}
