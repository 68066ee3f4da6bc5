"""kzner: named-entity recognition for Kazakh regional reports."""

from kzner.document import LABELS, Document, Span

__all__ = ["LABELS", "Document", "Span"]
__version__ = "0.1.0"
