"""scripts/robustness.py: the changed documents keep every span on its mention."""

from __future__ import annotations

import random
import sys
from collections.abc import Sequence
from pathlib import Path

from kzner.document import Document, Span
from kzner.gazetteer import Gazetteer

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

from robustness import (  # noqa: E402
    capitals,
    first_line_in_capitals,
    latin_i,
    renamed,
    with_web_characters,
)


def spans_at(text: str, mentions: Sequence[tuple[str, str]]) -> tuple[Span, ...]:
    return tuple(Span(text.index(m), text.index(m) + len(m), label) for m, label in mentions)


def names_of(gazetteer: Gazetteer, kind: str) -> set[str]:
    return {" ".join(n) for n in gazetteer.names_of[kind]}


def test_renamed_documents_keep_every_span_on_its_mention() -> None:
    text = "Жетісу облысы әкімдігі «Жайлы мектеп» үшін 2 млрд теңге бөлді, деп хабарлайды Inform.kz-ке."
    mentions = [("Жетісу облысы әкімдігі", "ORG"), ("Жайлы мектеп", "PROJECT"), ("2 млрд теңге", "MONEY")]
    mentions.append(("Inform.kz-ке", "ORG"))
    doc = Document("d", text, spans_at(text, mentions))
    gazetteer = Gazetteer.load()
    names = Gazetteer.load(SCRIPTS / "unseen-names.yaml")
    new, count = renamed(doc, gazetteer, names, random.Random(3))
    # The project and the outlet: the unseen list has no regions (all 17 are in
    # the gazetteer), and MONEY holds no name.
    assert count == 2
    got = [new.span_text(s) for s in new.spans]
    assert got[0] == "Жетісу облысы әкімдігі"
    assert got[1] in names_of(names, "project")
    assert got[2] == "2 млрд теңге" and got[3].endswith("-ке") and got[3] != "Inform.kz-ке"
    assert new.text.endswith(got[3] + ".") and "«" + got[1] + "»" in new.text


def test_capitals_move_no_span() -> None:
    text = "Астана. «Ауыл аманаты» жобасына 2 млрд теңге бөлінді.\nЕкінші жол ß."
    mentions = (("Астана", "LOC"), ("Ауыл аманаты", "PROJECT"), ("2 млрд теңге", "MONEY"))
    doc = Document("d", text, spans_at(text, mentions))
    head = first_line_in_capitals(doc)
    assert head.text.startswith("АСТАНА. «АУЫЛ АМАНАТЫ» ЖОБАСЫНА 2 МЛРД ТЕҢГЕ БӨЛІНДІ.\nЕкінші жол ß.")
    assert [head.span_text(s) for s in head.spans] == ["АСТАНА", "АУЫЛ АМАНАТЫ", "2 МЛРД ТЕҢГЕ"]
    # ß has a two-letter capital: it stays, so no offset moves.
    assert capitals(text).endswith("ЕКІНШІ ЖОЛ ß.") and len(capitals(text)) == len(text)


def test_web_characters_keep_every_span_on_its_own_characters() -> None:
    text = "Қарағанды облысының әкімдігі «Жайлы мектеп» жобасына 2 млрд теңге бөлді."
    mentions = (("Қарағанды облысының әкімдігі", "ORG"), ("Жайлы мектеп", "PROJECT"))
    mentions += (("2 млрд теңге", "MONEY"),)
    doc = Document("d", text, spans_at(text, mentions))
    new = with_web_characters(doc, random.Random(1))
    assert new.text.startswith("\ufeff") and "\u00ad" in new.text and "\u200b" in new.text
    invisible = str.maketrans("", "", "\ufeff\u00ad\u200b")
    assert new.text.translate(invisible) == text
    assert [new.span_text(s).translate(invisible) for s in new.spans] == [m for m, _ in mentions]
    # No span starts or ends on an inserted character.
    assert all(new.text[s.start] not in "\ufeff\u00ad\u200b" for s in new.spans)
    assert all(new.text[s.end - 1] not in "\ufeff\u00ad\u200b" for s in new.spans)


def test_latin_i_keeps_every_span() -> None:
    typed = latin_i(Document("d", "Білім басқармасы", (Span(0, 16, "ORG"),)))
    assert typed.text == "Б\u0069л\u0069м басқармасы" and typed.spans == (Span(0, 16, "ORG"),)
