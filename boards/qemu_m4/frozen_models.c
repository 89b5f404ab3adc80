// The `frozen_models` module: .tflite files linked into flash (make MODELS=...),
// handed out as read-only memoryviews, so a model larger than the GC heap
// (person_detect: 300 KB) runs in place, as frozen models do on real boards.
//
//     import frozen_models, _microtf
//     m = _microtf.Model(frozen_models.get("person_detect"))
#include <string.h>

#include "py/runtime.h"
#ifdef FROZEN_MODELS_H
#include FROZEN_MODELS_H // from MODELS: #define FROZEN_MODELS FROZEN_MODEL(index, "name", "path")...
#else
#define FROZEN_MODELS
#endif

// Each file goes in verbatim with .incbin, 16-byte aligned for the engine.
#define FROZEN_MODEL(i, name, path) \
    __asm__ (".section .rodata.frozen_models,\"a\"\n.balign 16\nfrozen_model_" #i ":\n" \
    ".incbin \"" path "\"\nfrozen_model_" #i "_end:\n.previous\n"); \
    extern const uint8_t frozen_model_##i[], frozen_model_##i##_end[];
FROZEN_MODELS
#undef FROZEN_MODEL

typedef struct {
    const char *name;
    const uint8_t *start;
    const uint8_t *end;
} frozen_model_t;

static const frozen_model_t frozen_models[] = {
#define FROZEN_MODEL(i, name, path) { name, frozen_model_##i, frozen_model_##i##_end },
    FROZEN_MODELS
#undef FROZEN_MODEL
    { NULL, NULL, NULL },
};

static mp_obj_t frozen_models_names(void)
{
    mp_obj_t list = mp_obj_new_list(0, NULL);
    for (const frozen_model_t *f = frozen_models; f->name != NULL; f++) {
        mp_obj_list_append(list, mp_obj_new_str_from_cstr(f->name));
    }
    return list;
}
static MP_DEFINE_CONST_FUN_OBJ_0(frozen_models_names_obj, frozen_models_names);

static mp_obj_t frozen_models_get(mp_obj_t name_in)
{
    const char *name = mp_obj_str_get_str(name_in);
    for (const frozen_model_t *f = frozen_models; f->name != NULL; f++) {
        if (strcmp(f->name, name) == 0) {
            return mp_obj_new_memoryview('B', f->end - f->start, (void *)f->start);
        }
    }
    mp_raise_type_arg(&mp_type_KeyError, name_in);
}
static MP_DEFINE_CONST_FUN_OBJ_1(frozen_models_get_obj, frozen_models_get);

static const mp_rom_map_elem_t frozen_models_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_frozen_models) },
    { MP_ROM_QSTR(MP_QSTR_names), MP_ROM_PTR(&frozen_models_names_obj) },
    { MP_ROM_QSTR(MP_QSTR_get), MP_ROM_PTR(&frozen_models_get_obj) },
};
static MP_DEFINE_CONST_DICT(frozen_models_globals, frozen_models_globals_table);

const mp_obj_module_t frozen_models_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&frozen_models_globals,
};
MP_REGISTER_MODULE(MP_QSTR_frozen_models, frozen_models_module);
