// qemu_m4 entry point: MicroPython with a static GC heap; console output, host
// files and the exit status over semihosting, console input from the UART.
//
// Command line (QEMU: -semihosting-config enable=on,arg=firmware,arg=...):
//     firmware [-p DIR]... [SCRIPT [ARGS...]]
// With SCRIPT: run it and exit with its status (0, sys.exit(n), 1 on an
// uncaught exception, 2 when it cannot be opened). Without: the REPL; Ctrl-D on an empty line exits.
#include <string.h>

#include "py/compile.h"
#include "py/cstack.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/mphal.h"
#include "py/runtime.h"
#include "shared/readline/readline.h"
#include "shared/runtime/gchelper.h"
#include "shared/runtime/pyexec.h"
#include "semihost.h"

#define CANARY_WORDS 8
#define MAX_ARGS 16

extern uint32_t _sstack, _estack, __canary_bss, __canary_stack, __canary_above_ram;
extern void qemu_m4_systick_init(void);

static uint8_t gc_heap[MICROPY_HEAP_SIZE] __attribute__((aligned(8)));
static int stdout_handle = -1;
static char cmdline[512];

// Canaries: patterns in RAM that nothing may write; checked when QEMU exits.
static uint32_t *const canaries[] = { &__canary_bss, &__canary_stack, &__canary_above_ram };
static const char *const canary_names[] = { "after .bss (the arena is last)", "stack bottom", "above the RAM limit" };

static void canaries_set(void)
{
    for (size_t c = 0; c < MP_ARRAY_SIZE(canaries); c++) {
        for (uint32_t i = 0; i < CANARY_WORDS; i++) {
            canaries[c][i] = 0x5ca1ab1eu ^ (i * 0x01010101u);
        }
    }
}

// 0 when all canaries hold, else 98 after naming the damaged ones.
static int canaries_check(void)
{
    int status = 0;
    for (size_t c = 0; c < MP_ARRAY_SIZE(canaries); c++) {
        for (uint32_t i = 0; i < CANARY_WORDS; i++) {
            if (canaries[c][i] != (0x5ca1ab1eu ^ (i * 0x01010101u))) {
                mp_printf(&mp_plat_print, "qemu_m4: canary %s overwritten\n", canary_names[c]);
                status = 98;
                break;
            }
        }
    }
    return status;
}

void qemu_m4_exit(int status)
{
    int damaged = canaries_check();
    semihost_exit(damaged ? damaged : status);
}

// Console input comes from the CMSDK UART0 (QEMU's serial port on stdio):
// QEMU 7.2 cannot block an M-profile CPU in a semihosting read (SYS_READC
// returns at once with 0). SysTick polls the UART every millisecond into a
// ring buffer, which also lets Ctrl-C interrupt running code.
#define UART0_DATA (*(volatile uint32_t *)0x40004000)
#define UART0_STATE (*(volatile uint32_t *)0x40004004)
#define UART0_CTRL (*(volatile uint32_t *)0x40004008)
#define UART0_BAUDDIV (*(volatile uint32_t *)0x40004010)
#define UART_RX_FULL 2u
#define RX_SIZE 256

static volatile uint8_t rx_buf[RX_SIZE];
static volatile uint32_t rx_head, rx_tail;

static void console_init(void)
{
    UART0_BAUDDIV = 16;
    UART0_CTRL = 3; // TX and RX enabled
}

void qemu_m4_console_poll(void)
{
    while (UART0_STATE & UART_RX_FULL) {
        int c = UART0_DATA & 0xff;
        if (c == mp_interrupt_char) {
            mp_sched_keyboard_interrupt();
        } else if (rx_head - rx_tail < RX_SIZE) {
            rx_buf[rx_head++ % RX_SIZE] = (uint8_t)c;
        }
    }
}

int mp_hal_stdin_rx_chr(void)
{
    while (rx_head == rx_tail) {
        __asm__ volatile ("wfi");
    }
    return rx_buf[rx_tail++ % RX_SIZE];
}

// Exit status for an exception that ended the script, printing it unless it
// is a SystemExit (whose value is the status, as in CPython).
static int status_of_exception(mp_obj_t exc)
{
    if (!mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)), MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
        mp_obj_print_exception(&mp_plat_print, exc);
        return 1;
    }
    mp_obj_t value = mp_obj_exception_get_value(exc);
    if (value == mp_const_none) {
        return 0;
    }
    if (mp_obj_is_small_int(value)) {
        return MP_OBJ_SMALL_INT_VALUE(value);
    }
    mp_obj_print(value, PRINT_STR);
    mp_print_str(&mp_plat_print, "\n");
    return 1;
}

