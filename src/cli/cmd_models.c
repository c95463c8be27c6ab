/* cmd_models.c - docrag models (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_models(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'models' is not built yet\n");
    return 1;
}
