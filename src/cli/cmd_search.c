/* cmd_search.c - docrag search (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_search(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'search' is not built yet\n");
    return 1;
}
