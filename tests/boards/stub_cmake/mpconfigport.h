// The smallest MicroPython configuration that compiles the _microtf binding on the host, for the
// stub CMake project: the number formats of the esp32 and rp2 ports (MPZ long ints, single floats).
#include <stdint.h>

#define MICROPY_CONFIG_ROM_LEVEL (MICROPY_CONFIG_ROM_LEVEL_CORE_FEATURES)
#define MICROPY_LONGINT_IMPL (MICROPY_LONGINT_IMPL_MPZ)
#define MICROPY_FLOAT_IMPL (MICROPY_FLOAT_IMPL_FLOAT)
#define MICROPY_ENABLE_GC (1)
#define MICROPY_ALLOC_PATH_MAX (256)
#define MICROPY_HW_BOARD_NAME "stub"
#define MICROPY_HW_MCU_NAME "host"

typedef long mp_off_t;
#define MP_STATE_PORT MP_STATE_VM
