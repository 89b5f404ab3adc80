/* mtf_reader.c - bounds-checked flatbuffer access; see mtf_reader.h. */
#include "mtf_reader.h"

/* True when [pos, pos + n) lies inside the model (64-bit sum: no wrap). */
static int in_model(const mtf_model_t *m, uint64_t pos, uint64_t n)
{
    return pos + n <= (uint64_t)m->fb_len;
}

int mtf_rd_root(mtf_model_t *m, mtf_table_t *root)
{
    if (m->fb_len < 8)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "model too short (%u bytes)", m->fb_len), -1;
    /* TFLite accepts a missing identifier (old files) but not a wrong one:
     * only bytes 4..7 that look like an identifier are compared. */
    const uint8_t *id = m->fb + 4;
    int printable = 1;
    for (int i = 0; i < 4; i++)
        printable &= id[i] >= 0x20 && id[i] < 0x7f;
    if (printable && memcmp(id, "TFL3", 4) != 0)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "not a .tflite model (identifier is not TFL3)"), -1;
    return mtf_rd_table(m, mtf_rd_u32_at(m->fb), root, "model");
}

int mtf_rd_table(mtf_model_t *m, uint32_t pos, mtf_table_t *t, const char *what)
{
    if (!in_model(m, pos, 4))
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "%s table at %u is out of bounds", what, pos), -1;
    int64_t vt = (int64_t)pos - (int64_t)(int32_t)mtf_rd_u32_at(m->fb + pos);
    if (vt < 0 || !in_model(m, (uint64_t)vt, 4))
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "%s vtable out of bounds", what), -1;
    uint16_t vt_len = mtf_rd_u16_at(m->fb + vt);
    uint16_t tbl_len = mtf_rd_u16_at(m->fb + vt + 2);
    if (vt_len < 4 || (vt_len & 1) || !in_model(m, (uint64_t)vt, vt_len) || tbl_len < 4 ||
        !in_model(m, pos, tbl_len))
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "%s vtable is malformed", what), -1;
    t->pos = pos;
    t->vt = (uint32_t)vt;
    t->vt_len = vt_len;
    t->tbl_len = tbl_len;
    return 0;
}

/* Absolute position of a field of size bytes: 0 when absent, -1 (as int64) when it does not fit. */
static int64_t field_pos(const mtf_model_t *m, const mtf_table_t *t, int field, uint32_t size)
{
    uint32_t slot = 4 + 2 * (uint32_t)field;
    if (slot + 2 > t->vt_len)
        return 0;
    uint16_t off = mtf_rd_u16_at(m->fb + t->vt + slot);
    if (off == 0)
        return 0;
    if ((uint32_t)off + size > t->tbl_len)
        return -1;
    return (int64_t)t->pos + off;
}

static int bad_field(mtf_model_t *m, int field)
{
    mtf_fail(m, MTF_ERR_BAD_MODEL, "field %d does not fit its table", field);
    return -1;
}

int mtf_rd_u8(mtf_model_t *m, const mtf_table_t *t, int field, uint8_t dflt, uint8_t *out)
{
    int64_t p = field_pos(m, t, field, 1);
    if (p < 0)
        return bad_field(m, field);
    *out = p ? m->fb[p] : dflt;
    return 0;
}

int mtf_rd_i32(mtf_model_t *m, const mtf_table_t *t, int field, int32_t dflt, int32_t *out)
{
    int64_t p = field_pos(m, t, field, 4);
    if (p < 0)
        return bad_field(m, field);
    *out = p ? (int32_t)mtf_rd_u32_at(m->fb + p) : dflt;
    return 0;
}

int mtf_rd_u64(mtf_model_t *m, const mtf_table_t *t, int field, uint64_t *out)
{
    int64_t p = field_pos(m, t, field, 8);
    if (p < 0)
        return bad_field(m, field);
    *out = p ? (uint64_t)mtf_rd_u32_at(m->fb + p) | ((uint64_t)mtf_rd_u32_at(m->fb + p + 4) << 32) : 0;
    return 0;
}

/* Follow the uoffset stored at position p (already checked to hold 4 bytes). */
static int64_t follow(const mtf_model_t *m, uint32_t p)
{
    uint64_t target = (uint64_t)p + mtf_rd_u32_at(m->fb + p);
    return target < m->fb_len ? (int64_t)target : -1;
}

