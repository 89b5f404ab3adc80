/* mtf_reader.c - bounds-checked flatbuffer access; see mtf_reader.h. */
#include "mtf_reader.h"

static float rd_f32_at(const uint8_t *p)
{
    uint32_t u = mtf_rd_u32_at(p);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* True when [pos, pos + n) lies inside the model. */
static int in_model(const mtf_model_t *m, uint32_t pos, uint32_t n)
{
    return n <= m->fb_len && pos <= m->fb_len - n;
}

/* Follow the uoffset stored at p (4 bytes inside the model): the target, or
 * UINT32_MAX (outside any model) when the sum wraps. */
static uint32_t follow(const mtf_model_t *m, uint32_t p)
{
    uint32_t target = p + mtf_rd_u32_at(m->fb + p);
    return target < p ? UINT32_MAX : target;
}

/* Check the header (root offset, lenient "TFL3" identifier) and open the root table. */
static void rd_root(mtf_model_t *m, mtf_table_t *root)
{
    /* Under 8 bytes (an empty or cut file, the commonest bad input): say so
     * rather than leave it to the table check. */
    uint32_t pos = UINT32_MAX;
    if (m->fb_len < 8) {
        mtf_fail(m, MTF_ERR_BAD_MODEL, "model too short");
    } else {
        /* TFLite accepts a missing identifier (old files) but not a wrong one:
         * only bytes 4..7 that look like an identifier are compared. */
        uint32_t id = mtf_rd_u32_at(m->fb + 4);
        int printable = 1;
        for (int i = 0; i < 32; i += 8)
            printable &= ((id >> i) & 0xff) - 0x20 < 0x5f;
        if (printable && id != 0x334c4654u) /* "TFL3" */
            mtf_fail(m, MTF_ERR_BAD_MODEL, "not a .tflite model (identifier is not TFL3)");
        pos = mtf_rd_u32_at(m->fb);
    }
    mtf_rd_table(m, pos, root);
}

void mtf_rd_table(mtf_model_t *m, uint32_t pos, mtf_table_t *t)
{
    uint32_t vt, vt_len, tbl_len;
    memset(t, 0, sizeof *t);
    if (!in_model(m, pos, 4))
        goto bad;
    /* The soffset is signed: a vtable before 0 wraps to 2^31 or more, outside the model. */
    vt = pos - mtf_rd_u32_at(m->fb + pos);
    if (!in_model(m, vt, 4))
        goto bad;
    vt_len = mtf_rd_u16_at(m->fb + vt);
    tbl_len = mtf_rd_u16_at(m->fb + vt + 2);
    if (vt_len < 4 || (vt_len & 1) || !in_model(m, vt, vt_len) || tbl_len < 4 || !in_model(m, pos, tbl_len))
        goto bad;
    t->pos = pos;
    t->vt = vt;
    t->vt_len = (uint16_t)vt_len;
    t->tbl_len = (uint16_t)tbl_len;
    return;
bad:
    mtf_fail(m, MTF_ERR_BAD_MODEL, "table or vtable out of bounds");
}

mtf_status_t mtf_open_model(mtf_model_t *m, const void *model, size_t model_len, fb_model_t *f)
{
    mtf_table_t root;
    if (model_len > 0x7fffffffu)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "model larger than 2 GB");
    m->fb = model;
    m->fb_len = (uint32_t)model_len;
    rd_root(m, &root);
    mtf_rd_fields(m, &root,
                  MTF_FLDS(MTF_FLD(MTF_F_MODEL_OPCODES, MTF_K_VEC2), MTF_FLD(MTF_F_MODEL_SUBGRAPHS, MTF_K_VEC2),
                           MTF_FLD(MTF_F_MODEL_BUFFERS, MTF_K_VEC2), 0, 0),
                  f);
    m->buffers = f->buffers;
    return m->status;
}

