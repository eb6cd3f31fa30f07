/* pprof_graph.c — the two group-bys of pprof's call graph that cost the most
 * on big profiles, done in one pass each instead of numpy sorts.
 *
 * ep_group_stacks: samples with the same stack (a CSR segment of location
 * rows) get one group id, numbered by first occurrence.  An open-addressing
 * table of segment hashes finds the candidate group and the segments are then
 * compared element by element, so the grouping is exact.
 *
 * ep_graph_tally: the graph's quantities over the "slots" of the stacks (the
 * node each frame of each stack stands for, root first, stacks one after the
 * other).  Because a stack's slots are contiguous, "once per stack" needs no
 * set: a node (or a caller→callee pair) remembers the last stack it was
 * counted for.  cum adds the stack's weight once per (stack, node); an edge
 * joins consecutive kept slots of one stack with different nodes, is counted
 * once per stack with the flags of its first occurrence there (residual when
 * slots were dropped between, inline when the callee slot is an inlined
 * frame; pprof's graph.newGraph), and edges are kept in an open-addressing
 * table keyed by (caller, callee).  Sums wrap as Go's int64 does.
 *
 * ep_graph_layout lays the stacks out as those slots in the first place: each
 * location's slots (its node infos, outermost line first) copied for every
 * frame of every stack, with the stack's number beside them.
 *
 * They take plain arrays and return malloc'd ones (0 or ENOMEM); the seam in
 * csrc/py/pprof.c checks the indices and runs them with the GIL released.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ep_arrays.h"
#include "ep_pprof.h"

static uint64_t pg_mix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static size_t pg_capacity(size_t n) {
    size_t cap = 16;
    while (cap < 2 * n + 2) cap <<= 1;
    return cap;
}

int ep_group_stacks(const int64_t *off, const int32_t *rows, size_t n, int64_t *gid, int64_t **first_out,
                    size_t *n_groups) {
    size_t cap = pg_capacity(n);
    int64_t *table = malloc(cap * sizeof *table); /* group number + 1, 0 = empty */
    uint64_t *ghash = malloc((n ? n : 1) * sizeof *ghash);
    int64_t *first = malloc((n ? n : 1) * sizeof *first);
    if (!table || !ghash || !first) {
        free(table);
        free(ghash);
        free(first);
        return ENOMEM;
    }
    memset(table, 0, cap * sizeof *table);
    size_t ng = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t a = off[i], b = off[i + 1];
        uint64_t h = (uint64_t)(b - a) * 0x9E3779B97F4A7C15ULL;
        for (int64_t j = a; j < b; j++) h = (h ^ (uint32_t)rows[j]) * 0x100000001B3ULL + (h >> 29);
        h = pg_mix(h);
        size_t at = (size_t)h & (cap - 1);
        for (;;) {
            int64_t g = table[at];
            if (g == 0) {
                table[at] = (int64_t)ng + 1;
                ghash[ng] = h;
                first[ng] = (int64_t)i;
                gid[i] = (int64_t)ng++;
                break;
            }
            int64_t f = first[g - 1];
            if (ghash[g - 1] == h && off[f + 1] - off[f] == b - a &&
                memcmp(rows + off[f], rows + a, (size_t)(b - a) * sizeof *rows) == 0) {
                gid[i] = g - 1;
                break;
            }
            at = (at + 1) & (cap - 1);
        }
    }
    free(table);
    free(ghash);
    *first_out = first;
    *n_groups = ng;
    return 0;
}

void ep_graph_cum(const int32_t *node, const int32_t *stack, size_t n_slots, const int64_t *w, const int64_t *dw,
                  size_t n_nodes, int64_t *cum, int64_t *cum_div, int32_t *seen) {
    memset(cum, 0, n_nodes * sizeof *cum);
    memset(cum_div, 0, n_nodes * sizeof *cum_div);
    for (size_t k = 0; k < n_nodes; k++) seen[k] = -1;
    for (size_t s = 0; s < n_slots; s++) {
        int32_t v = node[s], st = stack[s];
        if (seen[v] == st) continue;
        seen[v] = st;
        cum[v] = (int64_t)((uint64_t)cum[v] + (uint64_t)w[st]);
        cum_div[v] = (int64_t)((uint64_t)cum_div[v] + (uint64_t)dw[st]);
    }
}

typedef struct {
    uint64_t key; /* caller * n_nodes + callee, + 1 (0 = empty) */
    int64_t w, dw;
    int32_t stack; /* the last stack it was counted for */
    uint8_t resid, inl;
} pg_edge;

static int pg_grow(pg_edge **tab, size_t *cap) {
    size_t ncap = *cap * 2;
    pg_edge *nt = calloc(ncap, sizeof *nt);
    if (!nt) return ENOMEM;
    for (size_t i = 0; i < *cap; i++) {
        if (!(*tab)[i].key) continue;
        size_t at = (size_t)pg_mix((*tab)[i].key) & (ncap - 1);
        while (nt[at].key) at = (at + 1) & (ncap - 1);
        nt[at] = (*tab)[i];
    }
    free(*tab);
    *tab = nt;
    *cap = ncap;
    return 0;
}

