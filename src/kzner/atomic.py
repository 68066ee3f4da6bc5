"""Files and directories that appear whole or not at all.

A converted base model or a trained package is built in a hidden sibling and
renamed into place at the end, so a crash never leaves a half-written folder
that looks complete; a previous version is swapped out, not deleted first.
Output files (predictions) are written the same way.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO


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


@contextmanager
def atomic_file(target: Path) -> Iterator[TextIO]:
    """Yield a UTF-8 text file beside ``target``; on success it becomes ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    work = Path(name)
    try:
        with open(fd, "w", encoding="utf-8", newline="") as f:
            yield f
        work.chmod(0o644)
        os.replace(work, target)
    finally:
        work.unlink(missing_ok=True)
