"""Swap the names inside annotated mentions for other names of the same kind.

Our training texts name a few dozen places, bodies and projects many times
over (`AMANAT` 26 times, `Kazinform` 14), while a user's articles name
others; a model that learnt the names tags unseen ones worse. Swapping a
mention's name for another of its kind (a region for a region, an outlet for
an outlet) keeps the sentence grammatical and the label true, and moves the
evidence to the context. The names are facts listed in ``gazetteer.yaml``.

Kazakh inflects the last word of a mention (`Ақмола облысында`,
`Inform.kz-ке`), and swapping an inflected word would need morphology, so a
name is swapped only where its ending is kept apart from it: as the whole
mention, before a hyphenated ending, or before a head word of its kind
(`облысы`, `ауданы`, `министрлігінің`) that carries the ending.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import yaml

from kzner.errors import KznerError
from kzner.tokenize import tokenize

BUNDLED = Path(__file__).with_name("gazetteer.yaml")

Words = tuple[str, ...]

# The labels whose mentions hold names; MONEY, PERCENT and QUANTITY hold none.
SWAPPED_LABELS = ("ORG", "LOC", "PROJECT")


class GazetteerError(KznerError):
    pass


@dataclass(frozen=True)
class Kind:
    name: str
    # Lower-case stems of the words that may follow a name of this kind inside a mention.
    heads: tuple[str, ...]
    names: tuple[Words, ...]


@dataclass(frozen=True)
class Swap:
    """Words ``start:stop`` of a mention become ``words``."""

    start: int
    stop: int
    words: Words


class Gazetteer:
    def __init__(self, kinds: list[Kind]):
        self.kinds = kinds
        self._kinds_of: dict[Words, list[Kind]] = {}
        for kind in kinds:
            for name in kind.names:
                self._kinds_of.setdefault(name, []).append(kind)
        self._longest = max((len(n) for n in self._kinds_of), default=0)
        self.names_of = {kind.name: kind.names for kind in kinds}

    @classmethod
    def load(cls, path: str | Path | None = None) -> Gazetteer:
        """The bundled lists, or a YAML file of the same shape."""
        path = Path(path) if path is not None else BUNDLED
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise GazetteerError(f"data.gazetteer: cannot read {path}: {err}") from err
        if not isinstance(raw, dict):
            raise GazetteerError(f"data.gazetteer: {path} must map kinds to their heads and names")
        kinds = []
        for name, body in raw.items():
            if not isinstance(body, dict) or set(body) - {"heads", "names"} or not body.get("names"):
                raise GazetteerError(f"data.gazetteer: kind {name!r} in {path} needs names")
            names = tuple(dict.fromkeys(tuple(t.text for t in tokenize(str(n))) for n in body["names"]))
            kinds.append(Kind(str(name), tuple(str(h).lower() for h in body.get("heads") or ()), names))
        return cls(kinds)

    def swap(self, mention: Words, rng: random.Random, names: Gazetteer | None = None) -> Swap | None:
        """Where ``mention`` holds a listed name with its ending kept apart,
        that name swapped for another of one of its kinds; else None.

        ``names``: draw the new name from that gazetteer's kind of the same
        name instead, e.g. names a model never saw (scripts/robustness.py).
        """
        found = self._find(mention)
        if found is None:
            return None
        start, stop, kinds, ending = found
        pool = (names or self).names_of
        choices = [pool[k.name] for k in kinds if k.name in pool]
        if not choices:
            return None
        name = rng.choice(rng.choice(choices))
        return Swap(start, stop, name[:-1] + (name[-1] + ending,) if ending else name)

    def _find(self, mention: Words) -> tuple[int, int, list[Kind], str] | None:
        """(start, stop, kinds, hyphenated ending) of the listed name in ``mention``."""
        whole = self._kinds_of.get(mention)
        if whole:
            return 0, len(mention), whole, ""
        stem, dash, ending = mention[0].partition("-")
        if len(mention) == 1 and ending and (stem,) in self._kinds_of:
            return 0, 1, self._kinds_of[(stem,)], dash + ending
        for start in range(len(mention) - 1):
            for stop in range(min(len(mention) - 1, start + self._longest), start, -1):
                head = mention[stop].lower()
                listed = self._kinds_of.get(mention[start:stop], [])
                kinds = [k for k in listed if k.heads and head.startswith(k.heads)]
                if kinds:
                    return start, stop, kinds, ""
        return None
