/* cmd_index.c - docrag index (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_index(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'index' is not built yet\n");
    return 1;
}
