#!/usr/bin/env python3
"""Independent computation of DP-SGD's privacy spent, for tests/integration/privacy_test.sh.

Written from the papers, not from libdust: the RDP of the sampled Gaussian mechanism at integer
orders (Mironov, Talwar and Zhang 2019, Section 3.3: A_alpha as a binomial sum), composed over
steps by multiplying by their number, converted to (epsilon, delta) by Balle et al. 2020
(Proposition 12, as Opacus' get_privacy_spent) and by the classic rdp + log(1/delta)/(alpha-1).
Standard library only. Each term is summed in log space by math.fsum over the terms' exp()
relative to the largest term (not libdust's pairwise log-add-exp), so the two implementations
do not share a summation order either.

Usage: rdp_reference.py Q SIGMA STEPS DELTA  ->  prints "EPS_BALLE ORDER EPS_CLASSIC ORDER"
"""
import math
import sys

ORDERS = range(2, 257)


def log_binom(n, k):
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def rdp_step(q, sigma, alpha):
    if q == 0:
        return 0.0
    if q == 1:
        return alpha / (2 * sigma * sigma)
    terms = [log_binom(alpha, i) + i * math.log(q) + (alpha - i) * math.log1p(-q)
             + (i * i - i) / (2 * sigma * sigma) for i in range(alpha + 1)]
    top = max(terms)
    log_a = top + math.log(math.fsum(math.exp(t - top) for t in terms))
    return log_a / (alpha - 1)


def spent(q, sigma, steps, delta):
    balle, classic = [], []
    for a in ORDERS:
        r = steps * rdp_step(q, sigma, a)
        balle.append((max(r - (math.log(delta) + math.log(a)) / (a - 1)
                          + math.log((a - 1) / a), 0.0), a))
        classic.append((r + math.log(1 / delta) / (a - 1), a))
    return min(balle), min(classic)


if __name__ == "__main__":
    q, sigma, steps, delta = (float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]),
                              float(sys.argv[4]))
    (eb, ob), (ec, oc) = spent(q, sigma, steps, delta)
    print(f"{eb:.12g} {ob} {ec:.12g} {oc}")
