"""Training throughput: kzner's batching against HF Trainer padded to 128, in one run.

Both train the same freshly loaded base model (same config, seed, frozen
embeddings) for one pass over the same random sample of training windows with
the HF ``Trainer``. The baseline pads every batch to 128 sub-tokens and samples
at random, as a fixed-length setup does; kzner pads each batch only to its
longest window and groups windows of similar length. Printed: real (non-pad)
tokens per second of each and the ratio.

Usage: python scripts/bench_train.py [--config configs/default.yaml] [--windows 640] [--set k=v ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from transformers import (
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    Trainer,
    TrainingArguments,
)

from kzner import base_models
from kzner.config import load_config
from kzner.data import load_corpus, source_tags
from kzner.tagset import TagSet
from kzner.train import training_features


def run(base: str, names: dict[int, str], freeze: bool, rows, collator, strategy: str, batch: int) -> float:
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=len(names), id2label=names)
    if freeze:
        model.get_input_embeddings().weight.requires_grad_(False)
    with tempfile.TemporaryDirectory() as out:
        args = TrainingArguments(
            output_dir=out,
            max_steps=len(rows) // batch,
            per_device_train_batch_size=batch,
            train_sampling_strategy=strategy,
            save_strategy="no",
            logging_strategy="no",
            report_to="none",
            use_cpu=not torch.cuda.is_available(),
            seed=0,
            disable_tqdm=True,
        )
        trainer = Trainer(model=model, args=args, train_dataset=rows, data_collator=collator)
        start = time.perf_counter()
        trainer.train()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", default="configs/default.yaml")
    parser.add_argument("--windows", type=int, default=640, help="training windows in the sample")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    config = load_config(args.config, args.overrides)
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    corpus = load_corpus(config)
    base = base_models.resolve(config.base_model)
    tokenizer = AutoTokenizer.from_pretrained(base)
    tagset = TagSet.build(source_tags(corpus.train), config.labels, corpus.mapping)
    label_ids = {tag: i for i, tag in enumerate(tagset.source)}
    rows = training_features(tokenizer, corpus.train, label_ids, config).shuffle(seed=0)
    batch = config.train.batch_size
    rows = rows.select(range(min(args.windows, len(rows)) // batch * batch))
    tokens = sum(len(ids) for ids in rows["input_ids"])
    print(f"{len(rows)} windows, {tokens:,} real tokens, batch {batch}, {torch.get_num_threads()} threads")

    fixed = DataCollatorForTokenClassification(tokenizer, padding="max_length", max_length=128)
    names = tagset.folded_names()
    freeze = config.model.freeze_embeddings
    t_fixed = run(base, names, freeze, rows, fixed, "random", batch)
    t_ours = run(
        base, names, freeze, rows, DataCollatorForTokenClassification(tokenizer), "group_by_length", batch
    )
    print(f"HF Trainer, padded to 128, random batches: {tokens / t_fixed:8.0f} tokens/s")
    ratio = t_fixed / t_ours
    print(f"kzner, dynamic padding, length-grouped:    {tokens / t_ours:8.0f} tokens/s   ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
