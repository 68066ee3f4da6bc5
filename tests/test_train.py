from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kzner.config import Config, load_config
from kzner.document import LABELS
from kzner.tagset import iob_tags

ROOT = Path(__file__).resolve().parents[1]
# A tiny random model, but trained on a real slice of KazNERD.
pytestmark = pytest.mark.integration


# Two in-domain dev documents (never trained on), as a Label Studio export.
DEV_TEXTS = [
    ("АСТАНА. «AMANAT» партиясы 5 млрд. теңге бөлді.", [(0, 6, "LOC"), (9, 15, "ORG"), (26, 39, "MONEY")]),
    ("Арал ауданында 20%-ға дейін өсті.", [(0, 4, "LOC"), (15, 21, "PERCENT")]),
]


def dev_export(path: Path) -> Path:
    tasks = [
        {
            "id": n,
            "data": {"text": text, "source": f"written/dev-{n}"},
            "annotations": [
                {
                    "id": n,
                    "result": [
                        {
                            "from_name": "label",
                            "to_name": "text",
                            "type": "labels",
                            "value": {"start": a, "end": b, "labels": [label]},
                        }
                        for a, b, label in spans
                    ],
                }
            ],
        }
        for n, (text, spans) in enumerate(DEV_TEXTS)
    ]
    path.write_text(json.dumps(tasks, ensure_ascii=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory, tiny_base: Path, kaznerd_dir: Path) -> Path:
    from kzner.train import train

    out = tmp_path_factory.mktemp("out")
    config = load_config(
        ROOT / "configs" / "smoke.yaml",
        [
            f"base_model={tiny_base}",
            f"data.kaznerd_dir={kaznerd_dir}",
            f"data.in_domain_dev=[{dev_export(out / 'dev.json')}]",
        ],
    )
    return train(config, out / "model")


def test_model_card_is_a_hub_card_whose_examples_run_as_written(trained: Path) -> None:
    import contextlib
    import io

    from huggingface_hub import ModelCard

    from kzner.package import card_examples

    card = ModelCard.load(trained / "README.md")
    metrics = json.loads((trained / "metrics.json").read_text())
    assert card.data.pipeline_tag == "token-classification" and card.data.language == ["kk"]
    assert card.data.datasets == ["IS2AI/KazNERD"] and card.data.license == "cc-by-4.0"
    measured = {r.dataset_name: r.metric_value for r in card.data.eval_results}
    assert measured == {
        "KazNERD test (our six labels)": round(metrics["test"]["strict"]["micro avg"]["f1"], 4),
        "kzner in-domain dev (regional news texts, never trained on)": round(
            metrics["in_domain_dev"]["exact"]["micro avg"]["f1"], 4
        ),
    }
    examples = card_examples(trained)
    assert len(examples) == 2
    for example in examples:
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(example, "README.md", "exec"), {})
        assert printed.getvalue().startswith("[")


def test_the_cards_example_is_scored_on_the_package_named_not_where_it_was_trained(
    trained: Path, tmp_path: Path, monkeypatch
) -> None:
    """scripts/robustness.py and bench_predict.py score a copied package's
    card example on that copy, not on whatever lies where it was trained."""
    import shutil
    import sys

    import transformers

    sys.path.insert(0, str(ROOT / "scripts"))
    from robustness import card_tagger

    moved = tmp_path / "көшірме"  # a Cyrillic folder: its path must reach the example unescaped
    shutil.copytree(trained, moved)
    loaded: list[str] = []
    real = transformers.pipeline
    monkeypatch.setattr(transformers, "pipeline", lambda *a, **k: loaded.append(k["model"]) or real(*a, **k))
    spans = card_tagger(str(moved))(["Ақмола облысында «Жайлы мектеп» жобасы бойынша 2 мектеп салынды."])
    assert loaded == [str(moved)] and len(spans) == 1
    card = moved / "README.md"
    assert f'model="{trained}"' in card.read_text(encoding="utf-8")
    # A card whose example names no package is refused, not run on some other one.
    card.write_text(card.read_text(encoding="utf-8").replace("model=", "path="), encoding="utf-8")
    with pytest.raises(ValueError, match='names no model="..." to run'):
        card_tagger(str(moved))


