"""A character-level language model on Python's own help texts, next to a bigram baseline.

The corpus is ``pydoc_data.topics``: the help pages behind ``help("for")``,
``help("FORMATTING")``..., which ship with Python itself (nothing is
downloaded). The last tenth of the text is held out. A bigram model, the
counts of which character follows which in the training part, is the
baseline; the network must beat it on the held-out part.

``--model transformer`` (the default) embeds each character, adds a learned
position vector (``PositionalEmbedding``), runs ``--layers`` transformer
blocks built from parts (``mtl.transformer_block``: LayerNorm -> causal
MultiheadAttention -> Residual, LayerNorm -> Dense -> GELU -> Dense ->
Residual) and projects to one logit per character. ``--model lstm`` uses an
``mtl.LSTM`` instead of the blocks. Both learn to predict character
``t + 1`` from characters ``0..t`` of random windows of the training text.

It prints ``validation: X bits per char`` for the model and the bigram, then
a sample drawn with ``mtl.generate``. Bits per char are the cross-entropy
in base 2: a model that knew nothing would need ``log2(vocabulary)``.

Run:  python examples/char_lm.py [--model transformer|lstm] [--steps 1500] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import time
from typing import Any

import numpy as np

import minitorchless as mtl


def load_corpus(max_chars: int | None = None) -> str:
    """Every help topic, in a fixed order, as one text."""
    from pydoc_data.topics import topics

    text = "\n".join(topics[name] for name in sorted(topics))
    return text if max_chars is None else text[:max_chars]


def encode(text: str, val_fraction: float) -> tuple[list[str], np.ndarray, np.ndarray]:
    """The vocabulary, and the training and validation parts as int64 ids."""
    vocabulary = sorted(set(text))
    index = {char: i for i, char in enumerate(vocabulary)}
    ids = np.array([index[char] for char in text], dtype=np.int64)
    split = int(len(ids) * (1 - val_fraction))
    return vocabulary, ids[:split], ids[split:]


def bigram_bits(train: np.ndarray, val: np.ndarray, vocab: int, alpha: float = 0.1) -> float:
    """Bits per char of P(next | previous) from training counts plus ``alpha`` (add-alpha)."""
    counts = np.full((vocab, vocab), alpha)
    np.add.at(counts, (train[:-1], train[1:]), 1.0)
    log_p = np.log2(counts / counts.sum(axis=1, keepdims=True))
    return float(-log_p[val[:-1], val[1:]].mean())


def build_model(args: argparse.Namespace, vocab: int) -> mtl.Layer:
    """Characters (N, T) to next-character logits (N, T, vocab)."""
    rng = np.random.default_rng(args.seed)
    e, dtype = args.embed, np.float32
    embed = mtl.Embedding(vocab, e, rng=rng, dtype=dtype)
    embed.weight.value *= 0.1  # N(0, 0.1^2): token vectors of the size of the positions'
    if args.model == "lstm":
        body: list[mtl.Layer] = [mtl.LSTM(e, args.hidden, rng=rng, dtype=dtype)]
        width = args.hidden
    else:
        body = [mtl.PositionalEmbedding(args.context, e, rng=rng, dtype=dtype)]
        body += [
            mtl.transformer_block(e, args.heads, approximate="tanh", rng=rng, dtype=dtype)
            for _ in range(args.layers)
        ]
        body.append(mtl.LayerNorm(e, dtype=dtype))
        width = e
    head = mtl.Dense(width, vocab, bias=True, rng=rng, dtype=dtype)
    return mtl.Sequential(embed, *body, head)


def bits_per_char(model: mtl.Layer, ids: np.ndarray, context: int, batch: int = 64) -> float:
    """Cross-entropy in bits on consecutive windows of ``ids`` (each predicts its own chars)."""
    model.eval()
    usable = (len(ids) - 1) // context * context
    inputs = ids[:usable].reshape(-1, context)
    targets = ids[1 : usable + 1].reshape(-1, context)
    loss_fn, total = mtl.CrossEntropyLoss(), 0.0
    for start in range(0, len(inputs), batch):
        logits = model(inputs[start : start + batch])
        total += loss_fn(logits, targets[start : start + batch]) * len(logits)
    model.train()
    return total / len(inputs) / math.log(2)


def train(model: mtl.Layer, ids: np.ndarray, args: argparse.Namespace) -> None:
    """Adam on random windows, with a linear warm-up and a cosine decay, progress shown."""
    rng = np.random.default_rng(args.seed + 1)
    optimizer = mtl.Adam(model.parameters(), lr=args.lr)
    loss_fn, start, shown = mtl.CrossEntropyLoss(), time.perf_counter(), 0.0
    for step in range(1, args.steps + 1):
        if time.perf_counter() - start > 60 * args.max_minutes:
            print(f"stopped after {step - 1} steps: --max-minutes {args.max_minutes} is spent")
            break
        warm = min(1.0, step / max(1, args.steps // 20))
        optimizer.lr = args.lr * warm * 0.5 * (1 + math.cos(math.pi * step / args.steps))
        offsets = rng.integers(0, len(ids) - args.context - 1, size=args.batch_size)
        window = offsets[:, np.newaxis] + np.arange(args.context + 1)
        batch = ids[window]
        loss = loss_fn(model(batch[:, :-1]), batch[:, 1:])
        optimizer.zero_grad()
        model.backward_parameters(loss_fn.backward())
        optimizer.step()
        shown = 0.9 * shown + 0.1 * loss if step > 1 else loss
        if step % args.log_every == 0 or step == args.steps:
            elapsed = time.perf_counter() - start
            print(
                f"step {step}/{args.steps}: train {shown / math.log(2):.3f} bits per char, "
                f"{elapsed:.0f} s",
                flush=True,
            )


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["transformer", "lstm"], default="transformer")
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--context", type=int, default=64, help="characters per window")
    parser.add_argument("--embed", type=int, default=64)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--layers", type=int, default=2, help="transformer blocks")
    parser.add_argument("--hidden", type=int, default=256, help="the LSTM's state size")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-chars", type=int, default=None, help="use the corpus' start only")
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--sample-length", type=int, default=300)
    parser.add_argument("--log-every", type=int, default=100)
    parser.add_argument(
        "--max-minutes", type=float, default=8.0, help="stop training early after this long"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse(argv)
    text = load_corpus(args.max_chars)
    vocabulary, train_ids, val_ids = encode(text, args.val_fraction)
    print(
        f"corpus: {len(text):,} characters of pydoc_data.topics, {len(vocabulary)} distinct; "
        f"training on {len(train_ids):,}, validating on {len(val_ids):,}"
    )
    model = build_model(args, len(vocabulary))
    print(f"model: {args.model}, {model.num_parameters():,} parameters")
    train(model, train_ids, args)
    model_bits = bits_per_char(model, val_ids, args.context)
    baseline = bigram_bits(train_ids, val_ids, len(vocabulary))
    print(f"validation: {model_bits:.3f} bits per char ({args.model})")
    print(f"validation: {baseline:.3f} bits per char (bigram baseline)")
    prompt = np.array([vocabulary.index(char) for char in "The "], dtype=np.int64)
    ids = mtl.generate(
        model,
        prompt,
        args.sample_length,
        temperature=0.8,
        top_k=10,
        rng=np.random.default_rng(args.seed),
        context=args.context,
    )
    sample = "".join(vocabulary[i] for i in ids)
    print("sample:\n" + sample)
    return {"bits_per_char": model_bits, "bigram_bits_per_char": baseline, "sample": sample}


if __name__ == "__main__":
    main()
