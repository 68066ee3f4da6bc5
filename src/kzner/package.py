"""Write a trained model as a self-describing, standard HF model directory.

Written through ``atomic_directory``: a crash never leaves a half-written
model that looks complete.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path

import yaml

from kzner import __version__
from kzner.atomic import atomic_directory
from kzner.config import Config
from kzner.evaluate import format_comparison, format_table
from kzner.predict import KZNER_CONFIG


def write_package(
    output: Path,
    model,
    tokenizer,
    config: Config,
    metrics: dict,
    fingerprints: dict[str, str],
    extra_files: Sequence[Path] = (),
) -> None:
    with atomic_directory(output) as work:
        model.save_pretrained(work)
        tokenizer.save_pretrained(work)
        settings = {
            "kzner_version": __version__,
            "labels": list(config.labels),
            "max_length": config.model.max_length,
            "stride": config.model.stride,
            "base_model": config.base_model,
        }
        (work / KZNER_CONFIG).write_text(json.dumps(settings, indent=2))
        (work / "config.yaml").write_text(
            yaml.safe_dump(config.model_dump(), allow_unicode=True, sort_keys=False)
        )
        (work / "metrics.json").write_text(json.dumps(metrics, indent=2))
        (work / "fingerprints.json").write_text(json.dumps(fingerprints, indent=2))
        (work / "README.md").write_text(model_card(config, metrics), encoding="utf-8")
        for path in extra_files:
            shutil.copy(path, work / path.name)


def model_card(config: Config, metrics: dict) -> str:
    test = metrics.get("test", {})
    strict = test.get("strict", {})
    table = format_table(strict, "label") if strict else "(no test scores)"
    if strict and "crf" in metrics:
        table += "\n\nF1 beside the CRF baseline trained on the same split:\n" + format_comparison(
            {"this model": strict, "CRF baseline": metrics["crf"]["test"]["strict"]}
        )
    crf_note = (
        "\nThis model has a CRF layer: its tag-transition scores are `kzner_crf` in\n"
        "`config.json`, used by `kzner.Tagger`; a plain pipeline reads the head's scores alone."
        if config.model.crf
        else ""
    )
    return f"""# kzner model

Named-entity recognition for Kazakh regional reports: {", ".join(config.labels)}.
Token classifier fine-tuned from `{config.base_model}` by kzner {__version__}.

## Intended use
Finding organisations, projects, amounts of money, percentages, measured
quantities and places in Kazakh text, with exact character offsets, through
`kzner.Tagger` (`Tagger.load(DIR)(text)`). A plain `transformers.pipeline(
"token-classification", model=DIR)` also works: every head output is named by
the label it stands for (outputs for KazNERD classes we do not report are
named `O`); kzner's own decoder sums the probabilities of outputs sharing a
name and splits long texts into overlapping windows.{crf_note}

## Data and licences
- KazNERD (IS2AI, LREC 2022), CC BY 4.0: valid split for training/dev
  (split by variant group, seed {config.data.split_seed}, dev fraction
  {config.data.dev_fraction}), test split for the scores below;
  learnt with {"all 25 KazNERD classes" if config.data.kaznerd_tags == "full" else "our six labels"}.
- Label Studio exports: {", ".join(config.data.annotations)}, repeated
  {config.data.annotation_oversample}x per epoch.
- Base model weights: multilingual-e5-small (MIT) or as configured.
Inputs and their sha256: `fingerprints.json`. Resolved config: `config.yaml`.

## Metrics (KazNERD test, seqeval strict IOB2, {test.get("sentences", 0)} sentences)
```
{table}
```
All figures, including seqeval's default mode and dev: `metrics.json`. Errors in
context, grouped by label and kind: `report.html`; word-level confusion: `confusion.png`.

## Limitations
KazNERD is transcribed TV news; regional reports differ in style (long
programme names, amounts, district lists). Scores on in-domain reports are not
in this card unless annotations were held out for them. Labels follow
`docs/annotation-conventions.md` of the kzner project (quoted names tagged
without quotes; towns and districts without `қаласы/ауданы`).
"""