static int run_script(const char *path)
{
    int handle = semihost_open(path, SEMIHOST_MODE_RB);
    if (handle < 0) {
        // As CPython does: name the file, exit status 2.
        mp_printf(&mp_plat_print, "qemu_m4: can't open file '%s'\n", path);
        return 2;
    }
    semihost_close(handle);
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        qstr name = qstr_from_str(path);
        mp_lexer_t *lex = mp_lexer_new_from_file(name);
        mp_store_global(MP_QSTR___file__, MP_OBJ_NEW_QSTR(name));
        mp_parse_tree_t tree = mp_parse(lex, MP_PARSE_FILE_INPUT);
        mp_call_function_0(mp_compile(&tree, name, false));
        nlr_pop();
        return 0;
    }
    return status_of_exception(MP_OBJ_FROM_PTR(nlr.ret_val));
}

static int run_repl(void)
{
    for (;;) {
        int ret = pyexec_mode_kind == PYEXEC_MODE_RAW_REPL ? pyexec_raw_repl() : pyexec_friendly_repl();
        if (ret & PYEXEC_FORCED_EXIT) {
            return 0;
        }
    }
}

// Split the semihosting command line at spaces (so paths must not hold any).
static int split_cmdline(char **argv)
{
    int argc = 0;
    if (semihost_cmdline(cmdline, sizeof(cmdline) - 1) != 0) {
        return 0;
    }
    for (char *p = cmdline; *p != '\0' && argc < MAX_ARGS;) {
        if (*p == ' ') {
            *p++ = '\0';
            continue;
        }
        argv[argc++] = p;
        while (*p != '\0' && *p != ' ') {
            p++;
        }
    }
    return argc;
}

int qemu_m4_main(void)
{
    canaries_set();
    qemu_m4_systick_init();
    stdout_handle = semihost_open(":tt", SEMIHOST_MODE_W);
    console_init();
    mp_cstack_init_with_top(&_estack, (char *)&_estack - (char *)&_sstack);
    gc_init(gc_heap, gc_heap + sizeof(gc_heap));
    mp_init();
    readline_init0();

    char *argv[MAX_ARGS];
    int argc = split_cmdline(argv), arg = 1;
    mp_obj_list_init(MP_OBJ_TO_PTR(mp_sys_path), 0);
    for (; arg + 1 < argc && strcmp(argv[arg], "-p") == 0; arg += 2) {
        mp_obj_list_append(mp_sys_path, mp_obj_new_str_from_cstr(argv[arg + 1]));
    }
    mp_obj_list_init(MP_OBJ_TO_PTR(mp_sys_argv), 0);
    int status;
    if (arg < argc) {
        const char *slash = strrchr(argv[arg], '/');
        mp_obj_t dir = slash ? mp_obj_new_str(argv[arg], slash - argv[arg]) : MP_OBJ_NEW_QSTR(MP_QSTR_);
        mp_obj_list_append(mp_sys_path, dir);
        for (int i = arg; i < argc; i++) {
            mp_obj_list_append(mp_sys_argv, mp_obj_new_str_from_cstr(argv[i]));
        }
        status = run_script(argv[arg]);
    } else {
        mp_obj_list_append(mp_sys_path, MP_OBJ_NEW_QSTR(MP_QSTR_));
        status = run_repl();
    }
    gc_sweep_all();
    mp_deinit();
    return status;
}

void gc_collect(void)
{
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
}

void nlr_jump_fail(void *val)
{
    (void)val;
    mp_printf(&mp_plat_print, "qemu_m4: uncaught NLR\n");
    qemu_m4_exit(99);
}

mp_uint_t mp_hal_stdout_tx_strn(const char *str, size_t len)
{
    int n = semihost_write(stdout_handle, str, len);
    return n < 0 ? 0 : n;
}

uintptr_t mp_hal_stdio_poll(uintptr_t poll_flags)
{
    (void)poll_flags;
    return 0;
}

#ifndef NDEBUG
void __assert_func(const char *file, int line, const char *func, const char *expr)
{
    (void)func;
    mp_printf(&mp_plat_print, "qemu_m4: assertion '%s' failed, %s:%d\n", expr, file, line);
    qemu_m4_exit(99);
}
#endif
