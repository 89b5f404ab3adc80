/*
 * SQUEEZE: drop dims of size 1; the bytes are copied unchanged.
 *
 * Options (SqueezeOptions): squeeze_dims = 0 (empty or absent: every dim of
 * size 1). TFLite Micro takes at most 8 squeeze dims and requires each named
 * dim to have size 1.
 */
#include "mtf_slices.h"

#define SQUEEZE_MAX_DIMS 8

/* Element types TFLite Micro squeezes. */
#define SQUEEZE_TYPES \
    (MTF_DT(MTF_INT8) | MTF_DT(MTF_UINT8) | MTF_DT(MTF_BOOL) | MTF_DT(MTF_INT16) | \
     MTF_DT(MTF_FLOAT16) | MTF_DT(MTF_INT32) | MTF_DT(MTF_FLOAT32) | MTF_DT(MTF_INT64) | \
     MTF_DT(MTF_FLOAT64))

static mtf_status_t squeeze_prepare(mtf_model_t *m, mtf_node_t *node)
{
    mtf_move_io_t io;
    MTF_TRY(mtf_move_io(m, node, MTF_INS(1, 1) | SQUEEZE_TYPES, &io));

    const mtf_tensor_t *in = io.in;
    int dims = in->ndims;
    int32_t list[SQUEEZE_MAX_DIMS];
    int count = mtf_opt_i32_vec(node, 0, list, SQUEEZE_MAX_DIMS);
    MTF_ENSURE(m, count <= SQUEEZE_MAX_DIMS, MTF_ERR_UNSUPPORTED_TYPE, "more than 8 squeeze dims");
    /* Bit k of drop: dim k goes; without a list, every dim of size 1 goes. */
    uint32_t drop = 0;
    for (int k = 0; k < dims && count <= 0; k++)
        drop |= (uint32_t)(in->dims[k] == 1) << k;
    for (int i = 0; i < count; i++) {
        int32_t k = list[i] < 0 ? list[i] + dims : list[i];
        MTF_ENSURE(m, k >= 0 && k < dims && in->dims[k] == 1, MTF_ERR_SHAPE, "cannot squeeze a dim");
        drop |= 1u << k;
    }
    return mtf_move_dims(m, io.out, in, MTF_DIMS_DROP(drop));
}

const mtf_kernel_t mtf_kernel_squeeze = {squeeze_prepare, mtf_copy_through_eval};
