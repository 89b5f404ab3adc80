// MicroPython configuration of the qemu_m4 board: what a real 32-bit MCU port
// offers (MPZ long ints, single-precision floats, native/viper emitters, .mpy
// loading, heap lock), limited to what py/ and shared/ provide without extmod/.
#include <stdint.h>
#include <alloca.h>

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_EXTRA_FEATURES)

#define MICROPY_HW_BOARD_NAME "qemu_m4"
#define MICROPY_HW_MCU_NAME "Cortex-M4F (QEMU mps2-an386)"
#define MICROPY_PY_SYS_PLATFORM "qemu_m4"

// Same number formats as esp32 / rp2, so device code meets the same limits.
#define MICROPY_LONGINT_IMPL (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL (MICROPY_FLOAT_IMPL_FLOAT)

// @micropython.native / viper / asm_thumb, and .mpy files with native code.
#define MICROPY_EMIT_THUMB (1)
#define MICROPY_EMIT_INLINE_THUMB (1)
#define MICROPY_PERSISTENT_CODE_LOAD (1)

#define MICROPY_ENABLE_GC (1)
#define MICROPY_PY_MICROPYTHON_HEAP_LOCKED (1)
#define MICROPY_STACK_CHECK (1)
#define MICROPY_HELPER_REPL (1)
#define MICROPY_KBD_EXCEPTION (1)
#define MICROPY_ERROR_REPORTING (MICROPY_ERROR_REPORTING_DETAILED)
#define MICROPY_ENABLE_EXTERNAL_IMPORT (1)
#define MICROPY_ALLOC_PATH_MAX (256)
#define MICROPY_PY_SYS_PATH (1)
#define MICROPY_PY_SYS_ARGV (1)
#define MICROPY_PY_SYS_EXIT (1)
#define MICROPY_PY_SYS_STDFILES (1)
#define MICROPY_PY_IO (1)

// Modules of extmod/ are not in the source this board is built from; `time`
// is provided by modtime.c, `open` by hostfile.c (semihosting).
#define MICROPY_PY_TIME (0)
#define MICROPY_PY_OS (0)
#define MICROPY_VFS (0)
#define MICROPY_READER_VFS (0)
#define MICROPY_HAS_FILE_READER (1) // hostfile.c: mp_reader_new_file over semihosting
#define MICROPY_PY_CMATH (0)
#define MICROPY_PY_THREAD (0)
#define MICROPY_PY_SELECT (0)
#define MICROPY_PY_UCTYPES (0)

typedef long mp_off_t;
#define MP_SSIZE_MAX (0x7fffffff)

#define MICROPY_MAKE_POINTER_CALLABLE(p) ((void *)((mp_uint_t)(p) | 1))
#define MP_STATE_PORT MP_STATE_VM
#define MICROPY_HEAP_SIZE (QEMU_M4_HEAP_SIZE)

// Let the REPL and long loops see Ctrl-C; nothing else runs in the background.
#define MICROPY_EVENT_POLL_HOOK
