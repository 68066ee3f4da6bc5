"""Shared fixtures. Real data comes from environment variables, never from a
hard-coded path: `make test` sets them to ../shared on the project's machines."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForTokenClassification

from kzner.document import LABELS
from kzner.package import KZNER_CONFIG
from kzner.tagset import iob_tags

from .ls_server import label_studio
from .tiny_model import make_tiny_model

# Nothing in the tests may reach for the Hugging Face hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

ROOT = Path(__file__).resolve().parents[1]


def _required_dir(variable: str) -> Path:
    value = os.environ.get(variable)
    if not value or not Path(value).is_dir():
        pytest.fail(f"${variable} must name an existing folder (make test sets it); got {value!r}")
    return Path(value)


@pytest.fixture(scope="session")
def kaznerd_dir() -> Path:
    return _required_dir("KZNER_KAZNERD_DIR")


@pytest.fixture(scope="session")
def reports_dir() -> Path:
    return _required_dir("KZNER_REPORTS_DIR")


@pytest.fixture(scope="session")
def report_texts(reports_dir: Path) -> dict[str, str]:
    # newline="" keeps \r\n as it is: offsets must hold on the text users have.
    texts = {}
    for path in sorted(reports_dir.glob("*.txt")):
        with path.open(encoding="utf-8", newline="") as f:
            texts[path.name] = f.read()
    assert texts, f"no reports in {reports_dir}"
    return texts


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory, kaznerd_dir: Path) -> Path:
    """A tiny random BERT whose character vocabulary covers the test data."""
    text = "".join(
        (kaznerd_dir / name).read_text(encoding="utf-8")[:200_000]
        for name in ("IOB2_valid2.txt", "IOB2_test2.txt")
    )
    alphabet = text + (ROOT / "annotations" / "report-000.json").read_text(encoding="utf-8")
    return make_tiny_model(tmp_path_factory.mktemp("tiny"), alphabet)


# Kazakh and Russian letters, «», №, NBSP, an emoji outside the BMP.
ALPHABET = (
    "абвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыіьэюя" + "АБВГҒДЕЁЖЗИЙКҚЛМНҢОӨПРСТУҰҮФХҺЦЧШЩЪЫІЬЭЮЯ"
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?%-–—()«»\"'№/+\u00a0\U0001f600"
)


def seeded_tiny_classifier(
    folder: Path, names: dict[int, str], seed: int, set_head: Callable[[torch.nn.Linear], None]
):
    """A tiny token classifier over ``names`` in ``folder``, its head set by
    ``set_head``; seeded, so that every run tests the same weights."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        make_tiny_model(folder, ALPHABET)
        model = AutoModelForTokenClassification.from_pretrained(
            folder, num_labels=len(names), id2label=names, label2id={v: k for k, v in names.items()}
        )
        with torch.no_grad():
            set_head(model.classifier)
    return model


def _packaged_tiny_model(folder: Path, set_head: Callable[[torch.nn.Linear], None]) -> Path:
    """A tiny model packaged as kzner packages (a short window, so that long
    sentences are split into many windows), its head set by ``set_head``."""
    model = seeded_tiny_classifier(folder, dict(enumerate(iob_tags(LABELS))), 13, set_head)
    model.save_pretrained(folder)
    settings = {"labels": list(LABELS), "max_length": 16, "stride": 4}
    (folder / KZNER_CONFIG).write_text(json.dumps(settings))
    return folder


@pytest.fixture(scope="session")
def kaznerd_with_train(tmp_path_factory, kaznerd_dir: Path) -> Path:
    """The real (pinned) valid and test files beside a synthetic train file of
    82 sentences, two of them variants of a valid and a test sentence."""
    from kzner import kaznerd

    from .synthetic_kaznerd import train_sentences, write_train_files

    folder = tmp_path_factory.mktemp("kaznerd-with-train")
    for name in kaznerd.SHA256:
        (folder / name).symlink_to(kaznerd_dir / name)
    valid, test = kaznerd.load_split("valid", kaznerd_dir), kaznerd.load_split("test", kaznerd_dir)
    write_train_files(folder, train_sentences(valid, test, fresh=80))
    return folder


@pytest.fixture(scope="session")
def word_tagger_dir(tmp_path_factory) -> Path:
    """A packaged tiny model that tags every word B-LOC."""

    def every_word_b_loc(head: torch.nn.Linear) -> None:
        head.weight.zero_()
        head.bias.zero_()
        head.bias[iob_tags(LABELS).index("B-LOC")] = 5.0

    return _packaged_tiny_model(tmp_path_factory.mktemp("word-tagger") / "model", every_word_b_loc)


@pytest.fixture(scope="session")
def mixed_tagger_dir(tmp_path_factory) -> Path:
    """A packaged tiny model with seeded random weights: its spans, of every
    label and several words long, depend on the words and their context."""

    def seeded(head: torch.nn.Linear) -> None:
        head.weight.normal_()
        head.bias.zero_()
        head.bias[iob_tags(LABELS).index("O")] = 2.0

    return _packaged_tiny_model(tmp_path_factory.mktemp("mixed-tagger") / "model", seeded)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[tuple[str, str]]:
    """One real Label Studio for every integration test: its URL and API token."""
    with label_studio(tmp_path_factory.mktemp("label-studio")) as url_and_token:
        yield url_and_token
