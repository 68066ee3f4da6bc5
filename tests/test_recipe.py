"""The training-recipe options: per-group learning rates and label weights."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForTokenClassification, TrainingArguments

from kzner.config import ConfigError, load_config
from kzner.errors import KznerError
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


def test_crf_refuses_the_distilled_head() -> None:
    with pytest.raises(ConfigError, match="use model.head: folded with a CRF"):
        load_config(None, ["model.crf=true"])


def test_crf_refuses_per_tag_loss_options() -> None:
    for option in ("train.label_weights={PROJECT: 2}", "train.label_smoothing=0.1"):
        with pytest.raises(ConfigError, match="model.crf trains on the likelihood of whole tag sequences"):
            load_config(None, ["model.crf=true", "model.head=folded", "model.label_all_tokens=false", option])


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
    from kzner import predict

    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: cuda_bf16)
    monkeypatch.setattr(predict, "cpu_has_bf16", lambda: cpu_bf16)
    assert predict.resolve_precision(wanted, predict.pick_device(), "train.precision") == expected


def test_fp16_on_cpu_is_refused(monkeypatch) -> None:
    from kzner import predict

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(KznerError, match="train.precision=fp16 needs a CUDA device"):
        predict.resolve_precision("fp16", predict.pick_device(), "train.precision")


def test_cpu_bf16_probe_exists_in_this_torch() -> None:
    from kzner.predict import cpu_has_bf16

    assert isinstance(cpu_has_bf16(), bool)


def test_freeze_layers_stops_the_lowest_layers_and_names_the_key(tmp_path: Path) -> None:
    from kzner.train import freeze_lowest_layers

    base = make_tiny_model(tmp_path / "base", "abc")
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=3)
    layers = model.config.num_hidden_layers
    assert layers >= 2
    freeze_lowest_layers(model, 1)
    trained = {
        n.split(".")[2] for n, p in model.base_model.named_parameters() if p.requires_grad and ".layer." in n
    }
    assert trained == {str(i) for i in range(1, layers)}
    assert model.classifier.weight.requires_grad
    # Nothing below the frozen layer keeps autograd going down there: the
    # time saved is the backward pass through it.
    assert not any(p.requires_grad for n, p in model.base_model.named_parameters() if "embeddings" in n)
    out = model(input_ids=torch.tensor([[0, 1, 2]]), output_hidden_states=True)
    assert not out.hidden_states[1].requires_grad
    assert out.hidden_states[2].requires_grad
    with pytest.raises(ConfigError, match=f"model.freeze_layers: {layers + 1} is more than"):
        freeze_lowest_layers(model, layers + 1)


def test_layers_keeps_the_base_models_lowest_layers_and_names_the_key(tmp_path: Path) -> None:
    from kzner.train import kept_layers

    base = make_tiny_model(tmp_path / "base", "abc")
    full = AutoModelForTokenClassification.from_pretrained(base, num_labels=3)
    layers = full.config.num_hidden_layers
    assert layers >= 2 and kept_layers(str(base), None) == {}
    cut = AutoModelForTokenClassification.from_pretrained(base, num_labels=3, **kept_layers(str(base), 1))
    assert cut.config.num_hidden_layers == len(cut.base_model.encoder.layer) == 1
    full_state, cut_state = full.base_model.state_dict(), cut.base_model.state_dict()
    assert all(torch.equal(full_state[name], tensor) for name, tensor in cut_state.items())
    with pytest.raises(ConfigError, match=f"model.layers: {layers + 1} is more than the base model's"):
        kept_layers(str(base), layers + 1)


def test_dev_f1_is_scored_with_the_decoder_metrics_json_reports() -> None:
    """«Қарызсыз қоғам»: each word's best tag alone is B-PROJECT I-ORG, two
    broken entities; Viterbi reads B-PROJECT I-PROJECT, as Tagger reports it."""
    from types import SimpleNamespace

    import numpy as np

    from kzner.data import Sentence
    from kzner.tagset import TagSet, iob_tags
    from kzner.train import dev_metric

    tagset = TagSet.build(iob_tags(["ORG", "PROJECT"]), ["ORG", "PROJECT"], {})
    sentence = Sentence(
        "s", ("Қарызсыз", "қоғам", "жобасы"), ("B-PROJECT", "I-PROJECT", "O"), ("B-PROJECT", "I-PROJECT", "O")
    )
    # One window: <s> w1 w2 w3 </s>; the metric sees each position's distribution over our tags.
    distributions = np.zeros((1, 5, len(tagset.output)), dtype=np.float32)
    at = {tag: i for i, tag in enumerate(tagset.output)}
    distributions[0, 1, at["B-PROJECT"]] = 1.0
    distributions[0, 2, [at["I-ORG"], at["I-PROJECT"]]] = [0.52, 0.48]
    distributions[0, 3, at["O"]] = 1.0
    labels = np.array([[IGNORE, 0, 0, 0, IGNORE]])
    scores = dev_metric([sentence], [(0, [0, 1, 2])], tagset)(
        SimpleNamespace(predictions=distributions, label_ids=labels)
    )
    assert scores["f1_strict"] == 1.0


def test_resume_sets_partial_checkpoints_aside_under_a_lock(tmp_path: Path, monkeypatch) -> None:
    """Every torchrun rank resumes: only one at a time may remove a half-written checkpoint."""
    from filelock import FileLock, Timeout

    from kzner import train as train_module

    folder = tmp_path / "checkpoints"
    # 10: killed before its state was written; 15: killed while writing it (empty file).
    for step, state in ((5, "{}"), (10, None), (15, "")):
        (folder / f"checkpoint-{step}").mkdir(parents=True)
        if state is not None:
            (folder / f"checkpoint-{step}" / "trainer_state.json").write_text(state)
    removed = []

    def remove(path: Path) -> None:
        with pytest.raises(Timeout):
            FileLock(folder / ".resume.lock", timeout=0).acquire()
        removed.append(Path(path).name)
        (Path(path) / "trainer_state.json").unlink(missing_ok=True)
        Path(path).rmdir()

    monkeypatch.setattr(train_module.shutil, "rmtree", remove)
    assert train_module.last_checkpoint(folder).name == "checkpoint-5"
    assert removed == ["checkpoint-10", "checkpoint-15"]
    assert train_module.last_checkpoint(folder).name == "checkpoint-5"  # the next rank finds them gone
    assert removed == ["checkpoint-10", "checkpoint-15"]
