"""``kzner predict`` under torchrun and accelerate: two CPU processes (gloo)
write what one does."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kzner.cli import main
from kzner.ranks import Rank

ROOT = Path(__file__).resolve().parents[1]

TEXTS = [
    "Ақмола облысында «Жайлы мектеп» жобасы бойынша 3 мектеп салынды.",
    "Қызылорда қаласында 1,2 млрд. теңгеге жол жөнделді.",
    "«AMANAT» партиясының Павлодар облыстық филиалы жиын өткізді.",
    "Түркістан облысында егіс алқабы 12 мың гектарға, 4%-ға артты.",
    "Атырау ауданында «Ауыл аманаты» бағдарламасы аясында 40 жоба қаржыландырылды.",
]


def corpus(folder: Path) -> Path:
    """Text files in nested folders and a JSONL file with an unreadable record."""
    for n, text in enumerate(TEXTS):
        path = folder / ("deep" if n % 2 else "") / f"{n}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    records = [{"id": f"r{n}", "text": text[::-1]} for n, text in enumerate(TEXTS)] + [{"id": "bad"}]
    (folder / "more.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records))
    return folder


def test_rank_comes_from_the_launcher_environment(monkeypatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert Rank.from_env() is None
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("RANK", "2")
    assert Rank.from_env() == Rank(2, 4)
    assert Rank(2, 4).part(Path("out/x.jsonl")) == Path("out/.x.jsonl.part-2-of-4")


def test_predict_under_torchrun_needs_an_output(
    monkeypatch, mixed_tagger_dir: Path, tmp_path: Path, capsys
) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    assert main(["predict", str(corpus(tmp_path)), "--model", str(mixed_tagger_dir)]) == 2
    assert "needs --output" in capsys.readouterr().err


# accelerate's --multi_gpu picks its torch launcher, CPUs included (--cpu with
# --num_processes 2 runs one process unless MPI is set up).
LAUNCHERS = {
    "torchrun": ["-m", "torch.distributed.run", "--nproc_per_node=2", "--standalone"],
    "accelerate": ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes=2", "--num_machines=1"]
    + ["--mixed_precision=no", "--dynamo_backend=no"],
}


@pytest.mark.parametrize(
    ("launcher", "fmt"), [("torchrun", "jsonl"), ("torchrun", "conll"), ("accelerate", "jsonl")]
)
def test_two_ranks_write_what_one_process_writes(
    mixed_tagger_dir: Path, tmp_path: Path, launcher: str, fmt: str
) -> None:
    inputs = corpus(tmp_path / "in")
    args = ["predict", str(inputs), "--model", str(mixed_tagger_dir), "--format", fmt, "--skip-errors"]
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        environment.pop(name, None)
    alone = subprocess.run(
        [sys.executable, "-m", "kzner.cli", *args, "--output", str(tmp_path / "alone")],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    ranked = subprocess.run(
        [
            sys.executable,
            *LAUNCHERS[launcher],
            "-m",
            "kzner.cli",
            *args,
            "--output",
            str(tmp_path / "ranked"),
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    # The bad JSONL record fails on whichever rank owns it; both runs say so and exit 1.
    assert alone.returncode == 1 and "failed:" in alone.stderr, alone.stderr[-2000:]
    assert ranked.returncode != 0 and "kzner: failed:" in ranked.stderr, ranked.stderr[-2000:]
    assert f"rank 0 wrote {2 * len(TEXTS)} documents from 2 ranks" in ranked.stderr
    expected = (tmp_path / "alone").read_text(encoding="utf-8")
    if fmt == "jsonl":
        lines = [json.loads(line) for line in expected.splitlines()]
        assert len(lines) == 2 * len(TEXTS) and any(line["entities"] for line in lines)
        assert sum(line["id"].startswith("deep/") for line in lines) == 2  # relative to the input root
    else:
        assert expected.count("-DOCSTART-") == 2 * len(TEXTS)
    assert (tmp_path / "ranked").read_text(encoding="utf-8") == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == ["alone", "in", "ranked"]
