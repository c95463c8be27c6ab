/* cmd_eval.c - docrag eval (being built). */
#include "cli.h"

#include <stdio.h>

int cmd_eval(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "docrag: 'eval' is not built yet\n");
    return 1;
}