def test_package_is_complete_and_self_describing(trained: Path, tiny_base: Path) -> None:
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "kzner.json",
        "config.yaml",
        "metrics.json",
        "fingerprints.json",
        "README.md",
        "in-domain-report.html",
    ):
        assert (trained / name).is_file(), name
    metrics = json.loads((trained / "metrics.json").read_text())
    in_domain = metrics["in_domain_dev"]
    assert in_domain["documents"] == 2 and in_domain["exact"]["micro avg"]["support"] == 5
    assert [row["gold"] for row in in_domain["per_document"]] == [3, 2]
    assert {"LOC", "ORG", "MONEY", "PERCENT"} <= set(in_domain["overlap"])
    assert metrics["test"]["sentences"] == 48
    # No train file in $KZNER_KAZNERD_DIR: valid is split into train/dev, as before.
    assert metrics["kaznerd_split"] == {
        "name": "valid",
        "train": 48,
        "dev": 48,
        "test": 48,
        "train_dropped_variants": 0,
    }
    assert set(metrics["test"]) >= {"strict", "default"}
    assert "micro avg" in metrics["test"]["strict"]
    assert metrics["crf"]["test"]["sentences"] == 48  # the baseline, scored on the same test set
    # What this machine trains in, read from the CPU itself rather than from kzner.
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    native_bf16 = "avx512_bf16" in flags or "amx_bf16" in flags
    assert metrics["train"]["precision"] == ("bf16" if native_bf16 else "fp32")
    assert "CRF baseline" in (trained / "README.md").read_text()
    # Long sentences were split into windows (max_length 32), none dropped.
    assert metrics["train"]["windows"] > metrics["train"]["sentences"]
    fingerprints = json.loads((trained / "fingerprints.json").read_text())
    assert "annotations/report-000.json" in fingerprints and "kaznerd/IOB2_valid2.txt" in fingerprints
    assert fingerprints["base_model"] == str(tiny_base)  # a local path is its own fingerprint
    assert (trained / "model.safetensors").stat().st_mode & 0o044 == 0o044  # readable by every user
    model_config = json.loads((trained / "config.json").read_text())
    # The head is distilled into our tags, in order: a plain pipeline's argmax is ours.
    assert list(model_config["id2label"].values()) == iob_tags(LABELS)
    assert "B-PERSON" in model_config["kzner_source_tags"]  # learnt on all KazNERD classes
    log = [json.loads(line) for line in (trained.parent / "model.work" / "metrics.jsonl").open()]
    assert any("eval_f1_strict" in row for row in log)
    assert not list(trained.parent.glob(".model.*")), "temporary package left behind"


def test_plain_transformers_pipeline_speaks_our_labels(trained: Path) -> None:
    from transformers import pipeline

    # ignore_labels=[]: every token comes back, O included, so a model that
    # finds nothing still has its label names checked.
    ner = pipeline("token-classification", model=str(trained), ignore_labels=[])
    tokens = ner("«AMANAT» партиясы Қызылорда облысында 91,4 пайызға жетті.")
    assert len(tokens) >= 10
    assert {t["entity"] for t in tokens} <= set(iob_tags(LABELS))


def evaluate_report(model: Path, *extra: str) -> int:
    """``kzner evaluate`` on the hand-annotated report."""
    from kzner.cli import main

    return main(["evaluate", str(model), "--data", str(ROOT / "annotations" / "report-000.json"), *extra])


