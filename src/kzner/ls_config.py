"""The Label Studio labeling config for our labels, written and read.

Written: one ``<Labels>`` control over one ``<Text>``, named as our export
reader and prediction writer expect by default (``labelstudio.control``,
``TEXT_NAME``, ``labelstudio.text_field``), so that exports read back without
a label map. Read: a project's own config, which may name things otherwise,
tells where kzner's predictions go in it (``labeling_target``).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from kzner.errors import KznerError
from kzner.labelstudio import TEXT_NAME, ReadOptions

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


class LabelingConfigError(KznerError):
    pass


@dataclass(frozen=True)
class LabelingTarget:
    """Where kzner's entities go in a project: the results' ``from_name`` and
    ``to_name``, the task data field holding the text, and each of our labels
    under the name the project gives it (a label of ours the project lacks is
    absent: predictions of it have nowhere to go)."""

    control: str
    to_name: str
    text_field: str
    label_names: dict[str, str]


def labeling_target(label_config: str, options: ReadOptions) -> LabelingTarget:
    """Read a project's labeling config, or say what to change in it.

    Label Studio drops, or refuses whole batches of, predictions that name a
    control, object or label its config lacks, so a config kzner cannot fill
    is an error here, before any prediction is made. Several ``<Labels>``
    over a ``<Text>``: the one named ``options.control``.

    >>> labeling_target(labeling_config(["ORG"]), ReadOptions(labels=("ORG", "LOC"))).label_names
    {'ORG': 'ORG'}
    """
    try:
        root = ET.fromstring(label_config)
    except ET.ParseError as err:
        raise LabelingConfigError(f"the labeling config is not valid XML: {err}") from None
    texts = {element.get("name"): element for element in root.iter("Text")}
    controls = [element for element in root.iter("Labels") if element.get("toName") in texts]
    if not controls:
        raise LabelingConfigError(
            "the labeling config has no <Labels> control over a <Text> object, so kzner's spans have "
            "nowhere to go; `kzner labelstudio config` prints one that works"
        )
    if len(controls) > 1:
        named = [c for c in controls if c.get("name") == options.control]
        if not named:
            names = [c.get("name") for c in controls]
            raise LabelingConfigError(
                f"the labeling config has several <Labels> over a <Text> ({names}) and none is named "
                f"{options.control!r}: choose one with --set labelstudio.control=NAME"
            )
        controls = named
    control = controls[0]
    text = texts[control.get("toName")]
    value = text.get("value", "")
    if not value.startswith("$") or text.get("valueType", "text") != "text":
        raise LabelingConfigError(
            f"<Text name={text.get('name')!r}> takes value={value!r}"
            f"{' from a URL' if text.get('valueType') == 'url' else ''}: kzner needs the text itself "
            'in a task field, as in value="$text"'
        )
    project_labels = [label.get("value") for label in control.iter("Label")]
    unknown = [p for p in project_labels if options.label_map.get(p, p) not in options.labels]
    if unknown:
        raise LabelingConfigError(
            f"<Labels name={control.get('name')!r}> has labels {unknown} that are not kzner's "
            f"{list(options.labels)} and that labelstudio.label_map does not map "
            f"(e.g. --set labelstudio.label_map.{unknown[0]}={options.labels[0]})"
        )
    label_names: dict[str, str] = {}
    for name in project_labels:
        ours = options.label_map.get(name, name)
        if ours not in label_names or name == ours:  # ORG itself wins over a name mapped to it
            label_names[ours] = name
    return LabelingTarget(control.get("name"), text.get("name"), value[1:], label_names)
