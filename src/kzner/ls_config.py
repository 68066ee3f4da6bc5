"""The Label Studio labeling config for our labels.

One ``<Labels>`` control over one ``<Text>``, named as our export reader and
prediction writer expect by default (``labelstudio.control``, ``TEXT_NAME``,
``labelstudio.text_field``), so that exports read back without a label map.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import quoteattr

from kzner.errors import KznerError
from kzner.labelstudio import TEXT_NAME

# Distinct, colour-blind-friendly (Tableau 10); more labels cycle through it.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#ff9da7")
HOTKEYS = "123456789qwertyuiop"


def labeling_config(labels: Sequence[str], control: str = "label", text_field: str = "text") -> str:
    if len(labels) > len(HOTKEYS):
        raise KznerError(f"{len(labels)} labels but only {len(HOTKEYS)} hotkeys")
    lines = [
        "<View>",
        f"  <Labels name={quoteattr(control)} toName={quoteattr(TEXT_NAME)}>",
        *(
            f"    <Label value={quoteattr(label)} background={quoteattr(PALETTE[i % len(PALETTE)])}"
            f" hotkey={quoteattr(HOTKEYS[i])}/>"
            for i, label in enumerate(labels)
        ),
        "  </Labels>",
        f"  <Text name={quoteattr(TEXT_NAME)} value={quoteattr('$' + text_field)}/>",
        "</View>",
    ]
    return "\n".join(lines) + "\n"
