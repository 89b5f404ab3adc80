/*
 * mtf_arena.h - the engine's own structures and how they sit in the arena.
 *
 * The caller gives one arena. Its start is rounded up to MTF_ARENA_ALIGN and
 * its end down to MTF_TAIL_ALIGN; the padding counts as used.
 *
 *   arena                                                          arena + size
 *   |pad| HEAD: planned buffers          |   free   | TAIL: persistent data     |
 *       | activations and scratch, placed |          | op data, variables,       |
 *       | by the planner (mtf_planner.h); |          | scratch records, resource |
 *       | offsets are multiples of 16     |          | records, node arrays,     |
 *       |                                 |          | tensor arrays, subgraph   |
 *       |                                 |          | array, struct mtf_model   |
 *       ^ base                    base + head_size  ^ tail                     ^ end
 *
 *  - The TAIL grows down from end. struct mtf_model is allocated first (it is
 *    the highest object; it holds MTF_CONST_SLOTS decoded constant tensors),
 *    then the subgraph array, then per subgraph (main first, then each
 *    subgraph a CALL_ONCE runs, when its CALL_ONCE is read): the tensor map
 *    (4 bytes per tensor), is_variable buffers, the mtf_tensor_t array of the
 *    non-constant tensors, the node array; then whatever prepare functions ask
 *    for (op data, scratch records, resource records and variable buffers),
 *    in subgraph and node order. Every tail block is a multiple of
 *    MTF_TAIL_ALIGN bytes.
 *  - Constant tensors cost 4 bytes (their map entry): their data stays in the
 *    model bytes and their mtf_tensor_t is decoded on demand into a slot.
 *  - The HEAD is laid out only after every prepare ran, because kernels ask for
 *    scratch in prepare. While planning, the planner's working records sit in
 *    the free gap just above base (they die before any buffer is used), so
 *        used = pad + max(head_size, planner records) + tail bytes + end pad.
 *    mtf_arena_used() and err->needed report exactly this figure.
 *  - Nothing else of the engine lives anywhere: no globals, no heap, no
 *    stack buffers proportional to the model.
 */
#ifndef MTF_ARENA_H
#define MTF_ARENA_H

#include "mtf_kernel.h"

#define MTF_TAIL_ALIGN 8

/* Internal tensor flags (beside MTF_TENSOR_CONST/VARIABLE). */
#define MTF_TENSOR_PLANNED 0x04 /* data is placed by the planner */

/* Builtin codes the core itself looks at. */
#define MTF_CODE_CALL_ONCE 129
#define MTF_CODE_VAR_HANDLE 142
#define MTF_CODE_READ_VARIABLE 143
#define MTF_CODE_ASSIGN_VARIABLE 144

/* A checked vector of the model: len elements start at model offset pos. */
typedef struct {
    uint32_t pos;
    uint32_t len;
} mtf_vec_t;

/* The input and output tensor lists of a node or subgraph: model offsets of
 * their first int32 (checked at init: every index is a tensor of the subgraph,
 * or -1 for an absent node input). mtf_io_tensor() reads entry e of inputs
 * followed by outputs, so one loop can visit both. */
typedef struct {
    uint32_t inputs;
    uint32_t outputs;
    uint16_t n_inputs;
    uint16_t n_outputs;
} mtf_io_t;
int32_t mtf_io_tensor(const mtf_model_t *m, const mtf_io_t *io, uint32_t e);

struct mtf_node {
    const uint8_t *opt;       /* builtin options table in the model bytes, NULL if none */
    void *data;               /* op data set by prepare */
    uint32_t opt_room;        /* bytes from opt to the end of the model (bounds for mtf_opt_*) */
    mtf_io_t io;
    int32_t step;             /* time step of this node in the planner's timeline */
    uint8_t code;             /* builtin operator code (all codes in ops.def are < 256) */
    uint8_t version;
    uint8_t opt_type;         /* BuiltinOptions union type */
    uint8_t kernel;           /* index in the registry (mtf_kernel_at) */
};

/* Constant tensors have no persistent mtf_tensor_t (it would cost ~3x what
 * TFLite Micro spends per tensor): the tensor map holds their table's
 * position, and mtf_node_input() decodes them into one of these slots, chosen
 * by input index, with mtf_read_const() (no checks: the table was checked at
 * init; about 100 instructions on a Cortex-M4). Kernels that need a constant
 * at every invoke may also keep its data pointer from prepare. A slot stays valid while the kernel function runs, as long
 * as it does not fetch another constant input with the same slot. */
#define MTF_CONST_SLOTS 4
#define MTF_TMAP_CONST 0x80000000u

