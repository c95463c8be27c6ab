/* cmd_embed.c - docrag embed (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_embed(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'embed' is not built yet\n");
    return 1;
}