def test_evaluate_command_on_exports_and_kaznerd(
    trained: Path, tmp_path: Path, kaznerd_dir: Path, capsys
) -> None:
    from kzner.cli import main

    out, report = tmp_path / "scores.json", tmp_path / "errors.html"
    assert evaluate_report(trained, "--output", str(out), "--report", str(report)) == 0
    scores = json.loads(out.read_text())["documents"]
    assert scores["exact"]["micro avg"]["support"] == 25
    assert set(scores) >= {"exact", "overlap", "words", "per_document"}
    (row,) = scores["per_document"]
    assert row["gold"] == 25 and row["document"].endswith("task 1 (000_2bed28e862689c7c.txt)")
    printed = capsys.readouterr().out
    assert "document" in printed.splitlines()[0] and "000_2bed28e862689c7c.txt" in printed
    assert "Errors on" in report.read_text(encoding="utf-8")
    assert (
        main(
            [
                "evaluate",
                str(trained),
                "--split",
                "test",
                "--kaznerd-dir",
                str(kaznerd_dir),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    assert json.loads(out.read_text())["kaznerd-test"]["strict"]["micro avg"]["support"] > 2000
    assert "micro avg" in capsys.readouterr().out


def test_bad_inputs_stop_before_training(tmp_path: Path, kaznerd_dir: Path, capsys) -> None:
    from kzner.cli import main

    smoke = str(ROOT / "configs" / "smoke.yaml")
    assert main(["train", smoke, "--set", f"data.kaznerd_dir={tmp_path}"]) == 2
    assert "KazNERD files missing" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                smoke,
                "--set",
                f"data.kaznerd_dir={kaznerd_dir}",
                "--set",
                "data.annotations=[nothing/*.json]",
            ]
        )
        == 2
    )
    assert "matches no file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                {
                    "id": 1,
                    "data": {"text": "Арал"},
                    "annotations": [
                        {
                            "id": 1,
                            "result": [
                                {
                                    "from_name": "label",
                                    "type": "labels",
                                    "value": {"start": 0, "end": 4, "labels": ["PLACE"]},
                                }
                            ],
                        }
                    ],
                }
            ]
        )
    )
    assert (
        main(
            ["train", smoke, "--set", f"data.kaznerd_dir={kaznerd_dir}", "--set", f"data.annotations=[{bad}]"]
        )
        == 2
    )
    assert "label 'PLACE' is not one of" in capsys.readouterr().err
    leaked = ["--set", f"data.in_domain_dev=[{ROOT / 'annotations' / 'report-000.json'}]"]
    assert main(["train", smoke, "--set", f"data.kaznerd_dir={kaznerd_dir}", *leaked]) == 2
    assert "data.in_domain_dev: 1 document(s) are also in data.annotations" in capsys.readouterr().err


def test_check_reads_config_and_data_then_stops(tmp_path: Path, kaznerd_dir: Path, capsys) -> None:
    from kzner.cli import main

    smoke = ["train", str(ROOT / "configs" / "smoke.yaml"), "--set", f"data.kaznerd_dir={kaznerd_dir}"]
    assert main([*smoke, "--check", "--set", f"train.output={tmp_path / 'never'}"]) == 0
    out = capsys.readouterr().out
    dev_documents = sum(len(json.loads(p.read_text())) for p in (ROOT / "annotations" / "dev").glob("*.json"))
    assert "config and data are fine: " in out
    assert f"48 dev, 48 test, {dev_documents} in-domain dev documents" in out
    assert not (tmp_path / "never").exists() and not (tmp_path / "never.work").exists()
    assert main([*smoke, "--check", "--set", "data.in_domain_dev=[annotations/*.json]"]) == 2
    assert "also in data.annotations" in capsys.readouterr().err


def test_model_from_another_label_set_is_refused(trained: Path, capsys) -> None:
    from kzner.cli import main

    assert evaluate_report(trained, "--set", "labels=[ORG]") == 2
    assert "was trained for labels" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                str(ROOT / "configs" / "smoke.yaml"),
                "--set",
                f"base_model={trained}",
                "--set",
                "labels=[ORG, LOC]",
                "--set",
                "data.annotations=[]",
                "--set",
                "data.in_domain_dev=[]",
            ]
        )
        == 2
    )
    assert "was trained for labels" in capsys.readouterr().err


def test_keep_packages_the_last_or_the_best_checkpoint(
    tmp_path: Path, tiny_base: Path, kaznerd_dir: Path
) -> None:
    from safetensors.torch import load_file

    from kzner.train import train

    packaged, checkpoints = {}, {}
    for keep in ("last", "best"):
        config = load_config(
            ROOT / "configs" / "smoke.yaml",
            [
                f"base_model={tiny_base}",
                f"data.kaznerd_dir={kaznerd_dir}",
                "train.eval_steps=2",
                "train.early_stopping_patience=10",
                "train.crf_baseline=false",
                "model.head=folded",  # packaged as trained, to compare with the checkpoints
                f"train.keep={keep}",
            ],
        )
        packaged[keep] = load_file(train(config, tmp_path / keep / "model") / "model.safetensors")
        checkpoints[keep] = tmp_path / keep / "model.work" / "checkpoints"
    state = json.loads((checkpoints["best"] / "checkpoint-6" / "trainer_state.json").read_text())
    # Same seed, same steps: the two runs differ only in what they package.
    best = state["best_global_step"]
    assert best < 6, "smoke dev F1 peaked at the last step: the two choices coincide"
    for keep, step in (("last", 6), ("best", best)):
        chosen = load_file(checkpoints[keep] / f"checkpoint-{step}" / "model.safetensors")
        assert packaged[keep].keys() == chosen.keys()
        assert all((packaged[keep][name] == chosen[name]).all() for name in chosen), keep
    assert any((packaged["last"][name] != packaged["best"][name]).any() for name in packaged["last"])


