/*
 * modmicrotf.c - the `_microtf` MicroPython module: a thin binding over the
 * microtf engine (firmware/engine/include/microtf.h).
 *
 *     import _microtf
 *     m = _microtf.Model(model_bytes)   # model_bytes stays referenced by m
 *     m.input(0)[:] = samples           # memoryview into the arena
 *     m.invoke()
 *     y = m.output(0)
 *
 * The tensor arena is one static buffer of MICROTF_ARENA_SIZE bytes outside
 * the GC heap, so inference never touches the heap and the arena is not
 * fragmented by Python objects. One model owns it at a time: creating a Model
 * REPLACES the previous one, whose methods then raise RuntimeError (a Python
 * object's lifetime is up to the GC, so "wait until the old one is gone"
 * could not be relied upon). A failed Model() also ends the previous model,
 * since the arena was overwritten. Memoryviews from input()/output() of a
 * replaced model point at arena bytes that now belong to the new model.
 * The model bytes are read in place: they must not change while the Model lives.
 *
 * Engine status -> exception: MTF_ERR_ARENA_TOO_SMALL -> MemoryError; bad
 * model, unsupported op/type, shape, bad argument -> ValueError; anything
 * else -> RuntimeError; each carries the engine's message.
 */
#include <string.h>

#include "py/binary.h"
#include "py/objarray.h"
#include "py/objstr.h"
#include "py/runtime.h"
#include "microtf.h"

#ifndef MICROTF_ARENA_SIZE
#define MICROTF_ARENA_SIZE (64 * 1024)
#endif

/* Bytes of known pattern after the arena, checked after every invoke. */
#define ARENA_CANARY 16
#define CANARY_BYTE(i) ((uint8_t)(0xa5u ^ (i)))

/* Version of the operator table this firmware was built with: a checksum of
 * ops.def (name-independent) that host tools compute the same way:
 * XOR over entries of ((code << 8 | max_version) * 2654435761 mod 2^32),
 * masked to 30 bits so it is a small int on every port. */
enum {
    MICROTF_OPS_VERSION = (int)((0u
#define MTF_OP(name, code, version, kernel) ^ ((((uint32_t)(code) << 8) | (uint32_t)(version)) * 2654435761u)
#include "ops.def"
#undef MTF_OP
        ) & 0x3fffffffu)
};

static uint8_t mtf_arena[MICROTF_ARENA_SIZE + ARENA_CANARY] __attribute__((aligned(MTF_ARENA_ALIGN)));
/* Bumped by every Model(); a Model whose generation differs was replaced. */
static uint32_t arena_generation;

typedef struct {
    mp_obj_base_t base;
    mp_obj_t buffer;     /* keeps the model bytes alive: the engine reads them in place */
    mtf_model_t *model;  /* inside mtf_arena */
    uint32_t generation;
} microtf_model_obj_t;

static MP_NORETURN void raise_status(mtf_status_t status, const mtf_error_t *err)
{
    if (status == MTF_ERR_ARENA_TOO_SMALL && err->needed > 0) {
        mp_raise_msg_varg(&mp_type_MemoryError, MP_ERROR_TEXT("model needs %u bytes of arena, MICROTF_ARENA_SIZE is %u"),
            (unsigned)err->needed, (unsigned)MICROTF_ARENA_SIZE);
    }
    const char *msg = err != NULL && err->message[0] != '\0' ? err->message : mtf_status_message(status);
    if (status == MTF_ERR_ARENA_TOO_SMALL) {
        mp_raise_msg_varg(&mp_type_MemoryError, MP_ERROR_TEXT("%s (MICROTF_ARENA_SIZE is %u)"),
            msg, (unsigned)MICROTF_ARENA_SIZE);
    }
    bool caller_fault = status == MTF_ERR_BAD_MODEL || status == MTF_ERR_UNSUPPORTED_OP
        || status == MTF_ERR_UNSUPPORTED_TYPE || status == MTF_ERR_SHAPE || status == MTF_ERR_BAD_ARGUMENT;
    mp_raise_msg_varg(caller_fault ? &mp_type_ValueError : &mp_type_RuntimeError, MP_ERROR_TEXT("%s"), msg);
}

static mtf_model_t *model_of(mp_obj_t self_in)
{
    microtf_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (self->generation != arena_generation || self->model == NULL) {
        mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("Model was replaced: one model at a time owns the arena"));
    }
    return self->model;
}

