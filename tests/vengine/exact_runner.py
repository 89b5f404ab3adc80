"""Prints vengine.exact's figures for the float32 triples of a file, one line
each, in the format of c/quant_check.c. Runs under CPython and MicroPython."""

import sys

from microtf.vengine import exact as X

BIG = 999999999
LIMIT = (1000000000, 0)


def figures(ba, bb, bc):
    a = X.from_f32_bits(ba)
    b = X.from_f32_bits(bb)
    c = X.from_f32_bits(bc)
    m1, s1 = X.product_ratio_multiplier(a, b, c)
    m2, s2 = X.ratio_multiplier(a, c)
    sm = X.softmax_scaling(a, b)
    m3, s3, radius = (0, 0, 0) if sm is None else (sm[0], sm[1], -sm[2])
    try:
        q6 = X.div_f((6, 0), c)
        r6 = X.round_away(q6) if X.cmp(q6, LIMIT) < 0 else BIG
    except ValueError:
        r6 = BIG
    try:
        qm1 = X.div_f((-1, 0), c)
        rm1 = X.round_away(qm1) if X.cmp(qm1, (-LIMIT[0], 0)) > 0 else -BIG
    except ValueError:
        rm1 = -BIG
    return f"{m1} {s1} {m2} {s2} {m3} {s3} {radius} {r6} {rm1}"


def run(lines):
    out = []
    for line in lines:
        p = line.split()
        if len(p) == 3:
            out.append(figures(int(p[0], 16), int(p[1], 16), int(p[2], 16)))
    return out


if __name__ == "__main__":
    with open(sys.argv[1]) as f:
        for line in f:
            p = line.split()
            if len(p) == 3:
                print(figures(int(p[0], 16), int(p[1], 16), int(p[2], 16)))
