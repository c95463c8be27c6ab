/* hash.c - SHA-256 through OpenSSL's EVP interface; FNV-1a for tables. */
#include "core.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static void to_hex(const unsigned char *md, unsigned n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (unsigned i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

void rag_sha256_hex(const void *data, size_t n_bytes, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_Digest(data, n_bytes, md, &n, EVP_sha256(), NULL);
    to_hex(md, n, hex);
}

int rag_sha256_file(const char *path, char hex[65], rag_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned char chunk[1 << 16];
    unsigned n = 0;
    size_t got;
    int rc = RAG_OK;
    FILE *f;
    EVP_MD_CTX *ctx;

    f = fopen(path, "rb");
    if (!f)
        return rag_fail(err, errno == ENOENT ? RAG_ENOTFOUND : RAG_EIO,
                        "%s: %s", path, strerror(errno));
    ctx = EVP_MD_CTX_new();
    if (!ctx) {
        fclose(f);
        return rag_fail(err, RAG_ENOMEM, "%s: out of memory hashing", path);
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        EVP_DigestUpdate(ctx, chunk, got);
    if (ferror(f))
        rc = rag_fail(err, RAG_EIO, "%s: read error", path);
    EVP_DigestFinal_ex(ctx, md, &n);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    if (rc == RAG_OK)
        to_hex(md, n, hex);
    return rc;
}

uint64_t rag_hash64(const void *data, size_t n_bytes)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n_bytes; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
