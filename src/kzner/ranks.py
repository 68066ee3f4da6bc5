"""``kzner predict`` past one process, on the engine people already launch
with: ``torchrun --nproc_per_node=N -m kzner.cli predict ...`` (or
``accelerate launch``) starts N copies; each tags every N-th document of the
input and writes its part beside ``--output``; rank 0 waits for every part
and writes ``--output`` in input order through the chosen format.

Parts go to disk, not over ``torch.distributed``: predictions stream, so no
rank ever holds a corpus, and the formats stay written in one place
(kzner.outputs) by one process.
"""

from __future__ import annotations

import heapq
import json
import os
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from kzner.inputs import InputError, Source
from kzner.outputs import Writer
from kzner.predict import Entity


@dataclass(frozen=True)
class Rank:
    index: int
    world: int

    @classmethod
    def from_env(cls) -> Rank | None:
        """This process's rank as torchrun and accelerate set it; None when alone."""
        world = int(os.environ.get("WORLD_SIZE", "1"))
        return cls(int(os.environ.get("RANK", "0")), world) if world > 1 else None

    def part(self, output: Path, index: int | None = None) -> Path:
        return output.with_name(
            f".{output.name}.part-{self.index if index is None else index}-of-{self.world}"
        )

    def use_own_gpu(self) -> None:
        """One GPU per rank: ``device=auto`` then lands on this rank's."""
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", self.index)))


class PartWriter(Writer):
    """One JSON line per document: its place in the input, id, text and
    entities; what rank 0 needs to write any format in input order."""

    def __init__(self, out, positions: deque[int]) -> None:
        super().__init__(out)
        self.positions = positions

    def write(self, doc_id: str, text: str, entities: list[Entity]) -> None:
        record = {"n": self.positions.popleft(), "id": doc_id, "text": text}
        record["entities"] = [asdict(e) for e in entities]
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")


def own_share(rank: Rank, sources: Iterable[Source | InputError], positions: deque[int]) -> Iterator:
    """Every ``world``-th input, starting at this rank's. The places of the
    readable ones are queued for PartWriter in the order they are tagged
    (tag_corpus writes documents in the order it reads them, and unreadable
    inputs are never written)."""
    for n, item in enumerate(sources):
        if n % rank.world != rank.index:
            continue
        if isinstance(item, Source):
            positions.append(n)
        yield item


def barrier() -> None:
    """Wait for every rank torchrun started (gloo: with or without GPUs)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("gloo")
    dist.barrier()


def leave() -> None:
    """After the merge: a rank that exits early with an error code would make
    torchrun stop rank 0 in the middle of writing the output."""
    import torch.distributed as dist

    barrier()
    dist.destroy_process_group()


def merge(rank: Rank, output: Path, writer: Writer) -> int:
    """Rank 0: every rank's part, in input order, into ``writer``; parts removed."""
    parts = [rank.part(output, index) for index in range(rank.world)]
    files = [part.open(encoding="utf-8") for part in parts]
    try:
        records = heapq.merge(*((json.loads(line) for line in f) for f in files), key=lambda r: r["n"])
        count = 0
        for record in records:
            writer.write(record["id"], record["text"], [Entity(**e) for e in record["entities"]])
            count += 1
        writer.close()
    finally:
        for f in files:
            f.close()
    for part in parts:
        part.unlink()
    return count
