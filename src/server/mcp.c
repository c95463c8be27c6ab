/* mcp.c - placeholder table until the MCP routes land. */
#include "srv.h"

const srv_route srv_routes_mcp[] = {
    {NULL, NULL, 0, 0, 0, NULL, NULL},
};
