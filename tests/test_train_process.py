"""Training as separate processes: killed and resumed, and two-process DDP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def kzner_train(tiny_base: Path, output: Path, *extra: str) -> list[str]:
    return [
        "train",
        str(ROOT / "configs" / "smoke.yaml"),
        "--output",
        str(output),
        "--set",
        f"base_model={tiny_base}",
        "--set",
        "train.threads=1",
        *extra,
    ]


def env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


@pytest.mark.integration
def test_killed_run_resumes_from_its_last_checkpoint(tiny_base: Path, tmp_path: Path) -> None:
    output = tmp_path / "model"
    args = kzner_train(
        tiny_base,
        output,
        "--set",
        "train.max_steps=60",
        "--set",
        "train.eval_steps=5",
        "--set",
        "train.early_stopping_patience=100",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "kzner.cli", *args],
        cwd=ROOT,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoints = tmp_path / "model.work" / "checkpoints"
    deadline = time.time() + 300
    while not (checkpoints / "checkpoint-10").is_dir():
        assert process.poll() is None, "the run ended before it could be killed"
        assert time.time() < deadline, "no checkpoint appeared"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not output.exists(), "a killed run must not leave a package"

    done = subprocess.run(
        [sys.executable, "-m", "kzner.cli", *args, "--resume"],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    state = json.loads(next(checkpoints.glob("checkpoint-60")).joinpath("trainer_state.json").read_text())
    assert state["global_step"] == 60
    log = [json.loads(line) for line in (tmp_path / "model.work" / "metrics.jsonl").open()]
    steps = [row["step"] for row in log]
    # Every step logs its loss: a second run that started over would log step 1
    # again. It continued from checkpoint-10 (or -5 when the kill caught -10
    # half-written, which --resume then set aside).
    assert steps.count(1) == 1 and 60 in steps
    assert (output / "model.safetensors").is_file()


@pytest.mark.integration
@pytest.mark.parametrize("crf", ["false", "true"])  # the CRF layer's scores live outside forward()
def test_two_process_ddp_on_cpu(tiny_base: Path, tmp_path: Path, crf: str) -> None:
    output = tmp_path / "model"
    head = "folded" if crf == "true" else "distilled"  # rank 0 alone distils, after the loop
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--standalone",  # a free port, not a fixed one another run may hold
        "-m",
        "kzner.cli",
        *kzner_train(
            tiny_base,
            output,
            "--set",
            "train.max_steps=4",
            "--set",
            f"model.crf={crf}",
            "--set",
            f"model.head={head}",
            "--set",
            f"model.label_all_tokens={'false' if crf == 'true' else 'true'}",  # a CRF chains words only
        ),
    ]
    done = subprocess.run(command, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["train"]["world_size"] == 2
    assert ("kzner_crf" in json.loads((output / "config.json").read_text())) == (crf == "true")
    state = json.loads(
        (tmp_path / "model.work" / "checkpoints" / "checkpoint-4" / "trainer_state.json").read_text()
    )
    assert state["global_step"] == 4
