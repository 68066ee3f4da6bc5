"""Which tags the classifier learns, and how they fold into our six labels.

Learning all 25 KazNERD classes and folding them into ours only at output was
measured +5 F1 over learning our six directly: PERSON, DATE, CARDINAL... teach
the model what is *not* one of our entities. So the trained head may predict
more tags than we report. By default it is replaced by one over our tags
before packaging (kzner.distil); a package that keeps it (``model.head:
folded``) names every output by the tag it folds into (``B-GPE`` and
``B-LOCATION`` are both called ``B-LOC``, PERSON is ``O``), and our own
decoder sums the probabilities of outputs that share a name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from kzner.align import OUTSIDE
from kzner.errors import KznerError


def iob_tags(labels: Sequence[str]) -> list[str]:
    """O first, then B-/I- per label, in label order (the output tag ids).

    >>> iob_tags(["ORG", "LOC"])
    ['O', 'B-ORG', 'I-ORG', 'B-LOC', 'I-LOC']
    """
    return [OUTSIDE] + [f"{p}-{label}" for label in labels for p in ("B", "I")]


def continuation_tag(tag: str) -> str:
    """The tag a word's later pieces carry: its own with B- moved to I-, so
    no piece after the first starts an entity.

    >>> [continuation_tag(t) for t in ["O", "B-ORG", "I-ORG"]]
    ['O', 'I-ORG', 'I-ORG']
    """
    return "I-" + tag[2:] if tag.startswith("B-") else tag


@dataclass(frozen=True)
class TagSet:
    source: tuple[str, ...]  # the head's outputs, as the training data names them
    output: tuple[str, ...]  # what we report: O, B-/I- of our labels
    fold: tuple[int, ...]  # head output id -> output tag id

    @classmethod
    def build(cls, source: Sequence[str], labels: Sequence[str], mapping: Mapping[str, str]) -> TagSet:
        """``mapping`` renames source classes to ours; unnamed classes fold into O."""
        output = iob_tags(labels)
        index = {tag: i for i, tag in enumerate(output)}
        fold = []
        for tag in source:
            prefix, _, cls_name = tag.partition("-")
            target = mapping.get(cls_name, cls_name) if cls_name else None
            fold.append(index[f"{prefix}-{target}"] if target in labels else index[OUTSIDE])
        return cls(tuple(source), tuple(output), tuple(fold))

    @classmethod
    def from_id2label(cls, id2label: Mapping[int, str], labels: Sequence[str]) -> TagSet:
        """Rebuild from a packaged config, whose names are already output tags."""
        names = [id2label[i] for i in range(len(id2label))]
        unknown = sorted(set(names) - set(iob_tags(labels)))
        if unknown:
            raise KznerError(f"model predicts tags outside the label set {list(labels)}: {unknown}")
        return cls.build(names, labels, {})

    def folded_names(self) -> dict[int, str]:
        return {i: self.output[f] for i, f in enumerate(self.fold)}

    def fold_matrix(self) -> np.ndarray:
        """[source, output] 0/1 matrix: probabilities @ matrix sums what folds together."""
        matrix = np.zeros((len(self.source), len(self.output)), dtype=np.float32)
        matrix[np.arange(len(self.source)), list(self.fold)] = 1.0
        return matrix
