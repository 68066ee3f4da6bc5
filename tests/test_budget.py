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
    assert json.loads(saved.read_text()) == {"steps": 3604, "planned": 3604, "seconds_per_step": 0.61}


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