static mp_obj_t microtf_model_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw, const mp_obj_t *args)
{
    mp_arg_check_num(n_args, n_kw, 1, 1, false);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(args[0], &buf, MP_BUFFER_READ);
    microtf_model_obj_t *self = mp_obj_malloc(microtf_model_obj_t, type);
    self->buffer = args[0];
    self->model = NULL;
    self->generation = ++arena_generation; /* the arena is overwritten from here on */
    for (int i = 0; i < ARENA_CANARY; i++) {
        mtf_arena[MICROTF_ARENA_SIZE + i] = CANARY_BYTE(i);
    }
    mtf_error_t err;
    mtf_status_t status = mtf_init(buf.buf, buf.len, mtf_arena, MICROTF_ARENA_SIZE, &self->model, &err);
    if (status != MTF_OK) {
        self->model = NULL;
        raise_status(status, &err);
    }
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t microtf_model_invoke(mp_obj_t self_in)
{
    mtf_error_t err;
    mtf_status_t status = mtf_invoke(model_of(self_in), &err);
    if (status != MTF_OK) {
        raise_status(status, &err);
    }
    for (int i = 0; i < ARENA_CANARY; i++) {
        if (mtf_arena[MICROTF_ARENA_SIZE + i] != CANARY_BYTE(i)) {
            mp_raise_msg(&mp_type_RuntimeError, MP_ERROR_TEXT("microtf: write past the end of the arena"));
        }
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(microtf_model_invoke_obj, microtf_model_invoke);

static mp_obj_t microtf_model_reset(mp_obj_t self_in)
{
    mtf_status_t status = mtf_reset(model_of(self_in));
    if (status != MTF_OK) {
        raise_status(status, NULL);
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_1(microtf_model_reset_obj, microtf_model_reset);

/* Tensor i of the model's inputs (is_input) or outputs, index checked. */
static void tensor_info(mp_obj_t self_in, mp_obj_t index_in, bool is_input, mtf_tensor_info_t *info)
{
    mtf_model_t *m = model_of(self_in);
    mp_int_t i = mp_obj_get_int(index_in);
    mp_int_t count = is_input ? mtf_input_count(m) : mtf_output_count(m);
    if (i < 0 || i >= count) {
        mp_raise_msg_varg(&mp_type_IndexError, MP_ERROR_TEXT("%s %d out of range (model has %d)"),
            is_input ? "input" : "output", (int)i, (int)count);
    }
    mtf_status_t status = is_input ? mtf_input(m, i, info) : mtf_output(m, i, info);
    if (status != MTF_OK) {
        raise_status(status, NULL);
    }
}

/* array typecode and name of an engine dtype; typecode 0 if not viewable. */
static char dtype_code(mtf_dtype_t dtype, const char **name)
{
    switch (dtype) {
        case MTF_INT8: *name = "int8"; return 'b';
        case MTF_UINT8: *name = "uint8"; return 'B';
        case MTF_BOOL: *name = "bool"; return 'B';
        case MTF_INT16: *name = "int16"; return 'h';
        case MTF_INT32: *name = "int32"; return 'i';
        case MTF_FLOAT32: *name = "float32"; return 'f';
        case MTF_INT64: *name = "int64"; return 'q';
        default: *name = "unknown"; return 0;
    }
}

static mp_obj_t tensor_view(mp_obj_t self_in, mp_obj_t index_in, bool is_input)
{
    mtf_tensor_info_t info;
    tensor_info(self_in, index_in, is_input, &info);
    const char *name;
    char code = dtype_code(info.dtype, &name);
    if (code == 0) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("tensor type %d has no buffer view"), (int)info.dtype);
    }
    size_t item = mp_binary_get_size('@', code, NULL);
    /* inputs are written by the caller; outputs are read-only views */
    byte typecode = code | (is_input ? MP_OBJ_ARRAY_TYPECODE_FLAG_RW : 0);
    return mp_obj_new_memoryview(typecode, info.bytes / item, info.data);
}

static mp_obj_t microtf_model_input(mp_obj_t self_in, mp_obj_t index_in)
{
    return tensor_view(self_in, index_in, true);
}
static MP_DEFINE_CONST_FUN_OBJ_2(microtf_model_input_obj, microtf_model_input);

static mp_obj_t microtf_model_output(mp_obj_t self_in, mp_obj_t index_in)
{
    return tensor_view(self_in, index_in, false);
}
static MP_DEFINE_CONST_FUN_OBJ_2(microtf_model_output_obj, microtf_model_output);

/* (shape tuple, dtype name, scale, zero_point) */
static mp_obj_t info_tuple(mp_obj_t self_in, mp_obj_t index_in, bool is_input)
{
    mtf_tensor_info_t info;
    tensor_info(self_in, index_in, is_input, &info);
    mp_obj_t dims[MTF_MAX_DIMS];
    for (int d = 0; d < info.ndims && d < MTF_MAX_DIMS; d++) {
        dims[d] = MP_OBJ_NEW_SMALL_INT(info.dims[d]);
    }
    const char *name;
    dtype_code(info.dtype, &name);
    mp_obj_t items[4] = {
        mp_obj_new_tuple(info.ndims, dims),
        mp_obj_new_str_from_cstr(name),
        mp_obj_new_float(info.scale),
        mp_obj_new_int(info.zero_point),
    };
    return mp_obj_new_tuple(4, items);
}

static mp_obj_t microtf_model_input_info(mp_obj_t self_in, mp_obj_t index_in)
{
    return info_tuple(self_in, index_in, true);
}
static MP_DEFINE_CONST_FUN_OBJ_2(microtf_model_input_info_obj, microtf_model_input_info);

static mp_obj_t microtf_model_output_info(mp_obj_t self_in, mp_obj_t index_in)
{
    return info_tuple(self_in, index_in, false);
}
static MP_DEFINE_CONST_FUN_OBJ_2(microtf_model_output_info_obj, microtf_model_output_info);

/* [(name, version, supported), ...] for the operator codes the model uses. */
static mp_obj_t microtf_model_ops(mp_obj_t self_in)
{
    model_of(self_in);
    microtf_model_obj_t *self = MP_OBJ_TO_PTR(self_in);
    mp_buffer_info_t buf;
    mp_get_buffer_raise(self->buffer, &buf, MP_BUFFER_READ);
    mtf_error_t err;
    int count = 0;
    mtf_status_t status = mtf_list_ops(buf.buf, buf.len, NULL, 0, &count, &err);
    mtf_op_info_t *ops = m_new(mtf_op_info_t, count > 0 ? count : 1);
    if (status == MTF_OK) {
        status = mtf_list_ops(buf.buf, buf.len, ops, count, &count, &err);
    }
    if (status != MTF_OK) {
        raise_status(status, &err);
    }
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (int i = 0; i < count; i++) {
        mp_obj_t entry[3] = {
            mp_obj_new_str_from_cstr(ops[i].name), MP_OBJ_NEW_SMALL_INT(ops[i].version), mp_obj_new_bool(ops[i].supported),
        };
        mp_obj_list_append(list, mp_obj_new_tuple(3, entry));
    }
    m_del(mtf_op_info_t, ops, count > 0 ? count : 1);
    return list;
}
static MP_DEFINE_CONST_FUN_OBJ_1(microtf_model_ops_obj, microtf_model_ops);

/* Read-only attributes n_inputs, n_outputs, arena_used; the rest from locals. */
static void microtf_model_attr(mp_obj_t self_in, qstr attr, mp_obj_t *dest)
{
    if (dest[0] != MP_OBJ_NULL
        || (attr != MP_QSTR_n_inputs && attr != MP_QSTR_n_outputs && attr != MP_QSTR_arena_used)) {
        dest[1] = MP_OBJ_SENTINEL;
        return;
    }
    mtf_model_t *m = model_of(self_in);
    if (attr == MP_QSTR_n_inputs) {
        dest[0] = MP_OBJ_NEW_SMALL_INT(mtf_input_count(m));
    } else if (attr == MP_QSTR_n_outputs) {
        dest[0] = MP_OBJ_NEW_SMALL_INT(mtf_output_count(m));
    } else {
        dest[0] = mp_obj_new_int_from_uint(mtf_arena_used(m));
    }
}

static const mp_rom_map_elem_t microtf_model_locals_table[] = {
    { MP_ROM_QSTR(MP_QSTR_invoke), MP_ROM_PTR(&microtf_model_invoke_obj) },
    { MP_ROM_QSTR(MP_QSTR_reset), MP_ROM_PTR(&microtf_model_reset_obj) },
    { MP_ROM_QSTR(MP_QSTR_input), MP_ROM_PTR(&microtf_model_input_obj) },
    { MP_ROM_QSTR(MP_QSTR_output), MP_ROM_PTR(&microtf_model_output_obj) },
    { MP_ROM_QSTR(MP_QSTR_input_info), MP_ROM_PTR(&microtf_model_input_info_obj) },
    { MP_ROM_QSTR(MP_QSTR_output_info), MP_ROM_PTR(&microtf_model_output_info_obj) },
    { MP_ROM_QSTR(MP_QSTR_ops), MP_ROM_PTR(&microtf_model_ops_obj) },
};
static MP_DEFINE_CONST_DICT(microtf_model_locals, microtf_model_locals_table);

static MP_DEFINE_CONST_OBJ_TYPE(
    microtf_model_type,
    MP_QSTR_Model,
    MP_TYPE_FLAG_NONE,
    make_new, microtf_model_make_new,
    attr, microtf_model_attr,
    locals_dict, &microtf_model_locals
    );

static const MP_DEFINE_STR_OBJ(microtf_version_obj, MTF_VERSION_STRING);

static const mp_rom_map_elem_t microtf_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR__microtf) },
    { MP_ROM_QSTR(MP_QSTR_Model), MP_ROM_PTR(&microtf_model_type) },
    { MP_ROM_QSTR(MP_QSTR_ARENA_SIZE), MP_ROM_INT(MICROTF_ARENA_SIZE) },
    { MP_ROM_QSTR(MP_QSTR_VERSION), MP_ROM_PTR(&microtf_version_obj) },
    { MP_ROM_QSTR(MP_QSTR_OPS_VERSION), MP_ROM_INT(MICROTF_OPS_VERSION) },
};
static MP_DEFINE_CONST_DICT(microtf_module_globals, microtf_module_globals_table);

const mp_obj_module_t microtf_user_cmodule = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&microtf_module_globals,
};

MP_REGISTER_MODULE(MP_QSTR__microtf, microtf_user_cmodule);
