/*
 * prof.c - per-operator timing for the engine runner (RUNNER_PROFILE builds).
 *
 * The operator files are compiled with -Dmtf_kernel_X=mtf_kernel_X__real, so the
 * registry links to the wrappers below instead; each wrapper times the real
 * eval. Only outermost evals are counted: an operator running a subgraph
 * (CALL_ONCE) carries the time of the operators inside it. Nothing in the
 * engine changes. Globals that mutate are fine here: this is test code.
 */
#include <stdio.h>

#include "mtf_kernel.h"
#include "runner.h"

enum {
#define MTF_OP(name, code, max_version, kernel) PROF_##kernel,
#include "ops.def"
#undef MTF_OP
    PROF_COUNT
};

static const char *const prof_names[PROF_COUNT] = {
#define MTF_OP(name, code, max_version, kernel) #name,
#include "ops.def"
#undef MTF_OP
};

static uint32_t prof_ticks[PROF_COUNT];
static uint32_t prof_calls[PROF_COUNT];
static int prof_depth;

static mtf_status_t prof_eval(int id, const mtf_kernel_t *real, mtf_model_t *m, mtf_node_t *node)
{
    prof_depth++;
    uint32_t t0 = runner_ticks();
    mtf_status_t st = real->eval(m, node);
    uint32_t t1 = runner_ticks();
    prof_depth--;
    if (prof_depth == 0) {
        prof_ticks[id] += t1 - t0;
        prof_calls[id]++;
    }
    return st;
}

/* A kernel file left out of the build leaves its __real symbol NULL: refuse then,
 * as the registry would have. */
static mtf_status_t prof_prepare(const mtf_kernel_t *real, mtf_model_t *m, mtf_node_t *node)
{
    if (real == NULL || real->prepare == NULL)
        return mtf_fail(m, MTF_ERR_UNSUPPORTED_OP, "operator not in this build");
    return real->prepare(m, node);
}

#define MTF_OP(name, code, max_version, kernel)                                          \
    extern const mtf_kernel_t mtf_kernel_##kernel##__real __attribute__((weak));          \
    static mtf_status_t prof_prepare_##kernel(mtf_model_t *m, mtf_node_t *node)           \
    {                                                                                     \
        return prof_prepare(&mtf_kernel_##kernel##__real, m, node);                       \
    }                                                                                     \
    static mtf_status_t prof_eval_##kernel(mtf_model_t *m, mtf_node_t *node)              \
    {                                                                                     \
        return prof_eval(PROF_##kernel, &mtf_kernel_##kernel##__real, m, node);           \
    }                                                                                     \
    const mtf_kernel_t mtf_kernel_##kernel = {prof_prepare_##kernel, prof_eval_##kernel};
#include "ops.def"
#undef MTF_OP

void prof_clear(void)
{
    for (int i = 0; i < PROF_COUNT; i++)
        prof_ticks[i] = prof_calls[i] = 0;
}

void prof_report(const char *model, uint32_t invokes)
{
    for (int i = 0; i < PROF_COUNT; i++)
        if (prof_calls[i])
            printf("OP model=%s op=%s invokes=%lu calls=%lu ticks=%lu\n", model, prof_names[i],
                   (unsigned long)invokes, (unsigned long)prof_calls[i], (unsigned long)prof_ticks[i]);
}
