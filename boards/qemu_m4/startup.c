// Vector table, reset and fault handlers of the qemu_m4 board.
#include <stdint.h>

#include "py/mpprint.h"
#include "mphalport.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
extern int qemu_m4_main(void);
extern void SysTick_Handler(void);

#define SCB_CCR (*(volatile uint32_t *)0xe000ed14)
#define SCB_CFSR (*(volatile uint32_t *)0xe000ed28)
#define SCB_HFSR (*(volatile uint32_t *)0xe000ed2c)
#define SCB_BFAR (*(volatile uint32_t *)0xe000ed38)
#define SCB_CPACR (*(volatile uint32_t *)0xe000ed88)
#define CCR_UNALIGN_TRP (1u << 3)
#define CCR_DIV_0_TRP (1u << 4)

void Reset_Handler(void)
{
    // Full access to CP10/CP11 before any compiled code may touch the FPU.
    SCB_CPACR |= 0xfu << 20;
    __asm__ volatile ("dsb\n\tisb");
    // Fault on unaligned word accesses and on integer division by zero, as
    // Cortex-M0+ / Xtensa parts would, instead of silently going on.
    SCB_CCR |= CCR_UNALIGN_TRP | CCR_DIV_0_TRP;

    for (uint32_t *src = &_sidata, *dst = &_sdata; dst < &_edata;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &_sbss; dst < &_ebss;) {
        *dst++ = 0;
    }
    qemu_m4_exit(qemu_m4_main());
}

// Report where the fault happened and stop QEMU with status 99.
void qemu_m4_fault(const uint32_t *frame)
{
    mp_printf(&mp_plat_print, "\nqemu_m4: HardFault at pc=%08x lr=%08x CFSR=%08x HFSR=%08x BFAR=%08x\n",
        (unsigned)frame[6], (unsigned)frame[5], (unsigned)SCB_CFSR, (unsigned)SCB_HFSR, (unsigned)SCB_BFAR);
    qemu_m4_exit(99);
}

__attribute__((naked)) void HardFault_Handler(void)
{
    __asm__ volatile (
        "tst lr, #4\n\t"
        "ite eq\n\t"
        "mrseq r0, msp\n\t"
        "mrsne r0, psp\n\t"
        "b qemu_m4_fault\n\t");
}

static void Default_Handler(void)
{
    mp_printf(&mp_plat_print, "\nqemu_m4: unexpected interrupt\n");
    qemu_m4_exit(99);
}

__attribute__((section(".isr_vector"), used)) static const void *const vectors[16] = {
    &_estack,
    Reset_Handler,
    Default_Handler,   // NMI
    HardFault_Handler, // also MemManage, BusFault and UsageFault (not enabled separately)
    HardFault_Handler,
    HardFault_Handler,
    HardFault_Handler,
    0, 0, 0, 0,
    Default_Handler,   // SVCall
    Default_Handler,   // DebugMonitor
    0,
    Default_Handler,   // PendSV
    SysTick_Handler,
};
