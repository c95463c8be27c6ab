/* arena.c - bump allocator for objects that die together.
 *
 * Blocks form a singly linked list; a request larger than the block size
 * gets a block of its own, so one huge allocation never wastes a block.
 */
#include "core.h"

#include <string.h>

struct arena_block {
    struct arena_block *next;
    size_t used;
    size_t size;
    _Alignas(16) unsigned char data[];
};

struct rag_arena {
    struct arena_block *head;
    size_t block_bytes;
};

rag_arena *rag_arena_create(size_t block_bytes)
{
    rag_arena *a = rag_calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->block_bytes = block_bytes < 256 ? 256 : block_bytes;
    return a;
}

void *rag_arena_alloc(rag_arena *a, size_t n_bytes)
{
    struct arena_block *b = a->head;
    size_t need = (n_bytes + 15) & ~(size_t)15;
    size_t size, total;

    if (need < n_bytes)
        return NULL;
    if (!b || b->size - b->used < need) {
        size = need > a->block_bytes ? need : a->block_bytes;
        if (rag_size_add(sizeof *b, size, &total) < 0)
            return NULL;
        b = rag_malloc(total);
        if (!b)
            return NULL;
        b->used = 0;
        b->size = size;
        /* An oversized block goes second so the current block keeps filling. */
        if (a->head && need > a->block_bytes) {
            b->next = a->head->next;
            a->head->next = b;
        } else {
            b->next = a->head;
            a->head = b;
        }
    }
    b->used += need;
    return b->data + b->used - need;
}

char *rag_arena_strndup(rag_arena *a, const char *s, size_t n_bytes)
{
    char *d = rag_arena_alloc(a, n_bytes + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n_bytes);
    d[n_bytes] = '\0';
    return d;
}

void rag_arena_destroy(rag_arena *a)
{
    struct arena_block *b, *next;
    if (!a)
        return;
    for (b = a->head; b; b = next) {
        next = b->next;
        rag_free(b);
    }
    rag_free(a);
}
