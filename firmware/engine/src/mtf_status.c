/* mtf_status.c - status texts and mtf_fail's small formatter (no vsnprintf: code size). */
#include <stdarg.h>

#include "mtf_arena.h"

static const char *const messages[] = {
    [MTF_OK] = "ok",
    [MTF_ERR_BAD_ARGUMENT] = "bad argument",
    [MTF_ERR_BAD_MODEL] = "malformed model",
    [MTF_ERR_UNSUPPORTED_OP] = "unsupported operator",
    [MTF_ERR_UNSUPPORTED_TYPE] = "unsupported type or option",
    [MTF_ERR_ARENA_TOO_SMALL] = "arena too small",
    [MTF_ERR_SHAPE] = "inconsistent shapes",
    [MTF_ERR_NOT_READY] = "model not ready",
    [MTF_ERR_INTERNAL] = "internal error",
};

/* One text per status: adding a status without its text fails to compile. */
typedef char mtf_messages_match_statuses[(sizeof messages / sizeof messages[0] == MTF_STATUS_COUNT) ? 1 : -1];

const char *mtf_status_message(mtf_status_t status)
{
    /* Every status has its text (checked below the table). */
    if ((unsigned)status >= MTF_STATUS_COUNT)
        return "unknown status";
    return messages[status];
}

/* Message being written: characters go to p while p < end (room for the NUL). */
typedef struct {
    char *p;
    char *end;
} out_t;

static void put_c(out_t *o, int c)
{
    if (o->p < o->end)
        *o->p++ = (char)c;
}

static void put_s(out_t *o, const char *s)
{
    while (s != NULL && *s)
        put_c(o, *s++);
}

static void put_u(out_t *o, uint32_t v)
{
    if (v >= 10)
        put_u(o, v / 10);
    put_c(o, (int)('0' + v % 10));
}

/* Records the first failure of a call; returns 1 when a message is to be
 * written at o, after its "op N NAME: " prefix inside a node. */
static int record(mtf_model_t *m, mtf_status_t status, out_t *o)
{
    /* The first failure of a call wins: later ones are consequences. */
    if (m == NULL || m->status != MTF_OK)
        return 0;
    m->status = status;
    if (m->err == NULL)
        return 0;
    m->err->status = status;
    m->err->needed = 0;
    o->p = m->err->message;
    o->end = o->p + MTF_MESSAGE_MAX - 1;
    /* cur_node >= 0 only while a kernel of subgraph cur_subgraph runs. */
    if (m->cur_node >= 0) {
        put_s(o, "op ");
        put_u(o, (uint32_t)m->cur_node);
        if (m->cur_subgraph > 0) {
            put_s(o, " of subgraph ");
            put_u(o, (uint32_t)m->cur_subgraph);
        }
        put_c(o, ' ');
        put_s(o, mtf_op_name(m->subgraphs[m->cur_subgraph].nodes[m->cur_node].code));
        put_s(o, ": ");
    }
    return 1;
}

#ifdef MTF_TERSE_ERRORS
mtf_status_t mtf_fail_terse(mtf_model_t *m, mtf_status_t status)
{
    out_t o;
    if (record(m, status, &o)) {
        put_s(&o, mtf_status_message(status));
        *o.p = 0;
    }
    return status;
}
#else
static void format(out_t *o, const char *fmt, va_list ap)
{
    for (int c; (c = *fmt++) != 0;) {
        if (c == '%') {
            c = *fmt++;
            if (c == 0)
                break;
            if (c == 's') {
                put_s(o, va_arg(ap, const char *));
                continue;
            }
            if (c == 'd' || c == 'u') {
                uint32_t v = c == 'd' ? (uint32_t)va_arg(ap, int) : va_arg(ap, unsigned);
                if (c == 'd' && (int32_t)v < 0) {
                    put_c(o, '-');
                    v = 0u - v;
                }
                put_u(o, v);
                continue;
            }
        }
        put_c(o, c); /* text, and the second % of %% */
    }
}

mtf_status_t mtf_fail(mtf_model_t *m, mtf_status_t status, const char *fmt, ...)
{
    out_t o;
    if (record(m, status, &o)) {
        va_list ap;
        va_start(ap, fmt);
        format(&o, fmt, ap);
        va_end(ap);
        *o.p = 0;
    }
    return status;
}
#endif
