/* cmd_ask.c - docrag ask (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_ask(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'ask' is not built yet\n");
    return 1;
}