def test_dev_evaluation_during_training_changes_nothing_but_time(
    tmp_path: Path, tiny_base: Path, kaznerd_dir: Path
) -> None:
    """The default evaluates dev only after training (nothing chooses on
    earlier evaluations): the weights must be those an evaluating run gets."""
    from safetensors.torch import load_file

    from kzner.train import train

    packaged, logs = {}, {}
    for name, overrides in {
        "evaluating": ["train.eval_steps=2", "train.early_stopping_patience=10"],
        "not evaluating": ["train.eval_steps=null", "train.early_stopping_patience=null"],
    }.items():
        config = load_config(
            ROOT / "configs" / "smoke.yaml",
            [f"base_model={tiny_base}", f"data.kaznerd_dir={kaznerd_dir}", "train.crf_baseline=false"]
            + overrides,
        )
        packaged[name] = load_file(train(config, tmp_path / name / "model") / "model.safetensors")
        logs[name] = [json.loads(line) for line in (tmp_path / name / "model.work" / "metrics.jsonl").open()]
    assert any("eval_f1_strict" in row for row in logs["evaluating"])
    assert not any("eval_f1_strict" in row for row in logs["not evaluating"])
    evaluating, not_evaluating = packaged.values()
    assert evaluating.keys() == not_evaluating.keys()
    assert all((evaluating[k] == not_evaluating[k]).all() for k in evaluating)


def test_crf_layer_is_trained_packaged_in_the_config_and_used(
    tmp_path: Path, tiny_base: Path, kaznerd_dir: Path
) -> None:
    from safetensors.torch import load_file
    from transformers import AutoModelForTokenClassification

    from kzner.predict import Tagger
    from kzner.train import train

    config = load_config(
        ROOT / "configs" / "smoke.yaml",
        [
            f"base_model={tiny_base}",
            f"data.kaznerd_dir={kaznerd_dir}",
            "model.crf=true",
            "model.head=folded",
            "model.label_all_tokens=false",
            "train.crf_baseline=false",
        ],
    )
    model = train(config, tmp_path / "model")
    saved = json.loads((model / "config.json").read_text())["kzner_crf"]
    assert any(score != 0 for row in saved["transitions"] for score in row), "transitions never trained"
    # The weights file stays a plain token classifier: nothing left over for transformers to warn about.
    assert not [name for name in load_file(model / "model.safetensors") if "crf" in name]
    assert "This model has a CRF layer" in (model / "README.md").read_text()
    tagger = Tagger.load(model, device="cpu")
    assert tagger.crf is not None
    words = [["«AMANAT»", "партиясы", "Қызылорда", "облысында", "91,4", "пайызға", "жетті", "."]]
    chained = tagger.word_probabilities(words)[0]
    plain = Tagger(AutoModelForTokenClassification.from_pretrained(model), tagger.tokenizer, LABELS)
    plain.crf = None
    assert not np.allclose(chained, plain.word_probabilities(words)[0], atol=1e-4)
    assert np.allclose(chained.sum(1), 1.0, atol=1e-5)
    # Fine-tuned further without a CRF, the package carries no old transitions.
    again = load_config(
        ROOT / "configs" / "smoke.yaml",
        [f"base_model={model}", f"data.kaznerd_dir={kaznerd_dir}", "train.crf_baseline=false"],
    )
    plain_model = train(again, tmp_path / "plain")
    assert "kzner_crf" not in json.loads((plain_model / "config.json").read_text())
    assert Tagger.load(plain_model, device="cpu").crf is None
    # That package's head is distilled into our 13 tags; trained further, the
    # source-class head is drawn afresh over the encoder it keeps.
    assert json.loads((plain_model / "config.json").read_text())["id2label"] == {
        str(i): tag for i, tag in enumerate(iob_tags(LABELS))
    }
    further = load_config(
        ROOT / "configs" / "smoke.yaml",
        [f"base_model={plain_model}", f"data.kaznerd_dir={kaznerd_dir}", "train.crf_baseline=false"],
    )
    metrics = json.loads((train(further, tmp_path / "further") / "metrics.json").read_text())
    assert metrics["train"]["distil"]["pieces"] > 0


