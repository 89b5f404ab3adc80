/*
 * fuzz_main.c - standalone fuzz driver for the engine (build: make -C firmware/engine sanitize).
 *
 *   fuzz_main FILE...                      run each model as given
 *   fuzz_main -n COUNT -s SEED FILE...     run COUNT mutations of each model from SEED
 *
 * Each model runs through mtf_list_ops, mtf_arena_needed, mtf_init in an arena
 * of exactly the reported size (malloc'd, so ASan sees any byte past it),
 * mtf_init in 8 bytes less (must fail: the figure is exact), and a few
 * invokes with random inputs around a reset. The model bytes also sit in an
 * exact-size heap block at an odd address. Mutations: bit flips, byte
 * writes, aligned 32-bit overwrites with boundary values (offsets, lengths,
 * indices, counts), truncation. A sanitizer finding aborts the run
 * (-fno-sanitize-recover=all); a broken engine property prints and exits 3.
 * Prints one summary line: runs, then status=count for mtf_init's statuses.
 *
 * With -DMTF_FUZZ_PLANT_OOB the reader skips one bounds check (see
 * mtf_reader.c), to prove this harness finds such a bug.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "microtf.h"

#define WORK_SIZE (8u << 20)

static uint64_t rng_state;

static uint32_t rnd(void)
{
    /* xorshift64*: deterministic per seed. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)((rng_state * 2685821657736338717ull) >> 32);
}

static void die(const char *what, const char *name, unsigned long a, unsigned long b)
{
    fprintf(stderr, "fuzz_main: PROPERTY BROKEN: %s (%s: %lu, %lu)\n", what, name, a, b);
    exit(3);
}

static void mutate(uint8_t *buf, size_t *len)
{
    static const uint32_t values[] = {0, 1, 2, 3, 4, 7, 8, 16, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000,
                                      0x7fffffff, 0x80000000u, 0xfffffffcu, 0xffffffffu};
    int edits = 1 + (int)(rnd() % 4);
    for (int e = 0; e < edits && *len > 0; e++) {
        uint32_t kind = rnd() % 10;
        size_t pos = rnd() % *len;
        if (kind < 3) {
            buf[pos] ^= (uint8_t)(1u << (rnd() % 8));
        } else if (kind < 4) {
            buf[pos] = (uint8_t)rnd();
        } else if (kind < 9 && *len >= 4) {
            pos = (pos & ~(size_t)3) < *len - 4 ? (pos & ~(size_t)3) : *len - 4;
            uint32_t old = (uint32_t)buf[pos] | (uint32_t)buf[pos + 1] << 8 | (uint32_t)buf[pos + 2] << 16 |
                           (uint32_t)buf[pos + 3] << 24;
            uint32_t v;
            switch (rnd() % 3) {
            case 0:
                v = values[rnd() % (sizeof values / sizeof values[0])];
                break;
            case 1:
                v = old + (uint32_t)((int)(rnd() % 17) - 8);
                break;
            default:
                v = old ^ (1u << (rnd() % 32));
                break;
            }
            for (int i = 0; i < 4; i++)
                buf[pos + i] = (uint8_t)(v >> (8 * i));
        } else {
            *len = rnd() % *len;
        }
    }
}

static void fill_inputs(mtf_model_t *m)
{
    for (int i = 0; i < mtf_input_count(m); i++) {
        mtf_tensor_info_t info;
        if (mtf_input(m, i, &info) != MTF_OK)
            die("input info", "", (unsigned long)i, 0);
        uint8_t *p = info.data;
        for (size_t k = 0; k < info.bytes; k++)
            p[k] = (uint8_t)rnd();
    }
}

static long counts[MTF_STATUS_COUNT];

static void run_one(const uint8_t *model, size_t len, const char *name, uint8_t *work)
{
    mtf_error_t err;
    mtf_op_info_t ops[16];
    int count;
    /* The model in an exact-size block at an odd address. */
    uint8_t *block = malloc(len + 1);
    if (block == NULL)
        return;
    memcpy(block + 1, model, len);
    const uint8_t *fb = block + 1;

    mtf_list_ops(fb, len, ops, 16, &count, &err);
    size_t needed = 0;
    mtf_status_t st = mtf_arena_needed(fb, len, work, WORK_SIZE, &needed, &err);
    if (st != MTF_OK || needed == 0 || needed > WORK_SIZE) {
        counts[st]++;
        free(block);
        return;
    }
    uint8_t *arena = malloc(needed);
    mtf_model_t *m = NULL;
    st = mtf_init(fb, len, arena, needed, &m, &err);
    counts[st]++;
    if (st != MTF_OK)
        die("init fails in the arena mtf_arena_needed reported", name, (unsigned long)needed, st);
    if (mtf_arena_used(m) != needed)
        die("arena_used differs from arena_needed", name, (unsigned long)mtf_arena_used(m), needed);
    for (int k = 0; k < 4; k++) {
        if (k == 2)
            mtf_reset(m);
        fill_inputs(m);
        mtf_invoke(m, &err);
        for (int o = 0; o < mtf_output_count(m); o++) {
            mtf_tensor_info_t info;
            mtf_output(m, o, &info);
            volatile uint8_t sink = 0;
            for (size_t b = 0; b < info.bytes; b++)
                sink ^= ((const uint8_t *)info.data)[b];
            (void)sink;
        }
    }
    free(arena);
    if (needed > 8) {
        arena = malloc(needed - 8);
        st = mtf_init(fb, len, arena, needed - 8, &m, &err);
        if (st != MTF_ERR_ARENA_TOO_SMALL)
            die("init succeeds in less than arena_needed", name, (unsigned long)needed, st);
        if (err.needed != 0 && err.needed != needed)
            die("err.needed differs from arena_needed", name, (unsigned long)err.needed, needed);
        free(arena);
    }
    free(block);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    *len = n > 0 && fread(buf, 1, (size_t)n, f) == (size_t)n ? (size_t)n : 0;
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    long mutations = 0;
    unsigned long seed = 1;
    int first = 1;
    while (first + 1 < argc && argv[first][0] == '-') {
        if (strcmp(argv[first], "-n") == 0)
            mutations = atol(argv[first + 1]);
        else if (strcmp(argv[first], "-s") == 0)
            seed = strtoul(argv[first + 1], NULL, 10);
        first += 2;
    }
    uint8_t *work = malloc(WORK_SIZE);
    long runs = 0;
    for (int a = first; a < argc; a++) {
        size_t len;
        uint8_t *model = read_file(argv[a], &len);
        if (model == NULL || len == 0) {
            fprintf(stderr, "fuzz_main: cannot read %s\n", argv[a]);
            return 2;
        }
        if (mutations == 0) {
            run_one(model, len, argv[a], work);
            runs++;
        }
        uint8_t *copy = malloc(len);
        for (long i = 0; i < mutations; i++) {
            rng_state = (seed * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)i << 20) ^ (uint64_t)a;
            rnd();
            size_t n = len;
            memcpy(copy, model, len);
            mutate(copy, &n);
            run_one(copy, n, argv[a], work);
            runs++;
        }
        free(copy);
        free(model);
    }
    free(work);
    printf("runs %ld", runs);
    for (int s = 0; s < MTF_STATUS_COUNT; s++)
        printf(" %d=%ld", s, counts[s]);
    printf("\n");
    return 0;
}
