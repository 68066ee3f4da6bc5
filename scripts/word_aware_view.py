"""Would a word-aware tokenizer view keep the model's pieces?

A plain transformers pipeline aggregates ``"first"``/``"average"``/``"max"``
over real words only when the tokenizer model has a continuation prefix
(WordPiece ``##``, BPE ``continuing_subword_prefix``); our sentencepiece
Unigram model has none, so the pipeline falls back to whitespace words. The
nearest word-aware view of the same vocabulary is WordPiece over it: a
``▁``-piece becomes a word-initial piece, any other piece a ``##``
continuation, matched greedily longest-first within kzner's words. This
counts, over KazNERD test and the reports' words, how often that view gives
the very pieces the model was trained on, and how often a word has no
word-initial piece at all (sentencepiece spells those ``▁`` + piece, which
WordPiece cannot). A packaged view with different pieces needs training with.

Usage: python scripts/word_aware_view.py MODEL_DIR  (KazNERD from
$KZNER_KAZNERD_DIR, reports from $KZNER_REPORTS_DIR)
"""

from __future__ import annotations

import argparse
import json
import os
from collections import Counter
from pathlib import Path

from tokenizers import Tokenizer

from kzner import kaznerd
from kzner.tokenize import tokenize


def wordpiece_view(vocab: list[list]) -> tuple[dict[str, int], dict[str, int]]:
    """Word-initial pieces and continuation pieces, each to its id."""
    initial, continuation = {}, {}
    for i, (piece, _score) in enumerate(vocab):
        if piece.startswith("\u2581") and len(piece) > 1:
            initial[piece[1:]] = i
        elif piece != "\u2581":
            continuation[piece] = i
    return initial, continuation


def greedy(word: str, initial: dict[str, int], continuation: dict[str, int]) -> list[int] | None:
    """WordPiece's longest-match-first pieces, or None where no piece fits."""
    ids, start = [], 0
    while start < len(word):
        table = continuation if ids else initial
        end = next((e for e in range(len(word), start, -1) if word[start:e] in table), None)
        if end is None:
            return None
        ids.append(table[word[start:end]])
        start = end
    return ids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    args = parser.parse_args()
    tokenizer = Tokenizer.from_file(str(args.model / "tokenizer.json"))
    vocab = json.loads((args.model / "tokenizer.json").read_text())["model"]["vocab"]
    initial, continuation = wordpiece_view(vocab)
    words: Counter[str] = Counter()
    for sentence in kaznerd.load_split("test"):
        words.update(sentence.words)
    for report in sorted(Path(os.environ["KZNER_REPORTS_DIR"]).glob("*.txt")):
        words.update(t.text for t in tokenize(report.read_text(encoding="utf-8")))
    same = no_initial = 0
    for word, count in words.items():
        pieces = tokenizer.encode(word, add_special_tokens=False).ids
        view = greedy(tokenizer.normalizer.normalize_str(word), initial, continuation)
        same += count * (view == pieces)
        no_initial += count * (view is None)
    total = sum(words.values())
    print(f"words (tokens): {total}, distinct {len(words)}")
    print(f"same pieces under the WordPiece view: {same / total:.3f}")
    print(f"different pieces:                     {(total - same - no_initial) / total:.3f}")
    print(f"no word-initial piece:                {no_initial / total:.3f}")


if __name__ == "__main__":
    main()