/* Model position of a field of size bytes, 0 when absent (a present field is
 * never at 0: its offset in the table is not 0) or when it does not fit its
 * table (a failure). */
static uint32_t field_at(mtf_model_t *m, const mtf_table_t *t, int field, uint32_t size)
{
    uint32_t slot = 4 + 2 * (uint32_t)field;
    if (slot + 2 > t->vt_len)
        return 0;
    uint32_t off = mtf_rd_u16_at(m->fb + t->vt + slot);
    if (off != 0 && off + size > t->tbl_len) {
        mtf_fail(m, MTF_ERR_BAD_MODEL, "field %d does not fit its table", field);
        off = 0;
    }
    return off ? t->pos + off : 0;
}

void mtf_rd_vec_table(mtf_model_t *m, const mtf_vec_t *v, uint32_t i, mtf_table_t *t)
{
    /* i < v->len: the vector was checked to hold its uoffsets. */
    mtf_rd_table(m, follow(m, v->pos + 4 * i), t);
}

void mtf_rd_fields(mtf_model_t *m, const mtf_table_t *t, uint32_t spec, void *out)
{
    uint8_t *o = out;
    uint32_t dflt = spec >> 31;
    for (spec &= ~MTF_DFLT1; spec != 0; spec >>= 6) {
        uint32_t kind = (spec >> 3) & 7;
        uint32_t size = kind == MTF_K_U8 ? 1 : kind == MTF_K_U64 ? 8 : 4;
        uint32_t p = field_at(m, t, (int)(spec & 7), size);
        if (kind == MTF_K_SUB) {
            mtf_table_t *sub = (mtf_table_t *)(void *)o;
            memset(sub, 0, sizeof *sub);
            if (p != 0)
                mtf_rd_table(m, follow(m, p), sub);
            o += sizeof *sub;
        } else if (kind >= MTF_K_VEC0) {
            /* Elements of 1, 4 or 8 bytes. */
            uint32_t shift = kind - MTF_K_VEC0;
            shift += shift != 0;
            mtf_vec_t *v = (mtf_vec_t *)(void *)o;
            v->pos = 0;
            v->len = 0;
            o += sizeof *v;
            if (p == 0)
                continue;
            p = follow(m, p);
            if (in_model(m, p, 4)) {
                uint32_t len = mtf_rd_u32_at(m->fb + p);
                uint32_t room = m->fb_len - p - 4;
#ifdef MTF_FUZZ_PLANT_OOB
                /* Planted bug for the fuzz harness's self-test: vector lengths go unchecked. */
                room = UINT32_MAX;
#endif
                if (len <= room >> shift) {
                    v->pos = p + 4;
                    v->len = len;
                    continue;
                }
            }
            mtf_fail(m, MTF_ERR_BAD_MODEL, "vector overruns the model");
        } else {
            uint32_t v = kind == MTF_K_U32 ? dflt : 0;
            if (p != 0) {
                const uint8_t *b = m->fb + p;
                /* U64: the low word, or UINT32_MAX when the value does not fit 32 bits. */
                v = size == 1 ? b[0] : size == 8 && mtf_rd_u32_at(b + 4) != 0 ? UINT32_MAX : mtf_rd_u32_at(b);
            }
            memcpy(o, &v, sizeof v);
            o += sizeof v;
        }
    }
}

int32_t mtf_io_tensor(const mtf_model_t *m, const mtf_io_t *io, uint32_t e)
{
    uint32_t pos = e < io->n_inputs ? io->inputs + 4 * e : io->outputs + 4 * (e - io->n_inputs);
    return (int32_t)mtf_rd_u32_at(m->fb + pos);
}

/* ---- builtin options, for kernels (the node's table was opened at init) ---- */

