/* cmd_config.c - docrag config (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_config(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'config' is not built yet\n");
    return 1;
}
