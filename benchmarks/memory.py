"""Memory: the peak memory of W2's epoch, minitorchless against the hand-written loop.

Each contender runs in a fresh process, twice, measured two ways:

- the process's peak resident memory (``ru_maxrss``): what the machine must
  provide for the whole run, data included;
- the training working set: the peak of memory allocated *after* the data
  was made, traced by ``tracemalloc`` (NumPy reports its array buffers to it).
  This isolates what the training adds: weights, gradients, optimizer state,
  activations and temporaries.

Both run ``python -m benchmarks.memory --child NAME ...`` and read one JSON line.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import tracemalloc
from typing import Any

from benchmarks.report import Section, Table, Target

__all__ = ["run"]

HAND = "hand-written NumPy"
LOOP = "minitorchless loop (backward_parameters)"
LOOP_BACKWARD = "minitorchless loop (backward)"
FIT = "minitorchless fit()"
CONTENDERS = [HAND, LOOP, LOOP_BACKWARD, FIT]


def _max_rss() -> int:
    """The peak resident memory of this process so far, in bytes.

    On Linux it is read from ``VmHWM``: ``ru_maxrss`` would report the parent's
    size when that was larger, since it survives the fork and exec that start
    the child.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def _child(name: str, samples: int, mode: str) -> dict[str, Any]:
    """Make W2's data, train one epoch with contender ``name``, and measure."""
    from benchmarks import data
    from benchmarks.w2_mnist import SIZES, mlp_contenders

    X, labels = data.synthetic_images(samples, SIZES[0], SIZES[-1])
    everyone = mlp_contenders(X, labels, SIZES, 128, variants=True, others=False)
    contenders = {contender.name: contender for contender in everyone}
    gc.collect()
    before = _max_rss()
    if mode == "trace":
        tracemalloc.start()
    run = contenders[name].prepare()  # weights and optimizer state count: part of training
    run()
    result: dict[str, Any] = {"rss_before": before, "rss_peak": _max_rss()}
    if mode == "trace":
        result["traced_peak"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result


def _measure(name: str, samples: int, mode: str, threads: int | None) -> dict[str, Any]:
    command = [
        sys.executable,
        "-m",
        "benchmarks.memory",
        "--child",
        name,
        "--samples",
        str(samples),
        "--mode",
        mode,
    ]
    if threads is not None:
        command += ["--threads", str(threads)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return dict(json.loads(output.strip().splitlines()[-1]))


def run(*, quick: bool, threads: int | None = None) -> Section:
    """Measure the peak memory of every contender and return the section of the report."""
    samples = 512 if quick else 60000
    results = {}
    for name in [HAND, LOOP] if quick else CONTENDERS:
        rss = _measure(name, samples, "rss", threads)
        traced = _measure(name, samples, "trace", threads)
        results[name] = {**rss, "traced_peak": traced["traced_peak"]}
    hand = results[HAND]
    table = Table(
        "Memory: W2's epoch, each contender in a fresh process",
        [
            "contender",
            "process peak RSS",
            "vs hand-written",
            "training working set",
            "vs hand-written",
        ],
    )
    for name, result in results.items():
        table.rows.append(
            [
                name,
                f"{result['rss_peak'] / 2**20:.0f} MiB",
                f"{result['rss_peak'] / hand['rss_peak']:.2f}x",
                f"{result['traced_peak'] / 2**20:.1f} MiB",
                f"{result['traced_peak'] / hand['traced_peak']:.2f}x",
            ]
        )
    loop = results[LOOP]
    data_mib = samples * 784 * 4 / 2**20
    return Section(
        "Memory: peak of W2",
        f"One epoch of W2 ({samples:,} samples, float32: the inputs alone take "
        f"{data_mib:.0f} MiB). Peak RSS is the whole process (interpreter, libraries, data, "
        "training); the working set is what training allocates after the data exists "
        "(tracemalloc peak).",
        tables=[table],
        targets=[
            Target(
                "loop peak RSS / hand-written", loop["rss_peak"] / hand["rss_peak"], 1.05, "at most"
            ),
            Target(
                "loop working set / hand-written",
                loop["traced_peak"] / hand["traced_peak"],
                1.05,
                "at most",
            ),
        ],
        data=results,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", required=True, choices=CONTENDERS)
    parser.add_argument("--samples", type=int, default=60000)
    parser.add_argument("--mode", choices=["rss", "trace"], default="rss")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads is not None:
        from benchmarks.machine import set_threads

        set_threads(args.threads, load_contenders=False)
    print(json.dumps(_child(args.child, args.samples, args.mode)))


if __name__ == "__main__":
    main()