def test_smoke_training_on_a_train_file_uses_the_papers_split(
    tmp_path: Path, tiny_base: Path, kaznerd_with_train: Path, capsys
) -> None:
    from kzner.cli import main

    out = tmp_path / "model"
    smoke = ["train", str(ROOT / "configs" / "smoke.yaml"), "--output", str(out)]
    overrides = [
        f"base_model={tiny_base}",
        f"data.kaznerd_dir={kaznerd_with_train}",
        "data.in_domain_dev=[]",
        "train.crf_baseline=false",
    ]
    assert main([*smoke, *(arg for o in overrides for arg in ("--set", o))]) == 0
    log = capsys.readouterr().err
    assert "KazNERD split paper (the paper's: train file -> train, valid -> dev, test -> test)" in log
    assert "train 48 sentences (2 left out: a variant is in valid or test), dev 48, test 48" in log
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["kaznerd_split"] == {
        "name": "paper",
        "train": 48,
        "dev": 48,
        "test": 48,
        "train_dropped_variants": 2,
    }
    assert metrics["dev"]["sentences"] == metrics["test"]["sentences"] == 48
    assert "kaznerd/IOB2_train2.txt" in json.loads((out / "fingerprints.json").read_text())
    assert "the paper's split: the train file for training (48 sentences" in (out / "README.md").read_text()


def budgeted(tiny_base: Path, kaznerd_dir: Path, max_minutes: str, *extra: str) -> Config:
    """The smoke config on the tiny model, its steps from epochs, under a time budget."""
    return load_config(
        ROOT / "configs" / "smoke.yaml",
        [
            f"base_model={tiny_base}",
            f"data.kaznerd_dir={kaznerd_dir}",
            "train.crf_baseline=false",
            "train.max_steps=null",
            "train.epochs=0.05",
            f"train.max_minutes={max_minutes}",
            *extra,
        ],
    )


def test_a_time_budget_fits_the_schedule_and_changes_nothing_where_the_steps_fit(
    tmp_path: Path, tiny_base: Path, kaznerd_dir: Path, monkeypatch
) -> None:
    from safetensors.torch import load_file

    from kzner import budget
    from kzner.train import train

    cards: dict[str, str] = {}

    def run(name: str, max_minutes: str, *extra: str) -> tuple[dict, dict, list[dict]]:
        model = train(budgeted(tiny_base, kaznerd_dir, max_minutes, *extra), tmp_path / name / "model")
        metrics = json.loads((model / "metrics.json").read_text())["train"]
        log = [json.loads(line) for line in (tmp_path / name / "model.work" / "metrics.jsonl").open()]
        cards[name] = (model / "README.md").read_text(encoding="utf-8")
        return load_file(model / "model.safetensors"), metrics, log

    unbudgeted, metrics, _ = run("none", "null")
    planned = metrics["steps_planned"]
    assert metrics["steps"] == planned >= 4 and metrics["seconds_per_step_measured"] is None
    # A step timed on this machine, the steps all fit: the very same weights.
    fitting, fitting_metrics, _ = run("fits", "60")
    assert fitting_metrics["steps"] == planned and fitting_metrics["seconds_per_step_measured"] > 0
    assert fitting.keys() == unbudgeted.keys()
    assert all((fitting[k] == unbudgeted[k]).all() for k in fitting)
    # A machine where a step takes a second and 3 fit: 3 steps, whose rate
    # decays to zero over them (a run merely stopped there would still be
    # learning at (planned - 2) / planned of its rate at its last step).
    monkeypatch.setattr(budget, "measure_step", lambda *_args: 1.0)
    cut, metrics, log = run("cut", str(3 / 60))
    assert metrics["steps"] == metrics["steps_scheduled"] == 3 < planned == metrics["steps_planned"]
    # The package's card says its figures are for a cut schedule; a run
    # whose steps all fit says nothing of a budget.
    assert f"Trained 3 of the {planned:,} steps its recipe plans" in cards["cut"]
    assert "with dropout off" in cards["cut"]
    assert "time budget" not in cards["fits"] and "time budget" not in cards["none"]
    # Cut short, it trained without dropout: the weights of those 3 steps
    # with train.dropout 0 set outright, not those with the base model's 0.1.
    assert metrics["dropout"] == 0.0 and fitting_metrics["dropout"] == "auto"
    without, metrics, _ = run("without", str(3 / 60), "train.dropout=0")
    kept, _, _ = run("kept", str(3 / 60), "train.dropout=0.1")
    assert metrics["steps"] == 3 and all((without[k] == cut[k]).all() for k in cut)
    assert not all((kept[k] == cut[k]).all() for k in cut)
    assert "Trained 3 of the" in cards["kept"] and "dropout off" not in cards["kept"]
    assert "Trained 3 of the" in cards["without"] and "dropout off" not in cards["without"]
    rates = [row["learning_rate"] for row in log if "learning_rate" in row]
    assert rates == pytest.approx([rates[0], rates[0] * 2 / 3, rates[0] / 3]) and rates[0] > 0


