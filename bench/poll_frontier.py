#!/usr/bin/env python3
"""Poll count vs detection delay vs slot utilization on the API.md §12 log-normals
(docs/PERFORMANCE.md, "What limits it" 1). Pure Python, no dependencies, ~2 s.

For a task of run time D and poll times t1 < t2 < ... (deterministic, no jitter):
  E[polls] = sum_k P(D > t_{k-1})              (t_0 = 0: the first poll always happens)
  E[delay] = sum_k E[(t_k - D) ; t_{k-1} < D <= t_k]
  steady utilization under backlog = E[D] / (E[D] + E[delay] + hand-off)

Prints (1) the daemon's schedule (ENGINE_DECISIONS.md §6), (2) the optimal schedule's
frontier (dynamic program over a log grid minimising E[delay] + lambda * E[polls]) and
(3) the cheapest schedule of the daemon's shape that reaches 0.95 on every row.
Usage: bench/poll_frontier.py [HANDOFF_SECONDS=0.5]
"""
import itertools
import math
import sys


def phi(z):
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


class LogNormal:
    def __init__(self, median, p90):
        self.mu = math.log(median)
        self.sigma = math.log(p90 / median) / 1.2815515655446004
        self.median, self.p90 = median, p90
        self.mean = math.exp(self.mu + self.sigma ** 2 / 2)

    def cdf(self, x):
        return 0.0 if x <= 0 else phi((math.log(x) - self.mu) / self.sigma)

    def partial_mean(self, x):  # integral of t f(t) over [0, x]
        return 0.0 if x <= 0 else self.mean * phi((math.log(x) - self.mu - self.sigma ** 2) / self.sigma)

    def quantile(self, z):
        return math.exp(self.mu + self.sigma * z)


def evaluate(d, times):
    polls = delay = prev = 0.0
    for t in times:
        polls += 1 - d.cdf(prev)
        delay += t * (d.cdf(t) - d.cdf(prev)) - (d.partial_mean(t) - d.partial_mean(prev))
        prev = t
    return polls, delay


def daemon_schedule(d, first_z=-0.6744897501960817, first_interval=0.15, cap=0.15, growth=1.5,
                    max_interval=60.0, min_interval=2.0, deadline_min=900.0, deadline_factor=6.0):
    deadline = max(deadline_min, deadline_factor * d.median)
    times = [max(min_interval, d.quantile(first_z))]
    k = 1
    while times[-1] < deadline:
        interval = first_interval * d.median * growth ** (k - 1)
        interval = max(min(interval, max(min(max_interval, cap * d.p90), min_interval)), min_interval)
        times.append(min(times[-1] + interval, deadline))
        k += 1
    return times


def optimal_schedule(d, lam, n=500):
    lo, hi = d.quantile(-4.0), d.quantile(3.5)  # the last grid point acts as the deadline
    grid = [lo * (hi / lo) ** (i / (n - 1)) for i in range(n)]
    cdf = [d.cdf(x) for x in grid]
    pm = [d.partial_mean(x) for x in grid]
    value, nxt = [0.0] * n, [None] * n
    for i in range(n - 2, -1, -1):  # state: last poll at grid[i], task not seen finished
        best, arg = math.inf, None
        for j in range(i + 1, n):
            c = grid[j] * (cdf[j] - cdf[i]) - (pm[j] - pm[i]) + lam * (1 - cdf[i]) + value[j]
            if c < best:
                best, arg = c, j
        value[i], nxt[i] = best, arg
    first = min(range(n), key=lambda j: grid[j] * cdf[j] - pm[j] + lam + value[j])
    times, j = [], first
    while j is not None:
        times.append(grid[j])
        j = nxt[j]
    return times


ROWS = [("cogvideox-flash", 90, 300), ("cogvideox-3 speed", 120, 240), ("cogvideox-2 speed", 60, 150),
        ("vidu2-image", 40, 90), ("cogvideox-3 quality", 210, 420)]


def main():
    handoff = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
    util = lambda d, delay: d.mean / (d.mean + delay + handoff)
    for name, median, p90 in ROWS:
        d = LogNormal(median, p90)
        polls, delay = evaluate(d, daemon_schedule(d))
        print(f"{name:20s} E[D] {d.mean:5.1f} s; daemon schedule: {polls:.2f} polls, mean delay {delay:5.1f} s "
              f"-> utilization {util(d, delay):.3f}; 0.95 needs a mean delay <= {d.mean * (1 / 0.95 - 1) - handoff:.1f} s")
        frontier = sorted(evaluate(d, optimal_schedule(d, lam * median / 90))
                          for lam in (0.5, 1, 2, 3, 4, 6, 8, 12, 16, 24, 32))
        print("   optimal: " + ", ".join(f"{p:.1f} polls -> {util(d, dl):.3f}" for p, dl in frontier))
    found = []
    for fz, fi, cap, g in itertools.product([-1.2816, -0.8416, -0.6745], [0.04, 0.06, 0.08],
                                            [0.03, 0.04, 0.05, 0.06], [1.2, 1.5]):
        res = [evaluate(d, daemon_schedule(d, fz, fi, cap, g, min_interval=0.0))
               for d in (LogNormal(m, p) for _, m, p in ROWS)]
        utils = [util(LogNormal(m, p), dl) for (_, m, p), (_, dl) in zip(ROWS, res)]
        if min(utils) >= 0.95:
            polls = [p for p, _ in res]
            found.append((sum(polls) / len(polls), max(polls), fz, fi, cap, g, min(utils)))
    for row in sorted(found)[:3]:
        print("daemon shape reaching 0.95 on every row: %.2f polls/job on average (max %.2f): "
              "first_z %.2f, first_interval %.2f, interval_cap %.2f, growth %.1f (min utilization %.3f)" % row)


if __name__ == "__main__":
    main()