int ep_graph_edges(const int32_t *node, const int32_t *stack, const uint8_t *inline_, size_t n_slots,
                   const uint8_t *keep, const int64_t *w, const int64_t *dw, size_t n_nodes, ep_graph_edge_list *out) {
    memset(out, 0, sizeof *out);
    size_t cap = 1024, used = 0;
    pg_edge *tab = calloc(cap, sizeof *tab);
    if (!tab) return ENOMEM;
    int32_t cur = -1, parent = -1;
    int resid = 0;
    for (size_t s = 0; s < n_slots; s++) {
        int32_t v = node[s], st = stack[s];
        if (st != cur) {
            cur = st;
            parent = -1;
            resid = 0;
        }
        if (keep && !keep[v]) {
            resid = 1;
            continue;
        }
        if (parent >= 0 && parent != v) {
            uint64_t key = (uint64_t)parent * n_nodes + (uint64_t)v + 1;
            size_t at = (size_t)pg_mix(key) & (cap - 1);
            while (tab[at].key && tab[at].key != key) at = (at + 1) & (cap - 1);
            pg_edge *e = &tab[at];
            if (!e->key) {
                e->key = key;
                e->stack = st;
                e->w = w[st];
                e->dw = dw[st];
                e->resid = (uint8_t)resid;
                e->inl = inline_[s] != 0;
                if (++used * 2 > cap && pg_grow(&tab, &cap)) {
                    free(tab);
                    return ENOMEM;
                }
            } else if (e->stack != st) {
                e->stack = st;
                e->w = (int64_t)((uint64_t)e->w + (uint64_t)w[st]);
                e->dw = (int64_t)((uint64_t)e->dw + (uint64_t)dw[st]);
                e->resid |= (uint8_t)resid;
                e->inl &= inline_[s] != 0;
            }
        }
        parent = v;
        resid = 0;
    }
    size_t m = used ? used : 1;
    out->caller = malloc(m * sizeof *out->caller);
    out->callee = malloc(m * sizeof *out->callee);
    out->w = malloc(m * sizeof *out->w);
    out->dw = malloc(m * sizeof *out->dw);
    out->residual = malloc(m);
    out->inline_ = malloc(m);
    if (!out->caller || !out->callee || !out->w || !out->dw || !out->residual || !out->inline_) {
        free(tab);
        ep_graph_edges_free(out);
        return ENOMEM;
    }
    size_t j = 0;
    for (size_t i = 0; i < cap; i++) {
        if (!tab[i].key) continue;
        uint64_t k = tab[i].key - 1;
        out->caller[j] = (int64_t)(k / n_nodes);
        out->callee[j] = (int64_t)(k % n_nodes);
        out->w[j] = tab[i].w;
        out->dw[j] = tab[i].dw;
        out->residual[j] = tab[i].resid;
        out->inline_[j] = tab[i].inl;
        j++;
    }
    out->n = used;
    free(tab);
    return 0;
}

void ep_graph_edges_free(ep_graph_edge_list *e) {
    EP_FREE_ALL(e->caller, e->callee, e->w, e->dw, e->residual, e->inline_);
    memset(e, 0, sizeof *e);
}

int ep_graph_layout(const int64_t *slot_off, const int32_t *slot_info, const uint8_t *slot_inline, const int64_t *lens,
                    size_t n_stacks, const int32_t *rows, ep_graph_slots *out) {
    memset(out, 0, sizeof *out);
    size_t total = 0, n_rows = 0;
    for (size_t st = 0; st < n_stacks; st++) n_rows += (size_t)lens[st];
    for (size_t j = 0; j < n_rows; j++) total += (size_t)(slot_off[rows[j] + 1] - slot_off[rows[j]]);
    size_t m = total ? total : 1;
    out->node = malloc(m * sizeof *out->node);
    out->stack = malloc(m * sizeof *out->stack);
    out->inline_ = malloc(m);
    out->per_stack = malloc((n_stacks ? n_stacks : 1) * sizeof *out->per_stack);
    if (!out->node || !out->stack || !out->inline_ || !out->per_stack) {
        ep_graph_slots_free(out);
        return ENOMEM;
    }
    size_t k = 0, j = 0;
    for (size_t st = 0; st < n_stacks; st++) {
        size_t k0 = k;
        for (int64_t r = 0; r < lens[st]; r++, j++) {
            for (int64_t s = slot_off[rows[j]]; s < slot_off[rows[j] + 1]; s++, k++) {
                out->node[k] = slot_info[s];
                out->inline_[k] = slot_inline[s];
                out->stack[k] = (int32_t)st;
            }
        }
        out->per_stack[st] = (int64_t)(k - k0);
    }
    out->n = total;
    return 0;
}

void ep_graph_slots_free(ep_graph_slots *s) {
    EP_FREE_ALL(s->node, s->stack, s->inline_, s->per_stack);
    memset(s, 0, sizeof *s);
}
