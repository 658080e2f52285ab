"""``python -m benchmarks``: run the workloads, print the tables, optionally write Markdown.

Examples::

    python -m benchmarks                        # everything, a few minutes
    python -m benchmarks --quick                # a smoke run of a few seconds (CI)
    python -m benchmarks --only w1,w2 --threads 1
    python -m benchmarks --markdown results.md --json results.json --plots docs/figures/benchmarks
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import (
    machine,
    memory,
    report,
    w1_classic,
    w2_mnist,
    w3_scaling,
    w4_conv,
    w4_lenet,
    w5_lstm,
    w5_transformer,
)
from benchmarks.report import Section

WORKLOADS = ("w1", "w2", "w3", "w4", "w4lenet", "w5", "w5t", "memory")


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="minitorchless against hand-written NumPy, PyTorch, scikit-learn "
        "and the GEMM-bound limit.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: small sizes, one round; asserts nothing about time",
    )
    parser.add_argument(
        "--only",
        default=",".join(WORKLOADS),
        help=f"comma-separated workloads among {', '.join(WORKLOADS)}",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=None,
        help="recorded rounds per workload (default: per workload)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads for NumPy's BLAS and PyTorch (default: NumPy's BLAS "
        "count, which PyTorch then gets too; 1 with --quick)",
    )
    parser.add_argument(
        "--default-malloc",
        action="store_true",
        help="leave glibc's heap trimming on (see machine.steady_malloc): "
        "timings then depend on the order the contenders run in",
    )
    parser.add_argument("--markdown", type=Path, help="write the results as Markdown here")
    parser.add_argument("--json", type=Path, help="write the raw results as JSON here")
    parser.add_argument(
        "--plots", type=Path, help="write PNG figures into this folder (needs matplotlib)"
    )
    args = parser.parse_args()
    unknown = set(args.only.split(",")) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads {sorted(unknown)}; choose among {', '.join(WORKLOADS)}")
    return args


def main() -> None:
    args = _parse()
    if args.quick and args.threads is None:
        # a smoke run on a busy CI machine: one thread keeps BLAS from waiting on a
        # descheduled second thread, which can stretch a product a hundredfold
        args.threads = 1
    threads = machine.set_threads(args.threads)
    steady = False if args.default_malloc else machine.steady_malloc()
    selected = args.only.split(",")
    runners: dict[str, Callable[[], Section]] = {
        "w1": lambda: w1_classic.run(quick=args.quick, rounds=args.rounds),
        "w2": lambda: w2_mnist.run(quick=args.quick, rounds=args.rounds),
        "w3": lambda: w3_scaling.run(quick=args.quick, rounds=args.rounds),
        "w4": lambda: w4_conv.run(quick=args.quick, rounds=args.rounds),
        "w4lenet": lambda: w4_lenet.run(quick=args.quick, rounds=args.rounds),
        "w5": lambda: w5_lstm.run(quick=args.quick, rounds=args.rounds),
        "w5t": lambda: w5_transformer.run(quick=args.quick, rounds=args.rounds),
        "memory": lambda: memory.run(quick=args.quick, threads=args.threads),
    }
    description = machine.describe()
    print("\n".join(f"{key}: {value}" for key, value in description.items()), end="\n\n")
    sections = []
    started = time.perf_counter()
    for name in WORKLOADS:
        if name in selected:
            section = runners[name]()
            sections.append(section)
            print(report.text(section), flush=True)
    elapsed = time.perf_counter() - started
    settings = {
        "mode": "quick (smoke run)" if args.quick else "full",
        "threads (NumPy BLAS and PyTorch)": str(threads),
        "glibc heap trimming": "off (steady_malloc)" if steady else "default",
        "rounds": str(args.rounds or "per workload"),
        "duration": f"{elapsed:.0f} s",
    }
    print(f"done in {elapsed:.0f} s")
    if args.markdown:
        args.markdown.write_text(report.markdown(sections, description, settings))
        print(f"wrote {args.markdown}")
    if args.json:
        payload = {
            "machine": description,
            "settings": settings,
            "sections": {s.title: s.data for s in sections},
        }
        args.json.write_text(json.dumps(payload, indent=1, default=str))
        print(f"wrote {args.json}")
    if args.plots:
        from benchmarks import plots

        for path in plots.write(sections, args.plots):
            print(f"wrote {path}")


if __name__ == "__main__":
    main()