typedef struct {
    mtf_tensor_t *tensors;    /* non-constant tensors, in tensor index order */
    uint32_t *tmap;           /* per tensor index: index in tensors, or MTF_TMAP_CONST | table position */
    mtf_node_t *nodes;
    int32_t n_tensors;        /* all tensors of the subgraph */
    int32_t n_full;           /* entries of tensors */
    int32_t n_nodes;
    mtf_io_t io;
    int32_t first_step;       /* timeline range of this subgraph (inclusive) */
    int32_t last_step;
    int32_t spare;            /* unused (keeps the arena figures); tmap != NULL marks a read subgraph */
} mtf_subgraph_t;

struct mtf_model {
    const uint8_t *fb;        /* model bytes */
    uint32_t fb_len;          /* at most 0x7fffffff: sums of two offsets never wrap */
    mtf_vec_t buffers;        /* the model's buffers vector (uoffsets to tables) */
    uint8_t *arena;           /* as given */
    size_t arena_size;
    uint8_t *base;            /* aligned start: head buffers are placed from here */
    uint8_t *end;             /* aligned end: the tail grows down from here */
    uint8_t *tail;            /* lowest byte of the tail in use */
    size_t head_size;         /* planned bytes at base */
    size_t used;              /* total arena bytes needed (see the drawing above) */
    mtf_subgraph_t *subgraphs;
    int32_t n_subgraphs;
    mtf_error_t *err;         /* where messages go (may be NULL) */
    mtf_status_t status;      /* first failure of the current call */
    int32_t cur_subgraph;     /* for "op N NAME:" message prefixes; -1 outside nodes */
    int32_t cur_node;
    uint32_t scratch_last;    /* handle of the last scratch record (0: none) */
    uint32_t resource_last;   /* handle of the last resource record (0: none) */
    int32_t n_resources;
    uint32_t reset_count;     /* bumped by mtf_reset: CALL_ONCE re-arms on change */
    int32_t total_steps;
    uint8_t ready;
    uint8_t preparing;        /* persistent allocation and scratch requests allowed */
    uint8_t depth;            /* nesting of mtf_invoke_subgraph */
    mtf_tensor_t slots[MTF_CONST_SLOTS]; /* decoded constant inputs */
};

/* A scratch request, kept in the tail; its handle is its distance from end. */
typedef struct {
    uint32_t size;
    uint32_t offset;          /* from base, once planned */
    uint32_t prev;            /* handle of the previous record (0: none) */
    int32_t step;
} mtf_scratch_rec_t;

/* A resource variable, keyed by container and shared_name (TFLite Micro's
 * MicroResourceVariables). Its id is its creation index. */
typedef struct {
    const uint8_t *container; /* model bytes, not NUL-terminated; NULL when absent */
    const uint8_t *name;
    uint32_t container_len;
    uint32_t name_len;
    uint8_t *buffer;          /* tail, NULL until an ASSIGN_VARIABLE prepare sizes it */
    int32_t bytes;
    int32_t default_value;    /* byte value written at allocation and reset */
    uint32_t prev;            /* handle of the previous record (0: none) */
    int32_t id;               /* creation index; VAR_HANDLE outputs point here */
} mtf_resource_t;

static inline size_t mtf_round_up(size_t v, size_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/* The persistent struct of tensor idx of subgraph sg, NULL for a constant. */
static inline mtf_tensor_t *full_tensor(const mtf_subgraph_t *sg, int32_t idx)
{
    uint32_t e = sg->tmap[idx];
    return (e & MTF_TMAP_CONST) ? NULL : &sg->tensors[e];
}

#define MTF_MAX_CALL_DEPTH 8
/* Lifetimes, placement and data pointers of every planned buffer (mtf_planner.c). */
mtf_status_t mtf_plan_model(mtf_model_t *m);

/* Tail allocation (never fails silently: on failure it records ARENA_TOO_SMALL). */
void *mtf_tail_alloc(mtf_model_t *m, size_t bytes);
static inline void *mtf_handle_ptr(const mtf_model_t *m, uint32_t handle)
{
    return m->end - handle;
}

/* Operator names (registry). */
const char *mtf_op_name(int32_t code);
/* Registry index of the kernel for code and version: -1 when ops.def lists
 * the code but this build lacks the kernel or the version, -2 when it does
 * not list the code at all. */
int mtf_find_kernel(int32_t code, int32_t version);
const mtf_kernel_t *mtf_kernel_at(int index);

/* Prepare and eval of VAR_HANDLE, READ_VARIABLE and ASSIGN_VARIABLE (mtf_core_variables.c). */
mtf_status_t mtf_variable_prepare(mtf_model_t *m, mtf_node_t *node);
mtf_status_t mtf_variable_eval(mtf_model_t *m, mtf_node_t *node);

/* For tests (not in microtf.h): data of a non-constant tensor, NULL otherwise. */
const void *mtf_debug_tensor_data(const mtf_model_t *m, int subgraph, int tensor);

/* Tensor element size in bytes; 0 for types the engine cannot hold. */
int mtf_dtype_size(int dtype);

#endif /* MTF_ARENA_H */
