// The `time` module of the qemu_m4 board (MicroPython's own lives in extmod/):
// ticks from SysTick, which QEMU's mps2 clocks at 25 MHz. Under
// `-icount shift=0` one instruction takes 1 ns of virtual time, so tick
// counts repeat exactly from run to run; without it they follow host time.
#include "py/mphal.h"
#include "py/runtime.h"
#include "py/smallint.h"

#define SYSTICK_CTRL (*(volatile uint32_t *)0xe000e010)
#define SYSTICK_LOAD (*(volatile uint32_t *)0xe000e014)
#define SYSTICK_VAL (*(volatile uint32_t *)0xe000e018)
#define SCB_ICSR (*(volatile uint32_t *)0xe000ed04)
#define ICSR_PENDSTSET (1u << 26)
#define CPU_HZ 25000000u
#define TICKS_PER_MS (CPU_HZ / 1000u)
#define TICKS_PERIOD (MP_SMALL_INT_POSITIVE_MASK + 1)

static volatile uint32_t uptime_ms;

extern void qemu_m4_console_poll(void);

void SysTick_Handler(void)
{
    uptime_ms++;
    qemu_m4_console_poll();
}

void qemu_m4_systick_init(void)
{
    SYSTICK_LOAD = TICKS_PER_MS - 1;
    SYSTICK_VAL = 0;
    SYSTICK_CTRL = 7; // processor clock, interrupt, enable
}

// A consistent (milliseconds, counter) pair. The counter may have wrapped
// with its interrupt still pending (QEMU delivers interrupts between
// translation blocks): then the millisecond is counted here.
static void read_systick(uint32_t *ms, uint32_t *val)
{
    uint32_t pending;
    do {
        *ms = uptime_ms;
        *val = SYSTICK_VAL;
        pending = SCB_ICSR & ICSR_PENDSTSET;
    } while (*ms != uptime_ms);
    if (pending && *val > TICKS_PER_MS / 2) {
        *ms += 1;
    }
}

// 25 MHz ticks since boot (wraps at 2^32, every 171 s).
mp_uint_t mp_hal_ticks_cpu(void)
{
    uint32_t ms, val;
    read_systick(&ms, &val);
    return ms * TICKS_PER_MS + (TICKS_PER_MS - 1 - val);
}

mp_uint_t mp_hal_ticks_ms(void)
{
    return uptime_ms;
}

mp_uint_t mp_hal_ticks_us(void)
{
    uint32_t ms, val;
    read_systick(&ms, &val);
    return ms * 1000u + (TICKS_PER_MS - 1 - val) / (CPU_HZ / 1000000u);
}

void mp_hal_delay_ms(mp_uint_t ms)
{
    // Sleep through whole milliseconds (SysTick wakes the CPU), spin the rest.
    mp_uint_t start = mp_hal_ticks_us(), us = ms * 1000;
    while (mp_hal_ticks_us() - start + 1000 < us) {
        mp_handle_pending(true);
        __asm__ volatile ("wfi");
    }
    while (mp_hal_ticks_us() - start < us) {
    }
}

void mp_hal_delay_us(mp_uint_t us)
{
    mp_uint_t start = mp_hal_ticks_us();
    while (mp_hal_ticks_us() - start < us) {
    }
}

static mp_obj_t time_ticks_ms(void)
{
    return MP_OBJ_NEW_SMALL_INT(mp_hal_ticks_ms() & MP_SMALL_INT_POSITIVE_MASK);
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_ms_obj, time_ticks_ms);

static mp_obj_t time_ticks_us(void)
{
    return MP_OBJ_NEW_SMALL_INT(mp_hal_ticks_us() & MP_SMALL_INT_POSITIVE_MASK);
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_us_obj, time_ticks_us);

static mp_obj_t time_ticks_cpu(void)
{
    return MP_OBJ_NEW_SMALL_INT(mp_hal_ticks_cpu() & MP_SMALL_INT_POSITIVE_MASK);
}
static MP_DEFINE_CONST_FUN_OBJ_0(time_ticks_cpu_obj, time_ticks_cpu);

// Signed difference of two tick values, correct across one wrap.
static mp_obj_t time_ticks_diff(mp_obj_t end_in, mp_obj_t start_in)
{
    mp_uint_t diff = (MP_OBJ_SMALL_INT_VALUE(end_in) - MP_OBJ_SMALL_INT_VALUE(start_in) + TICKS_PERIOD / 2)
        & (TICKS_PERIOD - 1);
    return MP_OBJ_NEW_SMALL_INT((mp_int_t)diff - TICKS_PERIOD / 2);
}
static MP_DEFINE_CONST_FUN_OBJ_2(time_ticks_diff_obj, time_ticks_diff);

static mp_obj_t time_ticks_add(mp_obj_t ticks_in, mp_obj_t delta_in)
{
    mp_uint_t sum = MP_OBJ_SMALL_INT_VALUE(ticks_in) + mp_obj_get_int(delta_in);
    return MP_OBJ_NEW_SMALL_INT(sum & (TICKS_PERIOD - 1));
}
static MP_DEFINE_CONST_FUN_OBJ_2(time_ticks_add_obj, time_ticks_add);

static mp_obj_t time_sleep_ms(mp_obj_t ms_in)
{
    mp_int_t ms = mp_obj_get_int(ms_in);
    if (ms > 0) {
        mp_hal_delay_ms(ms);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_ms_obj, time_sleep_ms);

static mp_obj_t time_sleep_us(mp_obj_t us_in)
{
    mp_int_t us = mp_obj_get_int(us_in);
    if (us > 0) {
        mp_hal_delay_us(us);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_us_obj, time_sleep_us);

static mp_obj_t time_sleep(mp_obj_t s_in)
{
    mp_float_t ms = mp_obj_get_float(s_in) * 1000;
    if (ms > 0) {
        mp_hal_delay_ms((mp_uint_t)ms);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(time_sleep_obj, time_sleep);

static const mp_rom_map_elem_t time_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_time) },
    { MP_ROM_QSTR(MP_QSTR_ticks_ms), MP_ROM_PTR(&time_ticks_ms_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_us), MP_ROM_PTR(&time_ticks_us_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_cpu), MP_ROM_PTR(&time_ticks_cpu_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_diff), MP_ROM_PTR(&time_ticks_diff_obj) },
    { MP_ROM_QSTR(MP_QSTR_ticks_add), MP_ROM_PTR(&time_ticks_add_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep_ms), MP_ROM_PTR(&time_sleep_ms_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep_us), MP_ROM_PTR(&time_sleep_us_obj) },
    { MP_ROM_QSTR(MP_QSTR_sleep), MP_ROM_PTR(&time_sleep_obj) },
};
static MP_DEFINE_CONST_DICT(time_module_globals, time_module_globals_table);

const mp_obj_module_t qemu_m4_time_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&time_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR_time, qemu_m4_time_module);
