"""kzner: named-entity recognition for Kazakh regional reports."""

from kzner.document import LABELS, Document, Span

__all__ = ["LABELS", "Document", "Span", "Tagger"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # `from kzner import Tagger` without making every `import kzner` load torch.
    if name == "Tagger":
        from kzner.predict import Tagger

        return Tagger
    raise AttributeError(f"module 'kzner' has no attribute {name!r}")
