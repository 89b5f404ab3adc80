/* ASSIGN_VARIABLE: copies a tensor into a resource variable; see src/mtf_core_variables.c. */
#include "mtf_arena.h"

const mtf_kernel_t mtf_kernel_assign_variable = {mtf_variable_prepare, mtf_variable_eval};
