// HAL of the qemu_m4 board: console output and files go through ARM
// semihosting, console input comes from the UART (main.c), time from SysTick
// (modtime.c).
#include "shared/runtime/interrupt_char.h"

// No pins on this board; defining the type keeps py/mphal.h from pulling in
// extmod/virtpin.h.
#define mp_hal_pin_obj_t void *

// Exit QEMU with this status (semihosting SYS_EXIT_EXTENDED).
void qemu_m4_exit(int status) __attribute__((noreturn));
