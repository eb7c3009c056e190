"""Benchmark of the DAQ sweep: configurations per second, vectorised pass against a per-configuration loop.

Run ``python tests/bench_daq.py [N ...]`` from the project root; it prints one
line per size and returns the figures from :func:`main`.  Figures are wall-clock
rates on whatever machine runs it.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib.costmodels.daq_sweeps import benchmark_sweep  # noqa: E402

DEFAULT_SIZES = (1_000, 10_000)


def main(sizes=DEFAULT_SIZES):
    """Run :func:`benchmark_sweep` for each size, print a line per size and return the results."""
    results = []
    for size in sizes:
        result = benchmark_sweep(size)
        results.append(result)
        print(f"n={result['n']:>7}  vectorised {result['vectorised_per_s']:>12.0f} config/s  "
              f"loop {result['loop_per_s']:>8.1f} config/s (over {result['n_loop']})  "
              f"speed-up x{result['vectorised_per_s'] / result['loop_per_s']:.0f}")
    return results


if __name__ == "__main__":
    main([int(argument) for argument in sys.argv[1:]] or DEFAULT_SIZES)
