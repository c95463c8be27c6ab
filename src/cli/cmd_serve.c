/* cmd_serve.c - docrag serve (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_serve(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'serve' is not built yet\n");
    return 1;
}
