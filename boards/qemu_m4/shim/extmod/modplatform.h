// Stand-in for MicroPython's extmod/modplatform.h, which is not part of the
// source this board is built from. py/modsys.c and shared/runtime/pyexec.c
// include it only for the platform strings, and the board sets
// MICROPY_HW_BOARD_NAME / MICROPY_HW_MCU_NAME instead (mpconfigport.h).
#ifndef QEMU_M4_SHIM_MODPLATFORM_H
#define QEMU_M4_SHIM_MODPLATFORM_H
#endif