int mtf_rd_vec(mtf_model_t *m, const mtf_table_t *t, int field, uint32_t elem, mtf_vec_t *v, const char *what)
{
    v->pos = 0;
    v->len = 0;
    int64_t p = field_pos(m, t, field, 4);
    if (p < 0)
        return bad_field(m, field);
    if (p == 0)
        return 0;
    int64_t vp = follow(m, (uint32_t)p);
    if (vp < 0 || !in_model(m, (uint64_t)vp, 4))
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "%s vector out of bounds", what), -1;
    uint32_t len = mtf_rd_u32_at(m->fb + vp);
#ifdef MTF_FUZZ_PLANT_OOB
    /* Planted bug for the fuzz harness's self-test: vector lengths go unchecked. */
    elem = 0;
#endif
    if (!in_model(m, (uint64_t)vp + 4, (uint64_t)len * elem))
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "%s vector of %u items overruns the model", what, len), -1;
    v->pos = (uint32_t)vp + 4;
    v->len = len;
    return 0;
}

int mtf_rd_vec_table(mtf_model_t *m, const mtf_vec_t *v, uint32_t i, mtf_table_t *t, const char *what)
{
    /* The vector was checked to hold len uoffsets. */
    uint32_t p = v->pos + 4 * i;
    int64_t target = follow(m, p);
    if (i >= v->len || target < 0)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "%s %u out of bounds", what, i), -1;
    return mtf_rd_table(m, (uint32_t)target, t, what);
}

int mtf_rd_sub(mtf_model_t *m, const mtf_table_t *t, int field, mtf_table_t *sub, const char *what)
{
    int64_t p = field_pos(m, t, field, 4);
    if (p < 0)
        return bad_field(m, field);
    if (p == 0)
        return 0;
    int64_t target = follow(m, (uint32_t)p);
    if (target < 0)
        return mtf_fail(m, MTF_ERR_BAD_MODEL, "%s table out of bounds", what), -1;
    return mtf_rd_table(m, (uint32_t)target, sub, what) < 0 ? -1 : 1;
}

int32_t mtf_rd_vec_i32(const mtf_model_t *m, const mtf_vec_t *v, uint32_t i)
{
    return (int32_t)mtf_rd_u32_at(m->fb + v->pos + 4 * i);
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
    uint16_t vt_len = mtf_rd_u16_at(vt);
    uint16_t tbl_len = mtf_rd_u16_at(vt + 2);
    uint32_t slot = 4 + 2 * (uint32_t)field;
    if (slot + 2 > vt_len)
        return NULL;
    uint16_t off = mtf_rd_u16_at(vt + slot);
    if (off == 0 || (uint32_t)off + size > tbl_len)
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
    return p ? mtf_load_f32(p) : dflt;
}

/* Start of the vector or string an offset field points to, with its length;
 * NULL when absent or out of bounds. */
static const uint8_t *opt_vector(const mtf_node_t *node, int field, uint32_t elem, uint32_t *len)
{
    const uint8_t *p = opt_field(node, field, 4);
    if (p == NULL)
        return NULL;
    uint64_t rel = (uint64_t)(p - node->opt) + mtf_rd_u32_at(p);
    if (rel + 4 > node->opt_room)
        return NULL;
    uint32_t n = mtf_rd_u32_at(node->opt + rel);
    if (rel + 4 + (uint64_t)n * elem > node->opt_room)
        return NULL;
    *len = n;
    return node->opt + rel + 4;
}

int mtf_opt_i32_vec(const mtf_node_t *node, int field, int32_t *out, int max)
{
    uint32_t n;
    const uint8_t *v = opt_vector(node, field, 4, &n);
    if (v == NULL)
        return -1;
    for (uint32_t i = 0; i < n && (int64_t)i < max; i++)
        out[i] = mtf_load_i32(v + 4 * i);
    return n > 0x7fffffffu ? 0x7fffffff : (int)n;
}

int mtf_opt_str(const mtf_node_t *node, int field, const uint8_t **str)
{
    uint32_t n;
    const uint8_t *v = opt_vector(node, field, 1, &n);
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
    if (channel < 0 || channel >= t->q_count || t->q_scales == NULL)
        return 0.0f;
    return mtf_load_f32(t->q_scales + 4 * (uint32_t)channel);
}

int32_t mtf_tensor_zero_point(const mtf_tensor_t *t, int channel)
{
    if (channel < 0 || channel >= t->q_count || t->q_zero_points == NULL)
        return 0;
    /* int64 in the schema; TFLite Micro keeps the low 32 bits. */
    return (int32_t)mtf_rd_u32_at(t->q_zero_points + 8 * (uint32_t)channel);
}
