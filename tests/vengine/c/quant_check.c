/*
 * quant_check.c - prints the C engine's prepare-time figures for float32
 * triples read from stdin (hex bit patterns "a b c" per line), so that
 * tests/vengine/test_exact.py can compare them with vengine/exact.py.
 * Output per line: the multipliers and shifts of a*b/c and a/c, the
 * softmax scaling of beta=a, scale=b, and roundf(6/c), roundf(-1/c).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mtf_fixedpoint.h"
#include "mtf_quant.h"

static float f32(unsigned bits)
{
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int main(void)
{
    unsigned ba, bb, bc;
    while (scanf("%x %x %x", &ba, &bb, &bc) == 3) {
        float a = f32(ba), b = f32(bb), c = f32(bc);
        int32_t m1, m2, m3 = 0;
        int s1, s2, s3 = 0;
        mtf_quantize_multiplier((double)a * (double)b / (double)c, &m1, &s1);
        mtf_quantize_multiplier((double)a / (double)c, &m2, &s2);
        double max_real = (double)(((int64_t)1 << 31) - 1);
        double real = (double)a * (double)b * (double)(1 << 26);
        if (real > max_real)
            real = max_real;
        int32_t radius = 0;
        if (real > 1.0) {
            mtf_quantize_multiplier(real, &m3, &s3);
            radius = mtf_fp_input_radius(5, s3, 31);
        }
        float q6 = 6.0f / c, qm1 = -1.0f / c;
        long r6 = q6 < 1e9f ? (long)roundf(q6) : 999999999L;
        long rm1 = qm1 > -1e9f ? (long)roundf(qm1) : -999999999L;
        printf("%d %d %d %d %d %d %d %ld %ld\n", (int)m1, s1, (int)m2, s2, (int)m3, s3, (int)radius, r6, rm1);
    }
    return 0;
}
