"""The minitorchless benchmark suite: ``python -m benchmarks``.

Each workload compares minitorchless with a hand-written NumPy loop of the
same math (the limit for NumPy), with PyTorch and scikit-learn where they are
installed, and with the time the matrix products alone take (the limit for the
BLAS). Every contender runs in one process, alternating with the others, and
the tables report medians after a warm-up, as ratios. See
``docs/performance.md`` for the results and how to read them.
"""
