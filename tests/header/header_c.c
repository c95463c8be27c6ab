/* header_c.c - include/docrag.h compiles alone as strict C11. */
#include "docrag.h"

#include <stdio.h>
#include <string.h>

int main(void)
{
    docrag_error err;
    memset(&err, 0, sizeof err);
    printf("docrag %s: %s\n", docrag_version(), docrag_status_name(-3));
    return strlen(docrag_version()) > 0 ? 0 : 1;
}
