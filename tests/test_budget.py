from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForTokenClassification, AutoTokenizer, DataCollatorForTokenClassification

from kzner.budget import ROUND, Schedule, fitted_steps, measure_step, plan

from .tiny_model import make_tiny_model


def test_steps_that_fit_are_kept_and_a_cut_is_whole_rounds() -> None:
    assert fitted_steps(3604, 0.19, 20) == 3604
    cut = fitted_steps(3604, 0.61, 20)
    assert cut % ROUND == 0 and cut <= 20 * 60 / 0.61 < cut + ROUND
    assert fitted_steps(100, 30.0, 1) == 2  # fewer than a round: as many as fit
    assert fitted_steps(100, 600.0, 1) == 1  # never none


def unmeasured() -> float:
    raise AssertionError("nothing should have been measured")


def test_no_budget_measures_nothing(tmp_path: Path) -> None:
    assert plan(3604, None, tmp_path / "schedule.json", False, unmeasured) == Schedule(3604, 3604, None)


def test_resume_keeps_the_schedule_the_run_started_with(tmp_path: Path) -> None:
    saved = tmp_path / "schedule.json"
    first = plan(3604, 20, saved, False, lambda: 0.61)
    assert first == Schedule(1950, 3604, 0.61)
    # Resumed on a faster machine, or under another budget: the same steps, or
    # the learning-rate schedule would jump.
    assert plan(3604, 60, saved, True, unmeasured) == first
    # A new run into the same folder plans afresh.
    assert plan(3604, 60, saved, False, lambda: 0.61) == Schedule(3604, 3604, 0.61)
    assert json.loads(saved.read_text()) == {
        "steps": 3604,
        "planned": 3604,
        "seconds_per_step": 0.61,
        "dropout": True,
        "layers": None,
    }
    # A plan saved before dropout could be switched off resumes with it on.
    saved.write_text(json.dumps({"steps": 1950, "planned": 3604, "seconds_per_step": 0.61}))
    assert plan(3604, 20, saved, True, unmeasured) == Schedule(1950, 3604, 0.61, dropout=True)


def test_a_cut_schedule_is_planned_on_the_step_without_dropout(tmp_path: Path) -> None:
    saved = tmp_path / "schedule.json"
    switched = []

    def without_dropout() -> float:
        switched.append(True)
        return 0.55

    # The steps fit: dropout stays, measured once.
    assert plan(3604, 60, saved, False, lambda: 0.61, without_dropout) == Schedule(3604, 3604, 0.61)
    assert not switched
    # They do not: the plan rests on the cheaper step, and says dropout is off,
    # also to a resumed run.
    cut = plan(3604, 20, saved, False, lambda: 0.61, without_dropout)
    assert switched and cut == Schedule(2150, 3604, 0.55, dropout=False)
    assert plan(3604, 20, saved, True, unmeasured, unmeasured) == cut
    # train.dropout set outright: no second measurement, dropout as set.
    assert plan(3604, 20, saved, False, lambda: 0.61, None) == Schedule(1950, 3604, 0.61)


def test_fewer_layers_are_tried_before_dropout_goes(tmp_path: Path) -> None:
    saved = tmp_path / "schedule.json"
    tried: list[str] = []

    def fewer_layers(seconds: float):
        def measure() -> tuple[int, float]:
            tried.append("layers")
            return 8, seconds

        return measure

    def without_dropout() -> float:
        tried.append("dropout")
        return 0.30

    # The whole model's steps fit: nothing is cut, nothing measured again.
    assert plan(3604, 60, saved, False, lambda: 0.61, without_dropout, fewer_layers(0.4)) == Schedule(
        3604, 3604, 0.61
    )
    assert not tried
    # They do not, and 8 layers' steps do: dropout stays.
    fits = plan(3604, 20, saved, False, lambda: 0.61, without_dropout, fewer_layers(0.33))
    assert tried == ["layers"] and fits == Schedule(3604, 3604, 0.33, dropout=True, layers=8)
    assert json.loads(saved.read_text())["layers"] == 8
    assert plan(3604, 20, saved, True, unmeasured, unmeasured, unmeasured) == fits
    # 8 layers' steps do not fit either: then dropout goes too.
    tried.clear()
    both = plan(3604, 20, saved, False, lambda: 0.61, without_dropout, fewer_layers(0.4))
    assert tried == ["layers", "dropout"] and both == Schedule(3604, 3604, 0.30, dropout=False, layers=8)
    # No layer can go (the model is small, or most of it frozen): straight to dropout.
    assert plan(3604, 20, saved, False, lambda: 0.61, without_dropout, lambda: None) == Schedule(
        3604, 3604, 0.30, dropout=False
    )


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_measuring_a_step_changes_no_weight(tmp_path: Path, precision: str) -> None:
    """The Trainer reseeds every random stream when it is built; the weights
    it starts from are the measurement's to leave alone."""
    base = make_tiny_model(tmp_path, "абвгдеқңү")
    tokenizer = AutoTokenizer.from_pretrained(base)
    torch.manual_seed(0)
    model = AutoModelForTokenClassification.from_pretrained(base, num_labels=5)
    model.bert.embeddings.requires_grad_(False)  # frozen parts, as kzner freezes them
    before = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    words = ["аб", "вгде", "қ", "ңүа", "гд"]
    rows = []
    for n in range(60):
        ids = tokenizer(words[: 1 + n % 5] * (1 + n % 3), is_split_into_words=True)["input_ids"]
        rows.append({"input_ids": ids, "labels": [n % 5] * len(ids)})
    collator = DataCollatorForTokenClassification(tokenizer)
    seconds = measure_step(model, rows, collator, 8, precision, torch.device("cpu"))
    assert seconds > 0
    assert all(torch.equal(before[name], tensor) for name, tensor in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_set_dropout_reaches_every_dropout_of_a_transformers_encoder(tmp_path: Path) -> None:
    """At rate 0 a model in training mode computes what it does in eval mode:
    no mask is left anywhere, attention's included."""
    from kzner.train import set_dropout

    base = make_tiny_model(tmp_path, "абвгдеқңү")
    model = AutoModelForTokenClassification.from_pretrained(
        base, num_labels=5, hidden_dropout_prob=0.3, attention_probs_dropout_prob=0.3
    )
    ids = AutoTokenizer.from_pretrained(base)(["абв гдеқ ңү"] * 4, return_tensors="pt")
    with torch.no_grad():
        expected = model.eval()(**ids).logits
        model.train()
        assert not torch.allclose(model(**ids).logits, expected)
        set_dropout(model, 0.0)
        assert torch.allclose(model(**ids).logits, expected)
        # Only hidden dropout off: attention's still draws masks.
        model.bert.encoder.layer[0].attention.self.dropout.p = 0.3
        assert not torch.allclose(model(**ids).logits, expected)
