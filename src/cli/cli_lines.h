/* cli_lines.h - what `docrag embed` and `docrag rerank` share: stdin lines
 * and the settings that make a model folder the only member of a chain. */
#ifndef RAG_CLI_LINES_H
#define RAG_CLI_LINES_H

#include "cli.h"

#include <stddef.h>

/* Read stdin lines (without '\n' / '\r') into *out (caller frees with
 * cli_lines_free). Returns 0, or -1 when out of memory. */
int cli_read_lines(char ***out, size_t *n_out);
void cli_lines_free(char **lines, size_t n);

/* 1 if s is a model precision (f32, bf16, int8). */
int cli_precision_known(const char *s);

/* Storage for the settings cli_model_sets_add hands to the engine (must
 * live until cli_open). */
typedef struct {
    char text[6][4200];
} cli_model_sets;

/* Add settings that make folder `model` (precision and threads may be
 * NULL) a local back-end of its own and the only member of chains.<stage>
 * ("embed" or "rerank"); the other chain is emptied so that nothing else
 * is loaded. Returns 0, or 2 (printed). */
int cli_model_sets_add(cli_model_sets *ms, cli_common *c, const char *stage,
                       const char *model, const char *precision, const char *threads);

#endif
