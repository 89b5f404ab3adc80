/*
 * startup.c - vector table, reset and fault handling of the engine runner on
 * QEMU mps2-an386 (Cortex-M4F). Output and exit status go through semihosting.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "runner.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern void initialise_monitor_handles(void);
int main(void);

#define SCB_CCR (*(volatile uint32_t *)0xe000ed14u)
#define SCB_CFSR (*(volatile uint32_t *)0xe000ed28u)
#define SCB_HFSR (*(volatile uint32_t *)0xe000ed2cu)
#define SCB_BFAR (*(volatile uint32_t *)0xe000ed38u)
#define SCB_CPACR (*(volatile uint32_t *)0xe000ed88u)
#define CCR_UNALIGN_TRP (1u << 3)
#define CCR_DIV_0_TRP (1u << 4)

/* Fault on unaligned word accesses, as a Cortex-M0+ would, while the engine runs
 * (runner_strict(1) before an engine call, runner_strict(0) after): the model sits at
 * an odd address, so this proves the engine reads it byte-wise where it must.
 * Not around newlib's stdio, which is built for unaligned access. */
void runner_strict(int on)
{
#if RUNNER_STRICT
    if (on)
        SCB_CCR |= CCR_UNALIGN_TRP;
    else
        SCB_CCR &= ~CCR_UNALIGN_TRP;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#else
    (void)on;
#endif
}

/* newlib's -nostartfiles contract: the constructors hooks must exist. */
void _init(void) {}
void _fini(void) {}

void Reset_Handler(void)
{
    /* CP10/CP11 full access before any compiled code may use an FPU register. */
    SCB_CPACR |= 0xfu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    SCB_CCR |= CCR_DIV_0_TRP;
    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;)
        *dst++ = *src++;
    for (uint32_t *dst = &_sbss; dst < &_ebss;)
        *dst++ = 0;
    initialise_monitor_handles();
    exit(main());
}

/* Called with the stacked exception frame: say where, then stop QEMU with RUNNER_EXIT_FAULT. */
void runner_fault(const uint32_t *frame)
{
    runner_strict(0);
    printf("\nFAULT pc=%08lx lr=%08lx CFSR=%08lx HFSR=%08lx BFAR=%08lx\n", (unsigned long)frame[6],
           (unsigned long)frame[5], (unsigned long)SCB_CFSR, (unsigned long)SCB_HFSR,
           (unsigned long)SCB_BFAR);
    fflush(stdout);
    exit(RUNNER_EXIT_FAULT);
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile("tst lr, #4\n\t"
                     "ite eq\n\t"
                     "mrseq r0, msp\n\t"
                     "mrsne r0, psp\n\t"
                     "b runner_fault\n\t");
}

static void Default_Handler(void)
{
    printf("\nFAULT unexpected interrupt\n");
    exit(RUNNER_EXIT_FAULT);
}

__attribute__((section(".isr_vector"), used)) static const void *const vectors[16] = {
    &_estack,
    (const void *)Reset_Handler,
    (const void *)Default_Handler,   /* NMI */
    (const void *)HardFault_Handler, /* HardFault; MemManage, BusFault, UsageFault escalate here */
    (const void *)HardFault_Handler,
    (const void *)HardFault_Handler,
    (const void *)HardFault_Handler,
    0, 0, 0, 0,
    (const void *)Default_Handler, /* SVCall */
    (const void *)Default_Handler, /* DebugMonitor */
    0,
    (const void *)Default_Handler, /* PendSV */
    (const void *)Default_Handler, /* SysTick (not used: the dual timer is polled) */
};
