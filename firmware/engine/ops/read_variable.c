/* READ_VARIABLE: copies a resource variable into the output; see src/mtf_core_variables.c. */
#include "mtf_arena.h"

const mtf_kernel_t mtf_kernel_read_variable = {mtf_variable_prepare, mtf_variable_eval};
