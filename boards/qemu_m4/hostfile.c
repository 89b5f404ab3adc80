// Host files through semihosting: the builtin open(), and the importer's
// stat and reader, so `import microtf` works from a directory on the host.
// Paths are the host's, relative to the directory QEMU was started in.
#include <string.h>

#include "py/builtin.h"
#include "py/lexer.h"
#include "py/mperrno.h"
#include "py/reader.h"
#include "py/runtime.h"
#include "py/stream.h"
#include "semihost.h"

typedef struct {
    mp_obj_base_t base;
    int handle;  // -1 once closed
    size_t pos;  // tracked here: semihosting has no "tell"
} hostfile_obj_t;

static mp_uint_t hostfile_read(mp_obj_t self_in, void *buf, mp_uint_t size, int *errcode)
{
    hostfile_obj_t *self = MP_OBJ_TO_PTR(self_in);
    int n = self->handle < 0 ? -1 : semihost_read(self->handle, buf, size);
    if (n < 0) {
        *errcode = MP_EIO;
        return MP_STREAM_ERROR;
    }
    self->pos += n;
    return n;
}

static mp_uint_t hostfile_write(mp_obj_t self_in, const void *buf, mp_uint_t size, int *errcode)
{
    hostfile_obj_t *self = MP_OBJ_TO_PTR(self_in);
    int n = self->handle < 0 ? -1 : semihost_write(self->handle, buf, size);
    if (n < 0) {
        *errcode = MP_EIO;
        return MP_STREAM_ERROR;
    }
    self->pos += n;
    return n;
}

static mp_uint_t hostfile_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode)
{
    hostfile_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (request == MP_STREAM_CLOSE) {
        if (self->handle >= 0) {
            semihost_close(self->handle);
            self->handle = -1;
        }
        return 0;
    }
    if (request == MP_STREAM_FLUSH) {
        return 0;
    }
    if (request == MP_STREAM_SEEK && self->handle >= 0) {
        struct mp_stream_seek_t *s = (struct mp_stream_seek_t *)arg;
        mp_off_t base = s->whence == 0 ? 0 : s->whence == 1 ? (mp_off_t)self->pos : semihost_flen(self->handle);
        if (base + s->offset >= 0 && semihost_seek(self->handle, base + s->offset) == 0) {
            self->pos = base + s->offset;
            s->offset = self->pos;
            return 0;
        }
    }
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

static const mp_rom_map_elem_t hostfile_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&mp_stream_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_readinto), MP_ROM_PTR(&mp_stream_readinto_obj) },
    { MP_ROM_QSTR(MP_QSTR_readline), MP_ROM_PTR(&mp_stream_unbuffered_readline_obj) },
    { MP_ROM_QSTR(MP_QSTR_write), MP_ROM_PTR(&mp_stream_write_obj) },
    { MP_ROM_QSTR(MP_QSTR_seek), MP_ROM_PTR(&mp_stream_seek_obj) },
    { MP_ROM_QSTR(MP_QSTR_tell), MP_ROM_PTR(&mp_stream_tell_obj) },
    { MP_ROM_QSTR(MP_QSTR_flush), MP_ROM_PTR(&mp_stream_flush_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&mp_stream_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&mp_stream___exit___obj) },
};
static MP_DEFINE_CONST_DICT(hostfile_locals, hostfile_locals_table);

static const mp_stream_p_t hostfile_binary_p = {
    .read = hostfile_read, .write = hostfile_write, .ioctl = hostfile_ioctl, .is_text = false,
};
static const mp_stream_p_t hostfile_text_p = {
    .read = hostfile_read, .write = hostfile_write, .ioctl = hostfile_ioctl, .is_text = true,
};

static MP_DEFINE_CONST_OBJ_TYPE(hostfile_binary_type, MP_QSTR_FileIO, MP_TYPE_FLAG_ITER_IS_STREAM,
    protocol, &hostfile_binary_p, locals_dict, &hostfile_locals);
static MP_DEFINE_CONST_OBJ_TYPE(hostfile_text_type, MP_QSTR_TextIOWrapper, MP_TYPE_FLAG_ITER_IS_STREAM,
    protocol, &hostfile_text_p, locals_dict, &hostfile_locals);

// open(path, mode="r"): modes r, w, a with optional b and +.
mp_obj_t mp_builtin_open(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs)
{
    (void)kwargs;
    const char *path = mp_obj_str_get_str(args[0]);
    const char *mode = n_args > 1 ? mp_obj_str_get_str(args[1]) : "r";
    int sh_mode = strchr(mode, 'w') ? SEMIHOST_MODE_W : strchr(mode, 'a') ? SEMIHOST_MODE_A : SEMIHOST_MODE_R;
    bool binary = strchr(mode, 'b') != NULL;
    sh_mode += (binary ? 1 : 0) + (strchr(mode, '+') ? 2 : 0);
    int handle = semihost_open(path, sh_mode);
    if (handle < 0) {
        mp_raise_OSError(MP_ENOENT);
    }
    hostfile_obj_t *f = mp_obj_malloc(hostfile_obj_t, binary ? &hostfile_binary_type : &hostfile_text_type);
    f->handle = handle;
    f->pos = 0;
    return MP_OBJ_FROM_PTR(f);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mp_builtin_open_obj, 1, mp_builtin_open);

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

// Semihosting has no stat: a path that opens is a file when it names a .py
// or .mpy, otherwise a directory (QEMU opens host directories read-only).
mp_import_stat_t mp_import_stat(const char *path)
{
    int handle = semihost_open(path, SEMIHOST_MODE_RB);
    if (handle < 0) {
        return MP_IMPORT_STAT_NO_EXIST;
    }
    semihost_close(handle);
    return ends_with(path, ".py") || ends_with(path, ".mpy") ? MP_IMPORT_STAT_FILE : MP_IMPORT_STAT_DIR;
}

// Read a whole host file into the GC heap: sources and .mpy files are small,
// and a memory reader lets the .mpy loader work unchanged.
void mp_reader_new_file(mp_reader_t *reader, qstr filename)
{
    int handle = semihost_open(qstr_str(filename), SEMIHOST_MODE_RB);
    if (handle < 0) {
        mp_raise_OSError(MP_ENOENT);
    }
    int len = semihost_flen(handle);
    byte *buf = len < 0 ? NULL : m_new_maybe(byte, len > 0 ? len : 1);
    bool ok = buf != NULL && semihost_read(handle, buf, len) == len;
    semihost_close(handle);
    if (buf == NULL) {
        mp_raise_OSError(len < 0 ? MP_EIO : MP_ENOMEM);
    }
    if (!ok) {
        m_del(byte, buf, len > 0 ? len : 1);
        mp_raise_OSError(MP_EIO);
    }
    mp_reader_new_mem(reader, buf, len, len > 0 ? len : 1);
}

mp_lexer_t *mp_lexer_new_from_file(qstr filename)
{
    mp_reader_t reader;
    mp_reader_new_file(&reader, filename);
    return mp_lexer_new(filename, reader);
}
