// The stub library's own source: refers to the module object, so the binding must define it.
#include "py/obj.h"

extern const mp_obj_module_t microtf_user_cmodule;

const mp_obj_module_t *microtf_stub_module(void)
{
    return &microtf_user_cmodule;
}
