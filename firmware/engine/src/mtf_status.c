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
    if ((unsigned)status >= MTF_STATUS_COUNT || messages[status] == NULL)
        return "unknown status";
    return messages[status];
}

typedef struct {
    char *buf;
    size_t pos;
} out_t;

static void put_c(out_t *o, char c)
{
    if (o->pos + 1 < MTF_MESSAGE_MAX)
        o->buf[o->pos++] = c;
}

static void put_s(out_t *o, const char *s)
{
    while (s != NULL && *s)
        put_c(o, *s++);
}

static void put_u(out_t *o, unsigned long v)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        put_c(o, digits[--n]);
}

static void put_d(out_t *o, long v)
{
    if (v < 0) {
        put_c(o, '-');
        put_u(o, 0ul - (unsigned long)v);
    } else {
        put_u(o, (unsigned long)v);
    }
}

#ifndef MTF_TERSE_ERRORS
static void format(out_t *o, const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put_c(o, *fmt);
            continue;
        }
        fmt++;
        if (*fmt == 's')
            put_s(o, va_arg(ap, const char *));
        else if (*fmt == 'd')
            put_d(o, va_arg(ap, int));
        else if (*fmt == 'u')
            put_u(o, va_arg(ap, unsigned));
        else if (*fmt == '%')
            put_c(o, '%');
        else if (*fmt == 0)
            break;
    }
}
#endif

/* Records status and writes the "op N NAME: " prefix of the message into *o. */
static void record(mtf_model_t *m, mtf_status_t status, out_t *o)
{
    m->status = status;
    m->err->status = status;
    m->err->needed = 0;
    o->buf = m->err->message;
    o->pos = 0;
    if (m->cur_node >= 0 && m->cur_subgraph >= 0 && m->cur_subgraph < m->n_subgraphs &&
        m->subgraphs != NULL) {
        const mtf_node_t *node = &m->subgraphs[m->cur_subgraph].nodes[m->cur_node];
        put_s(o, "op ");
        put_d(o, m->cur_node);
        if (m->cur_subgraph > 0) {
            put_s(o, " of subgraph ");
            put_d(o, m->cur_subgraph);
        }
        put_c(o, ' ');
        put_s(o, mtf_op_name(node->code));
        put_s(o, ": ");
    }
}

#ifdef MTF_TERSE_ERRORS
mtf_status_t mtf_fail_terse(mtf_model_t *m, mtf_status_t status)
{
    /* The first failure of a call wins: later ones are consequences. */
    if (m == NULL || m->status != MTF_OK)
        return status;
    if (m->err == NULL) {
        m->status = status;
        return status;
    }
    out_t o;
    record(m, status, &o);
    put_s(&o, mtf_status_message(status));
    o.buf[o.pos] = 0;
    return status;
}
#else
mtf_status_t mtf_fail(mtf_model_t *m, mtf_status_t status, const char *fmt, ...)
{
    /* The first failure of a call wins: later ones are consequences. */
    if (m == NULL || m->status != MTF_OK)
        return status;
    if (m->err == NULL) {
        m->status = status;
        return status;
    }
    out_t o;
    record(m, status, &o);
    va_list ap;
    va_start(ap, fmt);
    format(&o, fmt, ap);
    va_end(ap);
    o.buf[o.pos] = 0;
    return status;
}
#endif