def test_a_budget_too_short_for_every_layer_trains_the_lowest_as_if_asked(
    tmp_path: Path, tiny_base: Path, kaznerd_dir: Path, monkeypatch
) -> None:
    """model.layers: auto where the whole model's steps do not fit: the run
    is the one with those layers set outright, and the package says so."""
    from safetensors.torch import load_file

    from kzner import budget
    from kzner.predict import Tagger
    from kzner.train import train

    # A machine where a step takes a second whatever the model, and 3 fit.
    monkeypatch.setattr(budget, "measure_step", lambda *_args: 1.0)

    def run(name: str, *extra: str, resume: bool = False) -> Path:
        # model.freeze_layers 0: both of the tiny model's layers learn, so one can go.
        config = budgeted(tiny_base, kaznerd_dir, str(3 / 60), "model.freeze_layers=0", *extra)
        return train(config, tmp_path / name / "model", resume=resume)

    auto, asked = run("auto"), run("asked", "model.layers=1", "train.dropout=0")
    assert json.loads((auto / "config.json").read_text())["num_hidden_layers"] == 1
    cut, outright = load_file(auto / "model.safetensors"), load_file(asked / "model.safetensors")
    assert cut.keys() == outright.keys() and all((cut[k] == outright[k]).all() for k in cut)
    metrics = json.loads((auto / "metrics.json").read_text())["train"]
    assert metrics["layers"] == 1 and metrics["layers_cut_to_fit"] and metrics["dropout"] == 0.0
    assert not json.loads((asked / "metrics.json").read_text())["train"]["layers_cut_to_fit"]
    card = (auto / "README.md").read_text(encoding="utf-8")
    assert "cut to its lowest 1 encoder layer (`model.layers: auto`" in card
    assert "`model.layers: auto`" not in (asked / "README.md").read_text(encoding="utf-8")
    assert Tagger.load(auto).model.config.num_hidden_layers == 1
    # Resumed, it rebuilds the cut model its checkpoints hold, timing nothing.
    monkeypatch.setattr(budget, "measure_step", lambda *_args: pytest.fail("a resumed run timed a step"))
    resumed = load_file(run("auto", resume=True) / "model.safetensors")
    assert resumed.keys() == cut.keys() and all((resumed[k] == cut[k]).all() for k in cut)
    # The whole model's steps fit: every layer stays.
    monkeypatch.setattr(budget, "measure_step", lambda *_args: 0.001)
    assert json.loads((run("fits") / "config.json").read_text())["num_hidden_layers"] == 2


def test_a_time_budget_is_refused_under_several_processes(
    tmp_path: Path, tiny_base: Path, kaznerd_dir: Path, monkeypatch
) -> None:
    from kzner.config import ConfigError
    from kzner.train import train

    monkeypatch.setenv("WORLD_SIZE", "2")
    config = load_config(
        ROOT / "configs" / "smoke.yaml",
        [f"base_model={tiny_base}", f"data.kaznerd_dir={kaznerd_dir}", "train.max_steps=null"],
    )
    with pytest.raises(ConfigError, match="train.max_minutes plans one process's steps; under 2 processes"):
        train(config, tmp_path / "model")
