/* cmd_stats.c - docrag stats (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_stats(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'stats' is not built yet\n");
    return 1;
}