/* Pointer to a field of size bytes in the node's options, NULL when absent or not fitting. */
static const uint8_t *opt_field(const mtf_node_t *node, int field, uint32_t size)
{
    const uint8_t *t = node->opt;
    if (t == NULL || field < 0 || field > 1000)
        return NULL;
    /* vtable and table bounds were checked by mtf_rd_table at init. */
    const uint8_t *vt = t - (int32_t)mtf_rd_u32_at(t);
    uint32_t slot = 4 + 2 * (uint32_t)field;
    if (slot + 2 > mtf_rd_u16_at(vt))
        return NULL;
    uint32_t off = mtf_rd_u16_at(vt + slot);
    if (off == 0 || off + size > mtf_rd_u16_at(vt + 2))
        return NULL;
    return t + off;
}

int32_t mtf_opt_i32(const mtf_node_t *node, int field, int32_t dflt)
{
    const uint8_t *p = opt_field(node, field, 4);
    return p ? (int32_t)mtf_rd_u32_at(p) : dflt;
}

int32_t mtf_opt_u8(const mtf_node_t *node, int field, int32_t dflt)
{
    const uint8_t *p = opt_field(node, field, 1);
    return p ? (int32_t)p[0] : dflt;
}

int32_t mtf_opt_i8(const mtf_node_t *node, int field, int32_t dflt)
{
    const uint8_t *p = opt_field(node, field, 1);
    return p ? (int32_t)(int8_t)p[0] : dflt;
}

float mtf_opt_f32(const mtf_node_t *node, int field, float dflt)
{
    const uint8_t *p = opt_field(node, field, 4);
    return p ? rd_f32_at(p) : dflt;
}

/* Start of the vector or string of (1 << shift)-byte elements an offset field
 * points to, with its length; NULL when absent or out of bounds. */
static const uint8_t *opt_vector(const mtf_node_t *node, int field, uint32_t shift, uint32_t *len)
{
    const uint8_t *p = opt_field(node, field, 4);
    if (p == NULL)
        return NULL;
    /* rel + 4 <= opt_room: the field lies in its table, inside the model. */
    uint32_t rel = (uint32_t)(p - node->opt), off = mtf_rd_u32_at(p);
    if (off > node->opt_room - rel - 4)
        return NULL;
    rel += off + 4;
    uint32_t n = mtf_rd_u32_at(node->opt + rel - 4);
    if (n > (node->opt_room - rel) >> shift)
        return NULL;
    *len = n;
    return node->opt + rel;
}

int mtf_opt_i32_vec(const mtf_node_t *node, int field, int32_t *out, int max)
{
    uint32_t n;
    const uint8_t *v = opt_vector(node, field, 2, &n);
    if (v == NULL)
        return -1;
    /* n < 2^29: its bytes are inside the model. */
    for (int i = 0; i < (int)n && i < max; i++)
        out[i] = (int32_t)mtf_rd_u32_at(v + 4 * i);
    return (int)n;
}

int mtf_opt_str(const mtf_node_t *node, int field, const uint8_t **str)
{
    uint32_t n;
    const uint8_t *v = opt_vector(node, field, 0, &n);
    if (v == NULL)
        return -1;
    *str = v;
    return (int)n;
}

int mtf_opt_type(const mtf_node_t *node)
{
    return node->opt_type;
}

/* ---- quantization parameters (vectors checked at init) ---- */

float mtf_tensor_scale(const mtf_tensor_t *t, int channel)
{
    /* q_scales is set whenever q_count > 0 (mtf_read_const). */
    if ((uint32_t)channel >= (uint32_t)t->q_count)
        return 0.0f;
    return rd_f32_at(t->q_scales + 4 * (uint32_t)channel);
}

int32_t mtf_tensor_zero_point(const mtf_tensor_t *t, int channel)
{
    if ((uint32_t)channel >= (uint32_t)t->q_count || t->q_zero_points == NULL)
        return 0;
    /* int64 in the schema; TFLite Micro keeps the low 32 bits. */
    return (int32_t)mtf_rd_u32_at(t->q_zero_points + 8 * (uint32_t)channel);
}
