/* routes_tei.c - placeholder table until the tei-compatible routes land. */
#include "srv.h"

const srv_route srv_routes_tei[] = {
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
