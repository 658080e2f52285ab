"""The machine the numbers come from, and the thread counts every contender gets.

NumPy's matrix products run on its BLAS (OpenBLAS in the official wheels),
which uses several threads; PyTorch has its own thread pool. Comparing a
two-thread BLAS with a one-thread PyTorch would measure the thread counts, so
``set_threads`` gives both libraries the same number: NumPy's BLAS through
``threadpoolctl`` (installed with scikit-learn) and PyTorch through
``torch.set_num_threads``. Element-wise NumPy code is single-threaded whatever
the setting.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import platform
import sys
from importlib import metadata
from typing import Any

import numpy as np

__all__ = ["blas_threads", "describe", "set_threads", "steady_malloc"]

_limits: Any = None  # keeps a threadpoolctl limit alive for the whole run


def _threadpool_info() -> list[dict[str, Any]]:
    try:
        from threadpoolctl import threadpool_info  # type: ignore[import-untyped]
    except ImportError:
        return []
    blas = [info for info in threadpool_info() if info.get("user_api") == "blas"]
    # NumPy's own copy first: scikit-learn's SciPy and PyTorch may bring others
    return sorted(blas, key=lambda info: "numpy" not in str(info.get("filepath", "")))


def blas_threads() -> int | None:
    """The number of threads NumPy's BLAS uses now (``None`` if it cannot be told)."""
    infos = _threadpool_info()
    return int(infos[0]["num_threads"]) if infos else None


def set_threads(threads: int | None, *, load_contenders: bool = True) -> int | None:
    """Give NumPy's BLAS and PyTorch ``threads`` threads; ``None`` keeps NumPy's count.

    With ``load_contenders``, PyTorch and scikit-learn are imported first (when
    installed) so that the limit reaches the BLAS copies they bring.
    Returns the thread count in effect (``None`` if NumPy's cannot be read).
    """
    global _limits
    for optional in ("torch", "sklearn", "scipy.linalg") if load_contenders else ():
        with contextlib.suppress(ImportError):
            __import__(optional)
    if threads is not None:
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:
            raise SystemExit(
                "--threads needs threadpoolctl (pip install threadpoolctl, or scikit-learn)"
            ) from None
        _limits = threadpool_limits(limits=threads, user_api="blas")
    effective = blas_threads() if threads is None else threads
    if "torch" in sys.modules and effective is not None:
        sys.modules["torch"].set_num_threads(effective)
    return effective


def steady_malloc() -> bool:
    """Keep glibc from handing freed heap memory back to the OS; return whether it worked.

    By default glibc trims the top of its heap once more than a few MB there
    are free, and serves large requests with fresh ``mmap`` pages. A training
    step that frees and reallocates MB-sized temporaries (a weight gradient,
    ``lr * grad``) can then page-fault all of them back in on every step,
    depending only on the heap layout that whatever ran before left behind:
    measured on this suite's machine, the same hand-written W2 loop took 0.63 s
    or 0.44 s per 20,000 samples (about 750 page faults per step, or none),
    depending on what had run before it in the process. Fixing both thresholds
    makes every contender's timing independent of its neighbours'. Linux (glibc)
    only; elsewhere nothing is changed.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    trim_threshold, mmap_threshold = -1, -3  # M_TRIM_THRESHOLD, M_MMAP_THRESHOLD in malloc.h
    return bool(libc.mallopt(mmap_threshold, 32 * 2**20)) and bool(
        libc.mallopt(trim_threshold, 1024 * 2**20)
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _vector_extensions() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
            else:
                return "unknown"
    except OSError:
        return "unknown"
    wanted = ("avx2", "fma", "avx512f", "avx512_bf16")
    return ", ".join(flag for flag in wanted if flag in flags) or "none of avx2/fma/avx512"


def _blas() -> str:
    infos = _threadpool_info()
    if infos:
        info = infos[0]
        return (
            f"{info.get('internal_api', '?')} {info.get('version', '?')} "
            f"({info.get('architecture', '?')} kernels)"
        )
    try:
        config: Any = np.show_config(mode="dicts")
        blas = config["Build Dependencies"]["blas"]
        return f"{blas['name']} {blas.get('version', '')}".strip()
    except Exception:  # older NumPy: no dict mode
        return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe() -> dict[str, str]:
    """The CPU, core count, BLAS, thread counts and library versions, as labelled strings."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 0
    threads = blas_threads()
    description = {
        "CPU": _cpu_model(),
        "vector extensions": _vector_extensions(),
        "cores available": str(cores),
        "NumPy BLAS": _blas(),
        "BLAS threads": "unknown" if threads is None else str(threads),
        "Python": sys.version.split()[0],
        "NumPy": np.__version__,
        "minitorchless": _version("minitorchless"),
        "PyTorch": _version("torch"),
        "scikit-learn": _version("scikit-learn"),
        "OS": f"{platform.system()} {platform.release()}",
    }
    if "torch" in sys.modules:
        description["PyTorch threads"] = str(sys.modules["torch"].get_num_threads())
    return description
