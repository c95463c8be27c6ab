/* routes_openai.c - placeholder table until the openai-compatible routes land. */
#include "srv.h"

const srv_route srv_routes_openai[] = {
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
