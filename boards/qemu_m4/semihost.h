// ARM semihosting calls used by the qemu_m4 board: console, host files,
// command line and exit status. QEMU must run with -semihosting-config enable=on.
#ifndef QEMU_M4_SEMIHOST_H
#define QEMU_M4_SEMIHOST_H

#include <stddef.h>

// Open modes of SYS_OPEN (ISO C fopen modes, in this order).
enum {
    SEMIHOST_MODE_R = 0,
    SEMIHOST_MODE_RB = 1,
    SEMIHOST_MODE_W = 4,
    SEMIHOST_MODE_WB = 5,
    SEMIHOST_MODE_A = 8,
};

int semihost_open(const char *path, int mode);          // handle, or -1
int semihost_close(int handle);
int semihost_read(int handle, void *buf, size_t len);   // bytes read, or -1
int semihost_write(int handle, const void *buf, size_t len); // bytes written
int semihost_seek(int handle, size_t pos);              // 0 on success
int semihost_flen(int handle);                          // length, or -1
int semihost_cmdline(char *buf, size_t len);            // 0 on success
void semihost_exit(int status) __attribute__((noreturn));

#endif
