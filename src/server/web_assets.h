/* web_assets.h - private to src/server: the web UI's files, compiled in.
 *
 * The table is generated at build time (tools/web_embed, run by CMake over
 * the files of web/ and Debian's Chart.js) into the build folder's
 * web_assets.c; the route file routes_ui.c serves it. Everything here is
 * read-only data of static storage: any thread may read it.
 */
#ifndef RAG_SRV_WEB_ASSETS_H
#define RAG_SRV_WEB_ASSETS_H

#include <stddef.h>

typedef struct {
    const char *name;              /* "app.js": served as /assets/app.js */
    const char *content_type;      /* from the extension, with charset for text */
    const unsigned char *data;     /* n_data bytes, then a NUL (not counted) */
    size_t n_data;
    const unsigned char *gz;       /* gzip of data (level 9), or NULL when not smaller */
    size_t n_gz;
    const char *etag;              /* strong ETag, quoted: "\"0123456789abcdef\"" */
    const char *etag_gz;           /* the gzip copy's: "\"0123456789abcdef-gz\"" */
} srv_web_asset;

extern const srv_web_asset srv_web_assets[];
extern const size_t srv_web_n_assets;
extern const size_t srv_web_total_bytes;   /* sum of n_data: the UI's size */

#endif
