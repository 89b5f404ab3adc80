/* runner.h - shared by the engine runner's files (not part of the engine). */
#ifndef RUNNER_H
#define RUNNER_H
#include <stdint.h>

#ifndef RUNNER_STRICT
#define RUNNER_STRICT 0 /* 1: trap unaligned word accesses (build with -mno-unaligned-access) */
#endif
#ifndef RUNNER_PROFILE
#define RUNNER_PROFILE 0 /* 1: time every operator (kernels wrapped by prof.c) */
#endif

#ifndef RUNNER_PLANT
#define RUNNER_PLANT 0 /* 1: overwrite a canary byte, 2: unaligned read (self-tests of the checks) */
#endif

#define RUNNER_EXIT_MISMATCH 1
#define RUNNER_EXIT_ENGINE 2
#define RUNNER_EXIT_CANARY 98
#define RUNNER_EXIT_FAULT 99

/* CMSDK dual timer 1 on mps2: 32-bit down-counter at the 25 MHz system clock. Under
 * `-icount shift=0` one instruction is 1 ns, so a tick is 40 instructions, exactly. */
#define TIMER1_LOAD (*(volatile uint32_t *)0x40002000u)
#define TIMER1_VALUE (*(volatile uint32_t *)0x40002004u)
#define TIMER1_CONTROL (*(volatile uint32_t *)0x40002008u)

static inline uint32_t runner_ticks(void)
{
    /* Counting down: negate so later readings are larger. */
    return 0u - TIMER1_VALUE;
}

void runner_strict(int on);

#if RUNNER_PROFILE
void prof_clear(void);
void prof_report(const char *model, uint32_t invokes);
#endif

#endif
