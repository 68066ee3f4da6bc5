"""Tagging a whole corpus: documents stream in, entities stream out.

Documents are tagged in chunks of about ``chunk_chars`` characters: large
enough that sorting sentences by length across many documents keeps padding
small, small enough that a corpus never sits in memory at once. One huge
document is simply a chunk of its own (its sentences become windows). Input
errors are either raised at once or collected, never skipped silently.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from tqdm import tqdm

from kzner.inputs import InputError, Source
from kzner.outputs import Writer
from kzner.predict import Tagger


@dataclass
class Summary:
    documents: int = 0
    entities: int = 0
    characters: int = 0
    seconds: float = 0.0
    failures: list[InputError] = field(default_factory=list)

    def line(self) -> str:
        rate = max(self.seconds, 1e-9)
        failed = f", {len(self.failures)} inputs failed" if self.failures else ""
        return (
            f"{self.documents} documents, {self.entities} entities, {self.characters:,} characters "
            f"in {self.seconds:.1f} s ({self.documents / rate:.2f} docs/s, "
            f"{self.characters / rate:,.0f} chars/s){failed}"
        )


def _chunks(sources: Iterable[Source], chunk_chars: int) -> Iterator[list[Source]]:
    chunk: list[Source] = []
    size = 0
    for source in sources:
        chunk.append(source)
        size += len(source.text)
        if size >= chunk_chars:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def tag_corpus(
    tagger: Tagger,
    sources: Iterable[Source | InputError],
    writer: Writer,
    skip_errors: bool = False,
    total: int | None = None,
    chunk_chars: int = 200_000,
    min_score: float = 0.0,
) -> Summary:
    """Tag every source into ``writer``; with ``skip_errors``, unreadable
    inputs are listed in the summary instead of stopping the run. Entities
    scored below ``min_score`` are left out (precision over recall)."""
    summary = Summary()
    started = time.perf_counter()

    def readable() -> Iterator[Source]:
        for item in sources:
            if isinstance(item, InputError):
                if not skip_errors:
                    raise item
                summary.failures.append(item)
                progress.update(1)
            else:
                yield item

    with tqdm(total=total, unit="doc", desc="kzner predict", disable=None) as progress:
        for chunk in _chunks(readable(), chunk_chars):
            for source, found in zip(chunk, tagger.pipe([s.text for s in chunk]), strict=True):
                entities = [e for e in found if e.score >= min_score]
                writer.write(source.id, source.text, entities)
                summary.documents += 1
                summary.entities += len(entities)
                summary.characters += len(source.text)
            progress.update(len(chunk))
    writer.close()
    summary.seconds = time.perf_counter() - started
    return summary
