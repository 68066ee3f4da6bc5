"""Directories that appear whole or not at all.

A converted base model or a trained package is built in a hidden sibling and
renamed into place at the end, so a crash never leaves a half-written folder
that looks complete; a previous version is swapped out, not deleted first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_directory(target: Path) -> Iterator[Path]:
    """Yield an empty folder beside ``target``; on success it becomes ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield work
        # mkdtemp and some writers (safetensors) make things private; these are for every user.
        for path in work.iterdir():
            path.chmod(0o644)
        work.chmod(0o755)
        if target.exists():
            old = target.parent / f".{target.name}.old"
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            os.replace(work, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(work, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
