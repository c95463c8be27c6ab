/* cmd_rerank.c - docrag rerank (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_rerank(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'rerank' is not built yet\n");
    return 1;
}
