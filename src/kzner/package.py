"""The package format, written and read here only: a self-describing,
standard HF model directory plus ``kzner.json`` (what kzner needs to run it).

Written through ``atomic_directory``: a crash never leaves a half-written
model that looks complete. Readers use ``kzner.json`` alone, never today's
config schema, so a package from another kzner version still runs.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Sequence
from pathlib import Path

import torch
import transformers
import yaml
from safetensors import safe_open

from kzner import __version__
from kzner.atomic import atomic_directory
from kzner.base_models import EMBEDDED_PREFIX
from kzner.config import Config
from kzner.errors import KznerError
from kzner.evaluate import format_comparison, format_table
from kzner.tokenize import ABBREVIATIONS, MULTIPLIERS

KZNER_CONFIG = "kzner.json"


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
            # The labeling config the package's predictions are written for.
            "labelstudio": config.labelstudio.model_dump(include={"control", "text_field"}),
        }
        (work / KZNER_CONFIG).write_text(json.dumps(settings, indent=2))
        (work / "config.yaml").write_text(
            yaml.safe_dump(config.model_dump(), allow_unicode=True, sort_keys=False)
        )
        (work / "metrics.json").write_text(json.dumps(metrics, indent=2))
        (work / "fingerprints.json").write_text(json.dumps(fingerprints, indent=2))
        model_card(config, metrics, output).save(work / "README.md")
        for path in extra_files:
            shutil.copy(path, work / path.name)


def read_settings(directory: Path) -> dict | None:
    """The kzner settings of a packaged model, or None for any other directory."""
    path = directory / KZNER_CONFIG
    return json.loads(path.read_text()) if path.is_file() else None


def load_model(directory: Path, dtype: torch.dtype) -> transformers.PreTrainedModel:
    """The packaged classifier in ``dtype``. Packages hold fp32 weights, and
    transformers maps the file and casts it whole, so in bf16 the mapped
    fp32 pages and the bf16 copy were resident together: that load set
    ``kzner predict``'s peak on a bf16 CPU (594 MB; tagging itself stays
    under 565). In another dtype the weights are read a tensor at a time,
    without a map, and cast as they come (the load's peak: 593 -> 460 MB)."""
    weights = directory / "model.safetensors"
    if dtype == torch.float32 or not weights.is_file():  # as stored, or sharded: transformers' own reading
        return transformers.AutoModelForTokenClassification.from_pretrained(directory, dtype=dtype)
    config = transformers.AutoConfig.from_pretrained(directory)
    with safe_open(weights, framework="pt", backend="pread") as f:
        state = {name: f.get_tensor(name).to(dtype) for name in f.keys()}  # noqa: SIM118 (not a dict)
    architecture = getattr(transformers, config.architectures[0])
    model = architecture.from_pretrained(None, config=config, state_dict=state, dtype=dtype)
    model.config._name_or_path = str(directory)
    return model


def check_labels(directory: Path, settings: dict, labels: Sequence[str] | None) -> None:
    if labels is not None and list(settings["labels"]) != list(labels):
        raise KznerError(
            f"{directory} was trained for labels {settings['labels']}, not the configured {list(labels)}"
        )


def labelstudio_names(directory: Path, settings: dict) -> tuple[str, str]:
    """The ``<Labels>`` control and text field a package's predictions are
    written for. Packages before kzner.json named them live only in their
    ``config.yaml``: its ``labelstudio`` section is read as plain YAML, so keys
    that today's schema lacks or renamed elsewhere in it do not matter."""
    names = settings.get("labelstudio")
    if names is None:
        path = directory / "config.yaml"
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else {}
        names = raw.get("labelstudio", {}) if isinstance(raw, dict) else None
        if not isinstance(names, dict):
            raise KznerError(
                f"{path}: no labelstudio section that kzner {__version__} can read "
                f"(package written by kzner {settings.get('kzner_version', 'before 0.1.0')})"
            )
    return names.get("control", "label"), names.get("text_field", "text")


def card_data(config: Config, metrics: dict, name: str):
    """The card's YAML header: what the hub indexes and shows (language,
    licence, data, base model, task) and the measured figures as model-index
    results, so a package pushed as it is is a well-formed hub model."""
    from huggingface_hub import EvalResult, ModelCardData

    results = []
    strict = metrics.get("test", {}).get("strict", {}).get("micro avg")
    if strict:
        results.append(
            EvalResult(
                task_type="token-classification",
                dataset_type="IS2AI/KazNERD",
                dataset_name="KazNERD test (our six labels)",
                dataset_split="test",
                metric_type="f1",
                metric_value=round(strict["f1"], 4),
                metric_name="strict micro-F1 (seqeval, IOB2)",
            )
        )
    if "in_domain_dev" in metrics:
        results.append(
            EvalResult(
                task_type="token-classification",
                dataset_type="kzner-in-domain-dev",
                dataset_name="kzner in-domain dev (regional news texts, never trained on)",
                metric_type="f1",
                metric_value=round(metrics["in_domain_dev"]["exact"]["micro avg"]["f1"], 4),
                metric_name="exact character-span micro-F1",
            )
        )
    base = config.base_model
    if base.startswith(EMBEDDED_PREFIX):
        base = f"intfloat/{base.removeprefix(EMBEDDED_PREFIX)}"  # the same weights on the hub
    return ModelCardData(
        language=["kk"],
        # The weights are MIT; KazNERD (CC BY 4.0) asks for attribution downstream.
        license="cc-by-4.0",
        datasets=["IS2AI/KazNERD"],
        base_model=None if Path(base).exists() else base,
        pipeline_tag="token-classification",
        library_name="transformers",
        tags=["ner", "kazakh", "kzner"],
        model_name=name,
        eval_results=results or None,
    )


def model_card(config: Config, metrics: dict, output: Path):
    """The package's README.md as a Hugging Face model card."""
    from huggingface_hub import ModelCard

    header = card_data(config, metrics, output.name).to_yaml()
    return ModelCard(f"---\n{header}\n---\n{_card_body(config, metrics, output)}")


def _card_body(config: Config, metrics: dict, output: Path) -> str:
    test = metrics.get("test", {})
    strict = test.get("strict", {})
    table = format_table(strict, "label") if strict else "(no test scores)"
    if strict and "crf" in metrics:
        table += "\n\nF1 beside the CRF baseline trained on the same split:\n" + format_comparison(
            {"this model": strict, "CRF baseline": metrics["crf"]["test"]["strict"]}
        )
    in_domain = ""
    if "in_domain_dev" in metrics:
        dev = metrics["in_domain_dev"]
        columns = format_comparison({"exact": dev["exact"], "overlap": dev["overlap"]})
        in_domain = (
            f"## Metrics (in-domain dev: {dev['documents']} regional news texts, never trained on;\n"
            f"character spans, exact and overlap match, F1)\n```\n{columns}\n```\n"
            "Errors in context: `in-domain-report.html`.\n\n"
        )
    crf_note = (
        "\nThis model has a CRF layer: its tag-transition scores are `kzner_crf` in\n"
        "`config.json`, used by `kzner.Tagger`; a plain pipeline reads the head's scores alone."
        if config.model.crf
        else ""
    )
    return f"""# kzner model

Named-entity recognition for Kazakh regional reports: {", ".join(config.labels)}.
Token classifier fine-tuned from {_base_note(config, metrics)} by kzner {__version__}.

## Intended use
Finding organisations, projects, amounts of money, percentages, measured
quantities and places in Kazakh text, with exact character offsets.

With kzner (`pip install` the kzner project), the decoder the figures below
were measured with: `kzner predict --model {output} report.txt`, or

```python
from kzner.predict import Tagger

tagger = Tagger.load("{output}")
print(tagger("Ақмола облысында «Жайлы мектеп» жобасы бойынша 2 мектеп салынды."))
```

In plain transformers, fed one sentence at a time as kzner feeds the model:

```python
{pipeline_example(config, output)}```

{_head_note(config)}
{_window_note(config)} A whole document given to the
pipeline at once shares each window among several sentences, and a headline
in capitals hides which words are names: both cost entities (measured in the
kzner README), so the example cuts sentences and reads a sentence in
capitals in title case, as kzner does. kzner's own decoder also decodes a
valid IOB2 sequence over whole words, so its entities are still slightly
better than the pipeline's.{crf_note}

## Data and licences
- KazNERD (IS2AI, LREC 2022), CC BY 4.0: {_kaznerd_sources(config, metrics)};
  learnt with {"all 25 KazNERD classes" if config.data.kaznerd_tags == "full" else "our six labels"}.
- Label Studio exports: {", ".join(config.data.annotations)}, repeated
  {config.data.annotation_oversample}x per epoch.
- Base model weights: multilingual-e5-small (MIT) or as configured.
Inputs and their sha256: `fingerprints.json`. Resolved config: `config.yaml`.
{_budget_note(config, metrics)}
## Metrics (KazNERD test, seqeval strict IOB2, {test.get("sentences", 0)} sentences)
```
{table}
```
All figures, including seqeval's default mode and dev: `metrics.json`. Errors in
context, grouped by label and kind: `report.html`; word-level confusion: `confusion.png`.

{in_domain}## Limitations
KazNERD is transcribed TV news; regional reports differ in style (long
programme names, amounts, district lists). Labels follow
`annotations/GUIDELINES.md` of the kzner project (quoted names tagged
without quotes; towns and districts without `қаласы/ауданы`).
"""


# The plain-transformers example of the card: kzner's two input rules
# (kzner.tokenize sentences, kzner.casing capitals) as a few lines a user
# without kzner can keep; scripts/robustness.py --pipeline card scores it.
_PIPELINE_EXAMPLE = r"""import re

from transformers import pipeline

ner = pipeline("token-classification", model="MODEL", aggregation_strategy="AGGREGATION", stride=STRIDE)
# A sentence ends with its line, or with . ! ? or … before a space, as kzner cuts
# them. A dot does not end one after an initial (`Н. Нәлібаев`) or a number's
# `млн.`/`млрд.` (`452,6 МЛРД. ТЕҢГЕ`), and after another abbreviation (`2024 ж.`,
# `обл.`) only before a capital.
CAPITAL = "A-ZА-ЯЁӘҒҚҢӨҰҮҺІ"
INITIAL = rf"(?<!\b[{CAPITAL}])"
MULTIPLIER = r"MULTIPLIER_LOOKBEHINDS"
ABBREVIATION = (
ABBREVIATION_LOOKBEHINDS
)
SENTENCE = re.compile(
    rf"\S[^\n]*?(?:[!?…](?=\s)|{INITIAL}{ABBREVIATION}\.(?=\s)"
    rf"|{INITIAL}{MULTIPLIER}\.(?=\s+(?:[«\"(—–]\s*)?[{CAPITAL}])|$)",
    re.M,
)


def read(sentence):
    # a headline in capitals, in title case (words of four letters or more), same length
    if sentence.isupper() and len(sentence.lower()) == len(sentence):
        return re.sub(r"\w{4,}", lambda w: w.group()[0] + w.group()[1:].lower(), sentence)
    return sentence


def entities(text):
    sentences = list(SENTENCE.finditer(text))
    if not sentences:
        return []
    found = []
    for sentence, tagged in zip(sentences, ner([read(s.group()) for s in sentences], batch_size=32)):
        for e in tagged:
            start, end = sentence.start() + e["start"], sentence.start() + e["end"]
            found.append({"start": start, "end": end, "label": e["entity_group"], "text": text[start:end]})
    return found


text = "АҚМОЛА ОБЛЫСЫНДА ЖАҢА МЕКТЕП\nАқмола облысында «Жайлы мектеп» жобасы бойынша 2 мектеп салынды."
print(entities(text))
"""


def _base_note(config: Config, metrics: dict) -> str:
    """The base model, and where model.layers cut it, how far and why: the
    package's figures are not those of the whole base model."""
    layers = config.model.layers
    train = metrics.get("train", {})
    if train.get("layers_cut_to_fit"):
        layers = train["layers"]
        why = (
            " (`model.layers: auto`: the time budget would have cut the whole model's steps,"
            " so a smaller model learnt more of them)"
        )
    else:
        why = ""
    if not isinstance(layers, int):
        return f"`{config.base_model}`"
    return f"`{config.base_model}` cut to its lowest {layers} encoder layer{'s' if layers > 1 else ''}{why}"


def pipeline_example(config: Config, output: Path) -> str:
    return (
        _PIPELINE_EXAMPLE.replace("MODEL", str(output))
        .replace("AGGREGATION", _aggregation(config))
        .replace("STRIDE", str(config.model.stride))
        .replace("MULTIPLIER_LOOKBEHINDS", "".join(_lookbehinds(MULTIPLIERS, r"\d\s")))
        .replace(
            "ABBREVIATION_LOOKBEHINDS",
            "\n".join(f'    r"{part}"' for part in _lookbehinds(ABBREVIATIONS, r"\b")),
        )
    )


def _lookbehinds(words: frozenset[str], before: str) -> list[str]:
    """kzner.tokenize's words as negative look-behinds for the card's sentence
    pattern, so that its cuts stay kzner's: one per word length, as Python's
    look-behind takes one width. A run like ``т.б`` needs none of its own:
    its last letter is listed."""
    lengths: dict[int, list[str]] = {}
    for word in sorted(w for w in words if "." not in w):
        lengths.setdefault(len(word), []).append(word)
    return [f"(?<!{before}(?i:{'|'.join(group)}))" for _, group in sorted(lengths.items())]


def card_examples(directory: Path) -> list[str]:
    """The Python examples of a package's model card, in order: kzner's, then plain transformers'."""
    from huggingface_hub import ModelCard

    return re.findall(r"```python\n(.*?)```", ModelCard.load(directory / "README.md").text, re.S)


def _aggregation(config: Config) -> str:
    """``first`` fuses pieces over real words only with a word-aware (WordPiece)
    tokenizer; over whitespace words it would tag ``«Жайлы`` by its ``«``."""
    return "first" if config.model.word_aware else "simple"


def _window_note(config: Config) -> str:
    if config.data.context_fraction:
        return "The model learnt each sentence alone and among its neighbours in a window."
    return "The model learnt one sentence per window."


def _head_note(config: Config) -> str:
    if config.model.head == "distilled":
        words = "The tokenizer cuts raw text into kzner's\nwords" + (
            ' and reads its vocabulary as WordPiece, so `"first"` tags each of\n'
            "kzner's words by its first piece, as kzner does"
            if config.model.word_aware
            else ""
        )
        return (
            "The head predicts our tags (O, B-/I- of each label), distilled from one\n"
            f"trained on every KazNERD class. {words}; the model sees the pieces it\n"
            "learnt from, and `start`/`end` land on the word. Its `model_max_length` is\n"
            f"the {config.model.max_length}-sub-token window the model was trained on. Called\n"
            "without `stride`, a transformers pipeline reads only a text's first window\n"
            "and drops the rest without a warning: pass `stride`, or feed it sentences\n"
            "as the example does."
        )
    return (
        "Every head output is named by the label it stands for (outputs for KazNERD\n"
        "classes we do not report are named `O`); kzner sums the probabilities of\n"
        "outputs sharing a name before choosing, a plain pipeline takes the argmax\n"
        "output. `start`/`end` land on the word."
    )


def _budget_note(config: Config, metrics: dict) -> str:
    """The figures below are for the steps this machine had time for; on a
    slower CPU that is less than the recipe, and a reader of the card should
    not take them for the recipe's."""
    train = metrics.get("train", {})
    steps, scheduled, planned = train.get("steps"), train.get("steps_scheduled"), train.get("steps_planned")
    if not scheduled or scheduled >= planned:
        return ""
    # Only `auto` switches dropout off for the budget; a rate of 0 was the config's own choice.
    switched_off = config.train.dropout == "auto" and train["dropout"] == 0
    dropout = ", with dropout off to fit more" if switched_off else ""
    seconds, precision = train["seconds_per_step_measured"], train["precision"]
    return (
        "\n## Training cut by its time budget\n"
        f"Trained {steps:,} of the {planned:,} steps its recipe plans ({steps / planned:.0%}): "
        f"a step was timed at {seconds:.2f} s ({precision}) on the machine that trained it, and "
        f"`train.max_minutes: {config.train.max_minutes:g}` fitted the learning-rate schedule to the "
        f"steps that fit{dropout}. Every step of the recipe scores higher (kzner README, "
        '"Training on your own machine"); `train.max_minutes: null` trains them all.\n'
    )


def _kaznerd_sources(config: Config, metrics: dict) -> str:
    split = metrics.get("kaznerd_split", {})
    if split.get("name") == "paper":
        return (
            f"the paper's split: the train file for training ({split['train']:,} sentences,\n"
            "  those with a variant in valid or test left out), valid as dev, test split\n"
            "  for the scores below"
        )
    return (
        f"valid split for training/dev\n  (split by variant group, seed {config.data.split_seed}, "
        f"dev fraction\n  {config.data.dev_fraction}), test split for the scores below"
    )
