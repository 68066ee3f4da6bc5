"""What the ``kzner`` command promises beyond its subcommands: one-line
errors for bad input only, tracebacks for bugs, and its version."""

from __future__ import annotations

from pathlib import Path

import pytest

from kzner import __version__, cli
from kzner.config import ConfigError


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"kzner {__version__}"


def test_bad_input_is_one_line_and_debug_shows_its_traceback(tmp_path: Path, capsys) -> None:
    missing = str(tmp_path / "missing.yaml")
    assert cli.main(["data", "validate", "--config", missing, "x.json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kzner: error: ") and "cannot read config" in err and "Traceback" not in err
    with pytest.raises(ConfigError, match="cannot read config"):
        cli.main(["--debug", "data", "validate", "--config", missing, "x.json"])


def test_a_bug_is_not_dressed_as_bad_input(tmp_path: Path, monkeypatch) -> None:
    # A ValueError from inside kzner or a library is a bug: it keeps its traceback.
    def broken(*args, **kwargs):
        raise ValueError("an internal bug")

    monkeypatch.setattr(cli, "read_exports", broken)
    (tmp_path / "x.json").write_text("[]")
    with pytest.raises(ValueError, match="an internal bug"):
        cli.main(["data", "validate", str(tmp_path / "x.json")])


def test_verbose_and_quiet_through_logging(word_tagger_dir: Path, tmp_path: Path, capsys) -> None:
    source = tmp_path / "r.txt"
    source.write_text("Арал ауданы", encoding="utf-8")
    predict = ["predict", "--model", str(word_tagger_dir), str(source), "--output", str(tmp_path / "o.jsonl")]
    lines = {}
    for flags in ([], ["-q"], ["-v"]):
        assert cli.main([*flags, *predict]) == 0
        err = capsys.readouterr().err
        assert "Loading weights" not in err  # transformers' bar, drawn even into a log file
        lines[" ".join(flags)] = [line for line in err.splitlines() if line.startswith("kzner: ")]
    assert any("1 documents, 2 entities" in line for line in lines[""])
    assert not any("input files" in line for line in lines[""])
    assert lines["-q"] == []
    assert any("1 input files, model " in line for line in lines["-v"])


def test_help_and_predict_do_not_import_the_heavy_optional_parts() -> None:
    """label-studio-sdk, matplotlib, crfsuite and the ML backend's web
    framework are for other subcommands; seqeval (and the scikit-learn,
    SciPy and pandas it brings, about 100 MB of peak memory) for scoring."""
    import subprocess
    import sys

    code = (
        "import sys, kzner.cli, kzner.bulk, kzner.outputs, kzner.predict\n"
        "heavy = {'label_studio_sdk', 'matplotlib', 'pycrfsuite', 'fastapi', 'starlette', 'uvicorn',\n"
        "         'seqeval', 'sklearn', 'scipy', 'pandas', 'pyarrow'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_serve_without_its_optional_extra_says_what_to_install(monkeypatch, capsys) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "kzner.ls_backend", raising=False)
    assert cli.main(["labelstudio", "serve", "--model", "unused"]) == 2
    assert "needs fastapi: pip install 'kzner[serve]'" in capsys.readouterr().err


def test_tasks_are_imported_in_batches() -> None:
    from types import SimpleNamespace

    from kzner import ls_client

    sizes = []

    def import_tasks(id: int, request: list, return_task_ids: bool) -> SimpleNamespace:
        sizes.append(len(request))
        return SimpleNamespace(task_ids=[t["n"] for t in request])

    client = SimpleNamespace(projects=SimpleNamespace(import_tasks=import_tasks))
    tasks = [{"n": n} for n in range(250)]
    assert ls_client.push(client, 1, tasks, batch=100) == list(range(250))
    assert sizes == [100, 100, 50]


def test_declared_dependency_bounds_admit_what_is_installed_and_used() -> None:
    """kzner uses transformers 5 APIs (train_sampling_strategy, dtype=): the
    declared range must say so, and the tested version must be inside it."""
    from importlib.metadata import requires, version

    from packaging.requirements import Requirement

    declared = {Requirement(r).name: Requirement(r) for r in requires("kzner") if "extra ==" not in r}
    transformers = declared["transformers"]
    assert not transformers.specifier.contains("4.57.0") and transformers.specifier.contains("5.0.0")
    for name in ("transformers", "torch", "datasets", "filelock", "seqeval"):
        assert declared[name].specifier.contains(version(name), prereleases=True), name


def test_evaluate_output_is_written_whole_or_not_at_all(
    word_tagger_dir: Path, tmp_path: Path, monkeypatch
) -> None:
    import json

    export = tmp_path / "gold.json"
    task = {"id": 1, "data": {"text": "Арал ауданы"}, "annotations": [{"id": 1, "result": []}]}
    export.write_text(json.dumps([task], ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "scores.json"
    out.write_text("previous scores")

    def interrupted(obj, f, **kwargs) -> None:
        f.write("{half")
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.json, "dump", interrupted)
    command = ["evaluate", str(word_tagger_dir), "--data", str(export), "--output", str(out)]
    with pytest.raises(KeyboardInterrupt):
        cli.main([*command, "--report", str(tmp_path / "r.html")])
    assert out.read_text() == "previous scores"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".scores")] == []
