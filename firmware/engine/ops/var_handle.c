/* VAR_HANDLE: names a resource variable; see src/mtf_core_variables.c (shared with READ/ASSIGN_VARIABLE). */
#include "mtf_arena.h"

const mtf_kernel_t mtf_kernel_var_handle = {mtf_variable_prepare, mtf_variable_eval};
