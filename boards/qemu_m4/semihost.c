// ARM semihosting: the program stops at `bkpt 0xab` and QEMU performs the
// request in r0 with the argument block in r1 on the host.
#include <stdint.h>
#include "semihost.h"

enum {
    SYS_OPEN = 0x01,
    SYS_CLOSE = 0x02,
    SYS_WRITE = 0x05,
    SYS_READ = 0x06,
    SYS_SEEK = 0x0a,
    SYS_FLEN = 0x0c,
    SYS_GET_CMDLINE = 0x15,
    SYS_EXIT_EXTENDED = 0x20,
    ADP_STOPPED_APPLICATION_EXIT = 0x20026,
};

static int semihost_call(int op, const void *arg)
{
    register int r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile ("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

static size_t length_of(const char *s)
{
    size_t n = 0;
    while (s[n]) {
        n++;
    }
    return n;
}

int semihost_open(const char *path, int mode)
{
    uintptr_t args[3] = { (uintptr_t)path, (uintptr_t)mode, length_of(path) };
    return semihost_call(SYS_OPEN, args);
}

int semihost_close(int handle)
{
    uintptr_t args[1] = { (uintptr_t)handle };
    return semihost_call(SYS_CLOSE, args);
}

int semihost_read(int handle, void *buf, size_t len)
{
    // SYS_READ answers with the number of bytes NOT read; more than asked
    // for (QEMU gives -1) means an error.
    uintptr_t args[3] = { (uintptr_t)handle, (uintptr_t)buf, len };
    uint32_t missing = (uint32_t)semihost_call(SYS_READ, args);
    return missing > len ? -1 : (int)(len - missing);
}

int semihost_write(int handle, const void *buf, size_t len)
{
    uintptr_t args[3] = { (uintptr_t)handle, (uintptr_t)buf, len };
    uint32_t missing = (uint32_t)semihost_call(SYS_WRITE, args);
    return missing > len ? -1 : (int)(len - missing);
}

int semihost_seek(int handle, size_t pos)
{
    uintptr_t args[2] = { (uintptr_t)handle, pos };
    return semihost_call(SYS_SEEK, args);
}

int semihost_flen(int handle)
{
    uintptr_t args[1] = { (uintptr_t)handle };
    return semihost_call(SYS_FLEN, args);
}

int semihost_cmdline(char *buf, size_t len)
{
    uintptr_t args[2] = { (uintptr_t)buf, len };
    return semihost_call(SYS_GET_CMDLINE, args);
}

void semihost_exit(int status)
{
    // The extended form carries the exit status to QEMU's own exit code
    // (the plain SYS_EXIT on 32-bit ARM only says success or failure).
    uintptr_t args[2] = { ADP_STOPPED_APPLICATION_EXIT, (uintptr_t)status };
    semihost_call(SYS_EXIT_EXTENDED, args);
    for (;;) {
    }
}
