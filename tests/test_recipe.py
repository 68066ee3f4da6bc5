"""The training-recipe options: per-group learning rates and label weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForTokenClassification, TrainingArguments

from kzner.config import ConfigError, load_config
from kzner.features import IGNORE
from kzner.train import _Trainer, weighted_loss

from .tiny_model import make_tiny_model


def test_head_gets_its_own_learning_rate(tmp_path: Path) -> None:
    base = make_tiny_model(tmp_path / "base", "abc")
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=3)
    args = TrainingArguments(
        str(tmp_path / "out"), learning_rate=1e-4, weight_decay=0.01, use_cpu=True, report_to="none"
    )
    optimizer = _Trainer(model=model, args=args, head_learning_rate=5e-3).create_optimizer()
    lr_of = {id(p): g["lr"] for g in optimizer.param_groups for p in g["params"]}
    assert lr_of[id(model.classifier.weight)] == lr_of[id(model.classifier.bias)] == 5e-3
    assert {lr_of[id(p)] for p in model.base_model.parameters()} == {1e-4}
    assert len(lr_of) == len(list(model.parameters()))  # every parameter in exactly one group
    decay = {id(p): g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
    assert decay[id(model.classifier.weight)] == 0.01 and decay[id(model.classifier.bias)] == 0.0


def test_layer_decay_slows_the_lower_layers(tmp_path: Path) -> None:
    base = make_tiny_model(tmp_path / "base", "abc")  # two layers
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=3)
    args = TrainingArguments(str(tmp_path / "out"), learning_rate=1e-4, use_cpu=True, report_to="none")
    trainer = _Trainer(model=model, args=args, head_learning_rate=5e-3, layer_decay=0.5)
    lr_of = {id(p): g["lr"] for g in trainer.create_optimizer().param_groups for p in g["params"]}
    encoder = model.base_model
    assert lr_of[id(model.classifier.weight)] == 5e-3
    assert {lr_of[id(p)] for p in encoder.encoder.layer[1].parameters()} == {1e-4}
    assert {lr_of[id(p)] for p in encoder.encoder.layer[0].parameters()} == {5e-5}
    assert {lr_of[id(p)] for p in encoder.embeddings.parameters()} == {2.5e-5}
    assert len(lr_of) == len(list(model.parameters()))


def test_weighted_loss_is_plain_cross_entropy_at_weight_one() -> None:
    torch.manual_seed(0)
    logits = torch.randn(2, 5, 3)
    labels = torch.tensor([[IGNORE, 0, 1, 2, IGNORE], [IGNORE, 2, 2, IGNORE, IGNORE]])
    plain = torch.nn.functional.cross_entropy(logits.view(-1, 3), labels.view(-1), ignore_index=IGNORE)
    ones = weighted_loss(torch.ones(3), 0.0)({"logits": logits}, labels)
    assert ones == pytest.approx(plain.item(), rel=1e-6)
    heavier = weighted_loss(torch.tensor([1.0, 1.0, 3.0]), 0.0)({"logits": logits}, labels)
    per_token = torch.nn.functional.cross_entropy(
        logits.view(-1, 3), labels.view(-1), ignore_index=IGNORE, reduction="none"
    )
    expected = (per_token * (labels.view(-1) == 2).float() * 2 + per_token).sum() / 5
    assert heavier == pytest.approx(expected.item(), rel=1e-6)


def test_label_weights_must_name_our_labels() -> None:
    with pytest.raises(
        ConfigError, match="train.label_weights names labels not in `labels`: \\['PROJEKT'\\]"
    ):
        load_config(None, ["train.label_weights={PROJEKT: 2}"])
    assert load_config(None, ["train.label_weights={PROJECT: 2}"]).train.label_weights == {"PROJECT": 2.0}


def test_crf_refuses_per_tag_loss_options() -> None:
    for option in ("train.label_weights={PROJECT: 2}", "train.label_smoothing=0.1"):
        with pytest.raises(ConfigError, match="model.crf trains on the likelihood of whole tag sequences"):
            load_config(None, ["model.crf=true", option])


@pytest.mark.parametrize(
    ("cuda", "cuda_bf16", "cpu_bf16", "wanted", "expected"),
    [
        (False, False, True, "auto", "bf16"),  # AVX512-BF16/AMX: mixed precision on CPU
        (False, False, False, "auto", "fp32"),  # emulated bf16 would be slower than fp32
        (False, False, False, "bf16", "bf16"),  # asked for explicitly: honoured
        (True, True, False, "auto", "bf16"),
        (True, False, False, "auto", "fp16"),  # GPUs before Ampere
        (True, True, True, "fp32", "fp32"),
    ],
)
def test_precision_follows_the_hardware(
    monkeypatch, cuda: bool, cuda_bf16: bool, cpu_bf16: bool, wanted: str, expected: str
) -> None:
    from kzner import train

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: cuda_bf16)
    monkeypatch.setattr(train, "cpu_has_bf16", lambda: cpu_bf16)
    assert train.resolve_precision(wanted) == expected


def test_fp16_on_cpu_is_refused(monkeypatch) -> None:
    from kzner import train

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="train.precision=fp16 needs a CUDA device"):
        train.resolve_precision("fp16")


def test_cpu_bf16_probe_exists_in_this_torch() -> None:
    from kzner.train import cpu_has_bf16

    assert isinstance(cpu_has_bf16(), bool)
