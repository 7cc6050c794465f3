/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "timer_heap.h"

static bool before(const struct th_node *a, const struct th_node *b)
{
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void place(struct timer_heap *h, size_t i, struct th_node *node)
{
    h->v[i] = node;
    node->idx = i;
}

static void sift_up(struct timer_heap *h, size_t i)
{
    struct th_node *node = h->v[i];
    while (i > 0 && before(node, h->v[(i - 1) / 2])) {
        place(h, i, h->v[(i - 1) / 2]);
        i = (i - 1) / 2;
    }
    place(h, i, node);
}

static void sift_down(struct timer_heap *h, size_t i)
{
    struct th_node *node = h->v[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(h->v[c + 1], h->v[c]))
            c++;
        if (!before(h->v[c], node))
            break;
        place(h, i, h->v[c]);
        i = c;
    }
    place(h, i, node);
}

int th_push(struct timer_heap *h, struct th_node *node)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        struct th_node **v = realloc(h->v, cap * sizeof(*v));
        if (!v)
            return -ENOMEM;
        h->v = v;
        h->cap = cap;
    }
    node->seq = h->next_seq++;
    h->v[h->n] = node;
    sift_up(h, h->n++);
    return 0;
}

void th_remove(struct timer_heap *h, struct th_node *node)
{
    size_t i = node->idx;
    struct th_node *last = h->v[--h->n];
    if (i == h->n)
        return;
    place(h, i, last);
    if (i > 0 && before(last, h->v[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

struct th_node *th_pop(struct timer_heap *h)
{
    struct th_node *top = th_peek(h);
    if (top)
        th_remove(h, top);
    return top;
}

void th_fini(struct timer_heap *h)
{
    if (!h)
        return;
    free(h->v);
    h->v = NULL;
    h->n = h->cap = 0;
}
