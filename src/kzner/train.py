"""``kzner train``: config in, packaged and scored model out.

The loop itself is Hugging Face's ``Trainer`` (checkpoints, resume, early
stopping, DDP under ``torchrun``, mixed precision); this module only feeds it:
window features, length-grouped batches with dynamic padding, and a dev score
(strict micro-F1 on our six labels) computed on exactly one prediction per
word, so no word is silently left out of the score.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from datasets import Dataset
from filelock import FileLock
from torch.utils.data import SequentialSampler
from transformers import (
    AutoConfig,
    AutoModelForTokenClassification,
    AutoTokenizer,
    DataCollatorForTokenClassification,
    EarlyStoppingCallback,
    Trainer,
    TrainerCallback,
    TrainingArguments,
    set_seed,
)

from kzner import base_models, budget
from kzner.align import document_from_words
from kzner.config import Config, ConfigError, expand_globs
from kzner.crf_baseline import predict_crf, train_crf
from kzner.crf_layer import CONFIG_KEY, LinearChainCRF
from kzner.data import Corpus, Sentence, load_corpus, source_tags
from kzner.decode import DECODERS, decode
from kzner.distil import distil_head
from kzner.errors import KznerError
from kzner.evaluate import score_documents, tag_scores
from kzner.features import IGNORE, encode_sentences, owner_windows, plan_windows, window_features
from kzner.package import check_labels, read_settings, write_package
from kzner.predict import Tagger, pick_device, resolve_precision
from kzner.prune import kept_ids, prune
from kzner.ranks import leave
from kzner.report import write_confusion_png, write_html
from kzner.tagset import TagSet, continuation_tag
from kzner.tokenize import split_sentences, tokenize
from kzner.word_offsets import offsets_on_words
from kzner.word_pieces import word_aware

log = logging.getLogger(__name__)

# The decoder dev is scored with while training: Tagger's default, the one
# metrics.json reports.
DEV_DECODER = DECODERS[0]


class _Trainer(Trainer):
    def __init__(
        self, *args, head_learning_rate: float | None = None, layer_decay: float | None = None, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.head_learning_rate = head_learning_rate
        self.layer_decay = layer_decay

    def create_optimizer(self, model=None):
        fresh = self.optimizer is None
        optimizer = super().create_optimizer(model)
        if fresh and (self.head_learning_rate is not None or self.layer_decay is not None):
            # Split each of HF's groups (decay / no decay) by rate, before the
            # scheduler records each group's starting rate.
            rates = parameter_rates(
                self.model, self.args.learning_rate, self.head_learning_rate, self.layer_decay
            )
            groups = list(optimizer.param_groups)
            optimizer.param_groups.clear()
            for group in groups:
                by_rate: dict[float, list] = {}
                for p in group["params"]:
                    by_rate.setdefault(rates[id(p)], []).append(p)
                settings = {k: v for k, v in group.items() if k != "params"}
                for rate, params in by_rate.items():
                    optimizer.add_param_group({**settings, "params": params, "lr": rate})
        return optimizer

    def evaluate(self, *args, **kwargs):
        # Iterating the dev loader draws a seed from the global generator,
        # which would shift every later dropout mask: with the generator
        # restored, the weights trained do not depend on how often dev is
        # evaluated (tests/test_train.py).
        with torch.random.fork_rng(devices=[]):
            return super().evaluate(*args, **kwargs)

    def _get_eval_sampler(self, eval_dataset):
        # Length grouping would shuffle dev rows, and dev scoring maps rows
        # back to sentences by position: keep them in order.
        return SequentialSampler(eval_dataset)


def parameter_rates(
    model, learning_rate: float, head_learning_rate: float | None, layer_decay: float | None
) -> dict[int, float]:
    """Learning rate per parameter (by ``id``): the new head at its own rate;
    with ``layer_decay``, the top encoder layer at ``learning_rate`` and each
    layer below at ``layer_decay`` times the one above it (embeddings lowest),
    since lower layers hold the general features pre-training paid for."""
    rates = {id(p): head_learning_rate or learning_rate for p in model.parameters()}
    layers = model.config.num_hidden_layers
    for name, p in model.base_model.named_parameters():
        rate = learning_rate
        if layer_decay is not None:
            layer = encoder_layer(name)
            depth = layer + 1 if layer is not None else 0 if "embeddings" in name else layers
            rate *= layer_decay ** (layers - depth)
        rates[id(p)] = rate
    return rates


def encoder_layer(name: str) -> int | None:
    """The encoder layer a parameter of the base model belongs to, by HF's
    naming (``encoder.layer.3.attention...``), or None outside the layers."""
    found = re.search(r"\blayer\.(\d+)\.", name)
    return int(found[1]) if found else None


def kept_layers(base: str, count: int | Literal["auto"] | None) -> dict[str, int]:
    """``from_pretrained`` arguments that keep the base model's ``count``
    lowest encoder layers: given a config with fewer layers, it loads those
    and leaves the checkpoint's others unused. More than the checkpoint holds
    would be drawn at random, so that is refused. ``auto`` starts from all
    of them (the time budget may cut them later)."""
    if count is None or count == "auto":
        return {}
    layers = AutoConfig.from_pretrained(base).num_hidden_layers
    if count > layers:
        raise ConfigError(f"model.layers: {count} is more than the base model's {layers} layers")
    return {"num_hidden_layers": count}


def auto_layers(layers: int, frozen: int) -> int | None:
    """The encoder layers ``model.layers: auto`` keeps where the time budget
    would cut the whole model's steps: the lowest two thirds (measured with
    8 of 12), but always one above the frozen ones, which alone learn
    nothing; None where that keeps them all.

    >>> auto_layers(12, 2), auto_layers(24, 2), auto_layers(2, 0), auto_layers(3, 2)
    (8, 16, 1, None)
    """
    kept = max(round(layers * 2 / 3), frozen + 1)
    return kept if kept < layers else None


def freeze_lowest_layers(model, count: int) -> None:
    """Stop training the ``count`` lowest encoder layers and everything below
    them: the whole embeddings module (positions and its LayerNorm too), since
    one trainable parameter down there makes autograd run backward through
    every frozen layer and the CPU step costs what it did (measured 0.80 s
    against 0.60 s with six layers frozen)."""
    layers = model.config.num_hidden_layers
    if count > layers:
        raise ConfigError(f"model.freeze_layers: {count} is more than the model's {layers} layers")
    if count == 0:
        return
    for name, p in model.base_model.named_parameters():
        layer = encoder_layer(name)
        if (layer is not None and layer < count) or name.startswith("embeddings."):
            p.requires_grad_(False)


def set_dropout(model, rate: float) -> None:
    """Every dropout layer of ``model`` at ``rate``. transformers' encoders
    read their attention dropout from these modules too, so this reaches
    all of it without a new model (and the package's config keeps the base
    model's rates for whoever fine-tunes it further)."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = rate


class JsonlLog(TrainerCallback):
    """Every Trainer log line (loss, learning rate, dev scores) as one JSON line."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"step": state.global_step, "time": time.time(), **logs}) + "\n")


def weighted_loss(weights: torch.Tensor, smoothing: float):
    """Cross-entropy with a weight per head output, normalised as HF's own
    loss is (per labelled sub-token of the whole batch, across devices and
    accumulation steps), so that weights of 1 give the usual loss."""

    def loss(outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
        logits = outputs["logits"].float()
        total = torch.nn.functional.cross_entropy(
            logits.view(-1, logits.size(-1)),
            labels.view(-1).to(logits.device),
            weight=weights.to(logits.device),
            ignore_index=IGNORE,
            label_smoothing=smoothing,
            reduction="sum",
        )
        count = num_items_in_batch if num_items_in_batch is not None else (labels != IGNORE).sum()
        return total / count

    return loss


def crf_loss(layer: LinearChainCRF):
    """The CRF's sequence NLL, per labelled word as HF's loss is, so the logged
    loss stays on the cross-entropy's scale."""

    def loss(outputs, labels: torch.Tensor, num_items_in_batch=None) -> torch.Tensor:
        labels = labels.to(outputs["logits"].device)
        count = num_items_in_batch if num_items_in_batch is not None else (labels != IGNORE).sum()
        return layer.loss(outputs["logits"], labels, IGNORE) / count

    return loss


def training_features(
    tokenizer, sentences: list[Sentence], label_ids: dict[str, int], config: Config
) -> Dataset:
    """Every window of every sentence; every word labelled in each window it is in."""
    rows = []
    encodings = encode_sentences(tokenizer, [sentence.words for sentence in sentences])
    for sentence, encoded in zip(sentences, encodings, strict=True):
        tags = [label_ids[t] for t in sentence.tags]
        onward = (
            [label_ids[continuation_tag(t)] for t in sentence.tags] if config.model.label_all_tokens else None
        )
        for window in plan_windows(encoded, config.model.max_length - 2, config.model.stride):
            rows.append(window_features(tokenizer, encoded, window, tags, onward))
    return Dataset.from_list(rows)


def dev_features(
    tokenizer, sentences: list[Sentence], label_ids: dict[str, int], config: Config
) -> tuple[Dataset, list[tuple[int, list[int]]]]:
    """Windows labelled only where a word takes its prediction (see features.py),
    and for each window its sentence and the words its labelled positions stand for.

    The labels are the gold tags, so the logged dev loss means something; a
    class that never occurs in training counts as O there (the F1 uses the
    gold tags themselves).
    """
    rows, index = [], []
    encodings = encode_sentences(tokenizer, [sentence.words for sentence in sentences])
    for s, (sentence, encoded) in enumerate(zip(sentences, encodings, strict=True)):
        windows = (
            plan_windows(encoded, config.model.max_length - 2, config.model.stride) if encoded.ids else []
        )
        owners = owner_windows(encoded, windows)
        for w, window in enumerate(windows):
            features = window_features(tokenizer, encoded, window, None)
            labels = [IGNORE] * len(features["input_ids"])
            words = [word for word, owner in enumerate(owners) if owner == w]
            for word in words:
                labels[encoded.first[word] - window.start + 1] = label_ids.get(sentence.tags[word], 0)
            rows.append({**features, "labels": labels})
            index.append((s, words))
    return Dataset.from_list(rows), index


def dev_metric(sentences: list[Sentence], index: list[tuple[int, list[int]]], tagset: TagSet):
    """Strict micro-F1 on our labels, each sentence decoded as ``Tagger``
    decodes it (``DEV_DECODER``), so that early stopping and ``train.keep:
    best`` choose on the figure ``metrics.json`` reports. A word no window
    predicts stays O and counts."""
    outside = np.eye(len(tagset.output), dtype=np.float32)[0]

    def compute(prediction) -> dict[str, float]:
        words = [np.tile(outside, (len(s.words), 1)) for s in sentences]
        for row, (s, owned) in enumerate(index):
            positions = np.nonzero(prediction.label_ids[row] != IGNORE)[0]
            words[s][owned] = prediction.predictions[row][positions]
        predicted = [[tagset.output[t] for t in decode(w, tagset.output, DEV_DECODER)] for w in words]
        scores = tag_scores([s.gold for s in sentences], predicted)
        micro = scores["strict"]["micro avg"]
        return {
            "f1_strict": micro["f1"],
            "precision_strict": micro["precision"],
            "recall_strict": micro["recall"],
            "f1_default": scores["default"]["micro avg"]["f1"],
        }

    return compute


def dev_predictions(model, fold: torch.Tensor):
    """Each position's distribution over our tags, folded on the fly (13
    numbers a token, not the head's 51); with a CRF, from its marginals over
    the window's scored words."""

    @torch.no_grad()  # the CRF's transitions would otherwise carry grad into the gathered arrays
    def predict(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        crf = getattr(model, "crf", None)
        if crf is None:
            probabilities = logits.float().softmax(-1)
        else:
            probabilities = crf.word_distributions(logits, labels != IGNORE)
        return probabilities @ fold.to(logits.device)

    return predict


def _loss(config: Config, tagset: TagSet, model):
    """None (the model's own loss) unless labels are weighted or a CRF is on."""
    if config.model.crf:
        return crf_loss(model.crf)
    if not config.train.label_weights:
        return None
    weights = [config.train.label_weights.get(tagset.output[f][2:], 1.0) for f in tagset.fold]
    return weighted_loss(torch.tensor(weights), config.train.label_smoothing)


def train(config: Config, output: Path | None = None, resume: bool = False) -> Path:
    """Train, score on dev and test, and package into ``output`` (atomically)."""
    output = Path(output or config.train.output)
    work = output.parent / f"{output.name}.work"
    world = int(os.environ.get("WORLD_SIZE", "1"))
    max_minutes = config.train.max_minutes if config.train.max_steps is None else None  # asked outright
    if max_minutes is not None and world > 1:
        # Each process would measure its own steps and plan a schedule the others do not share.
        raise ConfigError(
            f"train.max_minutes plans one process's steps; under {world} processes set it to null"
        )
    if config.train.threads:
        torch.set_num_threads(config.train.threads)
    # Before the model exists: the new classification head is drawn at load time.
    set_seed(config.train.seed)
    # Data first: a bad export or a missing KazNERD file must stop us before
    # the base model is converted or downloaded.
    corpus = load_corpus(config)
    log.info(corpus.kaznerd_split.describe())
    model, tokenizer, tagset = build_model(config, corpus)

    def rebuilt(layers: int):
        """The model ``model.layers: N`` would have built: the same head draw,
        since the seed is set again before it."""
        set_seed(config.train.seed)
        cut = config.model_copy(update={"model": config.model.model_copy(update={"layers": layers})})
        return build_model(cut, corpus)[0]

    label_ids = {tag: i for i, tag in enumerate(tagset.source)}
    train_set = training_features(tokenizer, corpus.train, label_ids, config)
    dev_set, dev_index = dev_features(tokenizer, corpus.dev, label_ids, config)

    steps_per_epoch = math.ceil(len(train_set) / (config.train.batch_size * world))
    device = pick_device()  # where the Trainer puts the model (use_cpu below)
    precision = resolve_precision(config.train.precision, device, "train.precision")
    collator = DataCollatorForTokenClassification(tokenizer)

    def measure() -> float:
        return budget.measure_step(model, train_set, collator, config.train.batch_size, precision, device)

    def measure_without_dropout() -> float:
        set_dropout(model, 0.0)
        return measure()

    def measure_fewer_layers() -> tuple[int, float] | None:
        nonlocal model
        layers = auto_layers(model.config.num_hidden_layers, config.model.freeze_layers)
        if layers is None:
            return None
        model = rebuilt(layers)
        return layers, measure()

    schedule = budget.plan(
        config.train.max_steps or math.ceil(steps_per_epoch * config.train.epochs),
        max_minutes,
        work / "schedule.json",
        resume,
        measure,
        measure_without_dropout if config.train.dropout == "auto" else None,
        measure_fewer_layers if config.model.layers == "auto" else None,
    )
    if schedule.layers is not None and schedule.layers != model.config.num_hidden_layers:
        model = rebuilt(schedule.layers)  # --resume of a run the budget cut
    if not schedule.dropout:  # also where --resume reads the plan
        set_dropout(model, 0.0)
    every = min(config.train.eval_steps or steps_per_epoch, schedule.steps)
    fold = torch.from_numpy(tagset.fold_matrix())
    args = training_arguments(config, work, schedule, every, precision)
    callbacks = [JsonlLog(work / "metrics.jsonl")]
    if config.train.early_stopping_patience is not None:
        callbacks.append(EarlyStoppingCallback(config.train.early_stopping_patience))
    trainer = _Trainer(
        model=model,
        args=args,
        train_dataset=train_set,
        eval_dataset=dev_set,
        data_collator=collator,
        compute_metrics=dev_metric(corpus.dev, dev_index, tagset),
        compute_loss_func=_loss(config, tagset, model),
        head_learning_rate=config.train.head_learning_rate,
        layer_decay=config.train.layer_decay,
        preprocess_logits_for_metrics=dev_predictions(model, fold),
        callbacks=callbacks,
    )
    work.mkdir(parents=True, exist_ok=True)
    started = time.time()
    result = trainer.train(
        resume_from_checkpoint=str(last_checkpoint(work / "checkpoints")) if resume else None
    )
    if trainer.is_world_process_zero():
        if config.model.crf:
            setattr(trainer.model.config, CONFIG_KEY, trainer.model.crf.to_config())
            del trainer.model.crf
        if config.model.head == "distilled":
            train_extra = {
                "distil": distil_head(
                    trainer.model,
                    tokenizer,
                    [s.words for s in corpus.train],
                    tagset,
                    config.labels,
                    config.model.max_length,
                    config.model.stride,
                    config.train.eval_batch_size,
                    config.train.seed,
                    config.model.label_all_tokens,
                )
            }
            log.info(f"head distilled into our tags: {train_extra['distil']}")
        else:
            train_extra = {}
        train_metrics = {
            **result.metrics,
            "wall_seconds": round(time.time() - started, 1),
            "sentences": len(corpus.train),
            "windows": len(train_set),
            "world_size": trainer.args.world_size,
            "precision": precision,
            "steps": result.global_step,
            "steps_planned": schedule.planned,
            "steps_scheduled": schedule.steps,  # under steps_planned where the time budget cut them
            "seconds_per_step_measured": schedule.seconds_per_step,
            "dropout": config.train.dropout if schedule.dropout else 0.0,
            "layers": model.config.num_hidden_layers,
            "layers_cut_to_fit": schedule.layers is not None,  # by model.layers: auto
            **train_extra,
        }
        score_and_package(trainer.model, tokenizer, config, corpus, train_metrics, work, output)
    if trainer.args.world_size > 1:
        # Every rank waits for rank 0's package, then ends its group. Other
        # ranks used to exit as the loop ended, while gloo's workers could
        # still be freeing the last collective's tensors: a rare SIGABRT at
        # interpreter shutdown (seen once in CI; pytorch/pytorch#179291),
        # upon which torchrun stops rank 0, package unwritten. Ending the
        # group right after the loop hung instead (a worker waited for the
        # GIL the ending thread held); waiting in a barrier releases it for
        # as long as rank 0 packages.
        leave()
    return output


def build_model(config: Config, corpus: Corpus):
    """The base model with a new head over the tags the corpus teaches,
    its vocabulary pruned and its lower parts frozen as the config says."""
    base = base_models.resolve(config.base_model)
    if Path(base).is_dir() and (settings := read_settings(Path(base))) is not None:
        # Fine-tuning one of our own models further: its head must fit our labels.
        check_labels(Path(base), settings, config.labels)
    # Raw text in kzner's words, so that a plain pipeline gives the model
    # the pieces it learnt from; the window trained on is the tokenizer's
    # model_max_length, so a pipeline with a stride reads long texts in it.
    tokenizer = offsets_on_words(AutoTokenizer.from_pretrained(base))
    tokenizer.model_max_length = config.model.max_length
    tagset = TagSet.build(source_tags(corpus.train), config.labels, corpus.mapping)
    names = tagset.folded_names()
    model = AutoModelForTokenClassification.from_pretrained(
        base,
        num_labels=len(names),
        id2label=names,
        label2id={n: i for i, n in reversed(names.items())},
        # A package with a distilled head predicts 13 tags, not the source
        # classes trained here: that head is drawn afresh, the encoder kept.
        ignore_mismatched_sizes=True,
        **kept_layers(base, config.model.layers),
    )
    model.config.kzner_source_tags = list(tagset.source)
    if hasattr(model.config, CONFIG_KEY):
        # Fine-tuning one of our CRF packages: its transitions belong to the
        # old head; a CRF, if asked for, starts afresh below.
        delattr(model.config, CONFIG_KEY)
    if config.model.prune_vocab:
        keep = kept_ids(tokenizer, vocabulary_sentences(corpus, config.model.vocab_texts))
        log.info(f"vocabulary pruned to {len(keep):,} of {len(tokenizer):,} sub-tokens")
        model, tokenizer = prune(model, tokenizer, keep)
    if config.model.word_aware:
        model, tokenizer = word_aware(model, tokenizer)
    if config.model.freeze_embeddings:
        model.get_input_embeddings().weight.requires_grad_(False)
    freeze_lowest_layers(model, config.model.freeze_layers)
    if config.train.dropout != "auto":
        set_dropout(model, config.train.dropout)
    if config.model.crf:
        # A submodule while training, so the Trainer optimises (at the head's
        # rate), checkpoints and resumes it with the rest; moved into the
        # config before packaging.
        model.crf = LinearChainCRF(len(names))
    return model, tokenizer, tagset


def training_arguments(
    config: Config, work: Path, schedule: budget.Schedule, every: int, precision: str
) -> TrainingArguments:
    """Dev evaluation and checkpoints on one cadence, so that ``--resume`` and
    ``train.keep: best`` always find the step they chose; batches grouped by
    length, since padding is most of a CPU step's waste. Dev is evaluated
    during training only where asked (``train.eval_steps``) or where
    something chooses on it: on 2 CPU cores each pass costs as long as
    about 35 training steps, and the score after training is there anyway."""
    evaluates = (
        config.train.eval_steps is not None
        or config.train.early_stopping_patience is not None
        or config.train.keep == "best"
    )
    return TrainingArguments(
        output_dir=str(work / "checkpoints"),
        num_train_epochs=config.train.epochs,
        # The epochs' own count unless max_steps or the time budget cut it.
        max_steps=schedule.steps if schedule.steps < schedule.planned else config.train.max_steps or -1,
        per_device_train_batch_size=config.train.batch_size,
        per_device_eval_batch_size=config.train.eval_batch_size,
        learning_rate=config.train.learning_rate,
        weight_decay=config.train.weight_decay,
        warmup_steps=int(config.train.warmup_ratio * schedule.steps),
        label_smoothing_factor=config.train.label_smoothing,
        eval_strategy="steps" if evaluates else "no",
        eval_steps=every,
        save_strategy="steps",
        save_steps=every,
        save_total_limit=2,
        load_best_model_at_end=config.train.keep == "best",
        metric_for_best_model="f1_strict",
        greater_is_better=True,
        logging_steps=max(1, min(50, every // 4)),
        train_sampling_strategy="group_by_length",
        seed=config.train.seed,
        report_to="none",
        use_cpu=not torch.cuda.is_available(),
        # DDP's unused-parameter search would mark the CRF's scores, which the
        # loss uses outside forward(), as unused and then see their gradients
        # arrive ("marked ready twice"); every other parameter is used anyway.
        ddp_find_unused_parameters=False if config.model.crf else None,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
    )


def score_and_package(
    model,
    tokenizer,
    config: Config,
    corpus: Corpus,
    train_metrics: dict,
    work: Path,
    output: Path,
) -> None:
    """Score the trained model on dev, KazNERD test and the in-domain dev part
    with the decoder users get, and package it with its reports."""
    tagger = Tagger(
        model,
        tokenizer,
        config.labels,
        config.model.max_length,
        config.model.stride,
        config.train.eval_batch_size,
        decoder=DEV_DECODER,
    )
    dev_scores, _ = score(tagger, corpus.dev)
    test_scores, test_predicted = score(tagger, corpus.test)
    write_reports(work, corpus.test, test_predicted, config.labels, "KazNERD test")
    metrics = {
        "kaznerd_split": corpus.kaznerd_split.summary(),
        "train": train_metrics,
        "dev": dev_scores,
        "test": test_scores,
    }
    reports = [work / "report.html", work / "confusion.png"]
    if corpus.in_domain_dev:
        metrics["in_domain_dev"], predicted = score_documents(tagger, corpus.in_domain_dev)
        reports.append(work / "in-domain-report.html")
        write_html(reports[-1], corpus.in_domain_dev, predicted, "Errors on the in-domain dev part")
    if config.train.crf_baseline:
        metrics["crf"] = crf_baseline(corpus, work / "crf.model")
    write_package(
        output,
        model,
        tokenizer,
        config,
        metrics,
        {"base_model": base_models.fingerprint(config.base_model), **corpus.fingerprints},
        reports,
    )


def crf_baseline(corpus: Corpus, path: Path) -> dict:
    started = time.time()
    train_crf([(s.words, s.gold) for s in corpus.train], path)
    predicted = predict_crf(path, [s.words for s in corpus.test])
    scores = tag_scores([s.gold for s in corpus.test], predicted)
    return {"test": scores | {"sentences": len(corpus.test)}, "wall_seconds": round(time.time() - started, 1)}


def vocabulary_sentences(corpus: Corpus, patterns: list[str]) -> Iterator[Sequence[str]]:
    """What pruning keeps the vocabulary for: training and dev words, and the
    words of any extra texts named in ``model.vocab_texts`` (never test)."""
    for sentence in corpus.train + corpus.dev:
        yield sentence.words
    for path in expand_globs(patterns, "model.vocab_texts"):
        text = Path(path).read_text(encoding="utf-8")
        for sentence in split_sentences(text, tokenize(text)):
            yield [t.text for t in sentence]


def last_checkpoint(folder: Path) -> Path:
    """The newest checkpoint that was written completely.

    A run killed while saving leaves a checkpoint folder without its
    ``trainer_state.json``; the Trainer's own "last checkpoint" would pick it
    and fail, so such folders are set aside here, and said so.
    """
    folder.mkdir(parents=True, exist_ok=True)
    # Every rank of a torchrun resumes: one at a time, so that the first sets
    # a partial checkpoint aside and the others find it gone.
    with FileLock(folder / ".resume.lock"):
        checkpoints = sorted(folder.glob("checkpoint-*"), key=lambda p: int(p.name.rpartition("-")[2]))
        complete = [p for p in checkpoints if _written_whole(p)]
        if not complete:
            raise KznerError(f"--resume: no complete checkpoint in {folder}")
        for partial in checkpoints:
            if partial not in complete:
                log.warning(f"removing incomplete checkpoint {partial}")
                shutil.rmtree(partial)
    return complete[-1]


def _written_whole(checkpoint: Path) -> bool:
    """The Trainer writes trainer_state.json last; a kill while writing it
    leaves it missing, empty or cut short, and resuming from it fails."""
    try:
        json.loads((checkpoint / "trainer_state.json").read_text())
    except (OSError, ValueError):
        return False
    return True


def score(tagger: Tagger, sentences: list[Sentence]) -> tuple[dict, list[list[str]]]:
    predicted = [tags for tags, _ in tagger.predict_words([s.words for s in sentences])]
    return tag_scores([s.gold for s in sentences], predicted) | {"sentences": len(sentences)}, predicted


def write_reports(
    folder: Path, sentences: list[Sentence], predicted: list[list[str]], labels, title: str
) -> None:
    gold_docs = [document_from_words(s.id, s.words, s.gold) for s in sentences]
    predicted_spans = [
        list(document_from_words(s.id, s.words, p).spans) for s, p in zip(sentences, predicted, strict=True)
    ]
    write_html(folder / "report.html", gold_docs, predicted_spans, f"Errors on {title}")
    write_confusion_png(folder / "confusion.png", [s.gold for s in sentences], predicted, labels)
