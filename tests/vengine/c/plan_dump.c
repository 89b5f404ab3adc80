/*
 * plan_dump.c - loads a model with the C engine and prints its plan: the
 * arena figure, the head size and the arena offset of every planned tensor
 * of each prepared subgraph ("sg tensor offset"), read from the engine's
 * internal structs (mtf_arena.h) so the C side needs no extra API.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mtf_arena.h"

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (f == NULL)
        return 2;
    static uint8_t model[4 << 20];
    size_t len = fread(model, 1, sizeof model, f);
    fclose(f);
    size_t size = 16 << 20;
    uint8_t *arena = aligned_alloc(16, size);
    mtf_model_t *m;
    mtf_error_t err;
    if (mtf_init(model, len, arena, size, &m, &err) != MTF_OK) {
        printf("error %s\n", err.message);
        return 1;
    }
    printf("used %zu head %zu\n", m->used, m->head_size);
    for (int32_t s = 0; s < m->n_subgraphs; s++) {
        const mtf_subgraph_t *sg = &m->subgraphs[s];
        if (sg->tmap == NULL)
            continue;
        for (int32_t i = 0; i < sg->n_tensors; i++) {
            uint32_t e = sg->tmap[i];
            if (e & MTF_TMAP_CONST)
                continue;
            const mtf_tensor_t *t = &sg->tensors[e];
            if ((t->flags & MTF_TENSOR_PLANNED) && t->reserved)
                printf("%d %d %ld\n", (int)s, (int)i, (long)(t->data - m->base));
        }
    }
    free(arena);
    return 0;
}
