"""scripts/bench_predict.py refuses a package that is not kzner's before it reads any document."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "bench_predict.py"


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        ("--model", "is not a trained kzner model (run `make train` first"),
        ("--other-model", "--other-model {} is not a trained kzner model"),
    ],
)
def test_a_folder_without_a_package_is_refused_by_name(
    flag: str, message: str, mixed_tagger_dir: Path, tmp_path: Path
) -> None:
    arguments = {"--model": str(mixed_tagger_dir), flag: str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *(x for pair in arguments.items() for x in pair)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert message.format(tmp_path) in done.stderr
    assert "documents" not in done.stdout  # refused before any document was read
