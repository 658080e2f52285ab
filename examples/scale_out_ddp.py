"""Outgrow one machine: train in minitorchless, go on with PyTorch's DistributedDataParallel.

1. Build and train a network on scikit-learn's 8x8 digits with ``mtl.fit``.
2. ``mtl.to_torch(model)``: the same network as a ``torch.nn.Module``, weights and all.
3. Train on across two processes (``--workers``) with ``DistributedDataParallel``,
   on PyTorch's ``gloo`` backend over this machine's loopback address; each
   process reads its own shard of the data through a ``DistributedSampler``.
4. Bring the weights back with ``mtl.from_torch_state_dict`` and evaluate them
   in minitorchless.

On a cluster, the same script runs with ``torchrun`` and the backend your
hardware wants (``nccl`` for GPUs); only the process group set-up differs.

Run:  python examples/scale_out_ddp.py [--epochs 20] [--ddp-epochs 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

import minitorchless as mtl

TIMEOUT = datetime.timedelta(seconds=60)  # a stuck peer fails the run instead of hanging it


def load_data(seed: int) -> tuple[np.ndarray, ...]:
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    return tuple(
        train_test_split(
            X, digits.target, test_size=0.25, random_state=seed, stratify=digits.target
        )
    )


def build_model(seed: int) -> mtl.Sequential:
    rng = np.random.default_rng(seed)
    return mtl.Sequential(
        mtl.Dense(64, 64, bias=True, rng=rng, dtype=np.float32),
        mtl.ReLU(),
        mtl.Dense(64, 10, bias=True, rng=rng, dtype=np.float32),
    )


def worker(
    rank: int,
    world: int,
    rendezvous: str,
    module: Any,
    data: tuple[np.ndarray, np.ndarray],
    epochs: int,
    out: str,
) -> None:
    """One process of the distributed run: its shard, its replica, gradients averaged by DDP."""
    torch.set_num_threads(1)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # peers talk over loopback only
    # a file rendezvous: no process hosts the store, so none can leave it behind
    dist.init_process_group(
        "gloo", init_method=f"file://{rendezvous}", rank=rank, world_size=world, timeout=TIMEOUT
    )
    try:
        replica = DistributedDataParallel(module)
        dataset = TensorDataset(torch.from_numpy(data[0]), torch.from_numpy(data[1]))
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, seed=0)
        loader = DataLoader(dataset, batch_size=32, sampler=sampler)
        optimizer = torch.optim.SGD(replica.parameters(), lr=0.05, momentum=0.9)
        loss_fn = torch.nn.CrossEntropyLoss()
        for epoch in range(epochs):
            sampler.set_epoch(epoch)  # a new shuffle of the shards every epoch
            for inputs, labels in loader:
                optimizer.zero_grad()
                loss_fn(replica(inputs), labels).backward()  # DDP averages the gradients
                optimizer.step()
        if rank == 0:  # every replica holds the same weights: one writes them
            torch.save(replica.module.state_dict(), out)
        dist.barrier()  # nobody tears the group down while a peer still talks to it
    finally:
        dist.destroy_process_group()
    # The work is done and saved. Leave without running the interpreter's and the C++
    # libraries' exit-time destructors: a communication thread still being torn down
    # there can abort the process ("terminate called without an active exception"),
    # which the parent would report as a failed worker.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20, help="epochs in minitorchless")
    parser.add_argument("--ddp-epochs", type=int, default=10, help="epochs with DDP")
    parser.add_argument("--workers", type=int, default=2, help="processes (default 2)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    X_train, X_test, y_train, y_test = load_data(args.seed)
    model = build_model(args.seed)
    mtl.fit(
        model,
        X_train,
        y_train,
        loss=mtl.CrossEntropyLoss(),
        epochs=args.epochs,
        optimizer=mtl.Adam(model.parameters(), lr=1e-3),
        batch_size=32,
        verbose=0,
        rng=np.random.default_rng(args.seed),
    )
    before = mtl.metrics.accuracy(mtl.predict(model, X_test), y_test)
    print(f"1. minitorchless, {args.epochs} epochs: test accuracy {before:.4f}")

    module = mtl.to_torch(model)
    print(
        f"2. mtl.to_torch: {type(module).__name__} with "
        f"{sum(p.numel() for p in module.parameters())} parameters"
    )

    with tempfile.TemporaryDirectory() as folder:
        out = str(Path(folder) / "weights.pt")
        context = mp.spawn(
            worker,
            nprocs=args.workers,
            join=False,
            args=(
                args.workers,
                str(Path(folder) / "rendezvous"),
                module,
                (X_train, y_train),
                args.ddp_epochs,
                out,
            ),
        )
        while not context.join(timeout=120):  # raises if a worker failed
            pass
        state = torch.load(out, weights_only=True)
    print(
        f"3. DistributedDataParallel, {args.workers} processes (gloo, 127.0.0.1), "
        f"{args.ddp_epochs} more epochs on their shards"
    )

    mtl.from_torch_state_dict(model, state)
    after = mtl.metrics.accuracy(mtl.predict(model, X_test), y_test)
    print(f"4. back in minitorchless (from_torch_state_dict): test accuracy {after:.4f}")
    return {"before": before, "after": after}


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
