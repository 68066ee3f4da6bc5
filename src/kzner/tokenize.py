"""Kazakh word tokenisation that keeps exact character offsets.

The model learns from KazNERD, whose sentences were tokenised before we got
them, so raw reports must be cut the same way or the two sources look different
to the model. What KazNERD does, and so what we do:

- punctuation is a token of its own: ``«AMANAT»`` -> ``«`` ``AMANAT`` ``»``;
- hyphenated words stay whole: ``Іс-шара``, ``Қасым-Жомарт``, ``COVID-19``,
  ``1-інші``, ``2021-2022``;
- ``%`` is its own token, and a case suffix stays on it: ``78%`` -> ``78`` ``%``,
  ``46,2%-ға`` -> ``46`` ``,`` ``2`` ``%-ға``;
- a decimal comma splits the number (KazNERD writes ``3 , 5``):
  ``91,4`` -> ``91`` ``,`` ``4``; the same for a decimal point;
- thousands grouped with a space (``6 900``, ``1 763``) are two tokens, since
  whitespace always separates; an entity span simply covers both;
- a web domain is one word with any case ending glued to it (``Tolqyn.kz``,
  ``24.kz``, ``Astana.gov.kz``, ``Inform.kz-ке``): outlets are named by their
  domain, and a word edge at its dot let the model tag ``EXAMPLE`` of
  ``EXAMPLE.KZ``. KazNERD has one domain (``khabar . kz``, as three words),
  and its words stay as they are.

Any Unicode whitespace separates words (U+00A0, ``\\r\\n``, tabs), and so
do the zero-width characters the model's own normaliser reads as a space
(zero-width space, joiner and non-joiner, LRM/RLM, BOM). The other invisible
format characters web text carries (a soft hyphen inside a word, a word
joiner, bidirectional marks around a name) are part of a word when they sit
between its letters and no token elsewhere: ``әкім\\u00adдігі`` is one word,
which the model reads without the soft hyphen (kzner.spelling). Made tokens of
their own, they split a word in two or made a word with no piece in the
middle of an entity, which then lost its end. Offsets index the original
string, so ``text[token.start:token.end] == token.text`` always holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# \w misses combining marks, which appear in decomposed Cyrillic (и + U+0306).
_WORD_CHAR = r"[\w\u0300-\u036f]"
# Top-level domains seen in Kazakh news; a closed list, so that ``866.8`` or
# ``т.б`` never look like a domain.
_TLD = r"(?i:kz|қаз|ru|com|org|net|info|gov|edu|news|media|tv|io)"
# Invisible format characters that join the letters around them into one
# word (soft hyphen, word joiner, bidirectional embeddings and isolates).
INVISIBLE = r"\u00ad\u202a-\u202e\u2060-\u2064\u2066-\u206f"
# Zero-width characters that separate words, as whitespace does.
_ZERO_WIDTH_SPACES = r"\u200b-\u200f\ufeff"
# One alternative per kind of word, first match wins. Plain regex syntax that
# Python's re and the Oniguruma engine of HF tokenizers read alike, since the
# packaged tokenizer splits raw text with it too (kzner.word_offsets).
WORD_PATTERN = "|".join(
    [
        # Tolqyn.kz  Astana.gov.kz  Inform.kz-ке
        rf"{_WORD_CHAR}+(?:[.-]{_WORD_CHAR}+)*\.{_TLD}(?!{_WORD_CHAR}|\.{_WORD_CHAR})(?:-{_WORD_CHAR}+)?",
        rf"%(?:-{_WORD_CHAR}+)?",  # %  %-ға  %-тік
        # words, hyphenated words, numbers
        rf"{_WORD_CHAR}+(?:(?:[-\u2010\u2011]|[{INVISIBLE}]+){_WORD_CHAR}+)*",
        rf"[^\s\w{INVISIBLE}{_ZERO_WIDTH_SPACES}]",  # any other mark, alone
    ]
)
_TOKEN = re.compile(WORD_PATTERN)
_SENTENCE_END = {".", "!", "?", "…"}
# Words that news abbreviates with a dot (lower case): multipliers and units
# (млн. млрд. ш. м. га. кВт. т.), ж./жж. (year), т.б./т.с.с., обл./ауд.
# (region, district), and Russian forms common in Kazakh news (г. тыс. руб.).
ABBREVIATIONS = frozenset(
    {
        *("млн", "млрд", "трлн", "мың", "тыс", "ш", "м", "км", "см", "мм", "га", "ц", "кг", "т", "тг"),
        *("руб", "долл", "квт", "мвт", "гвт", "сағ", "ж", "жж", "г", "гг", "б", "с", "обл", "ауд"),
        *("ауыл", "көш", "пр", "даңғ", "шағ", "респ", "қр", "т.б", "т.с.с"),
    }
)
# After a number these never end a sentence: `452,6 млрд. теңгені`.
MULTIPLIERS = frozenset({"млн", "млрд", "трлн", "мың", "тыс"})


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


def tokenize(text: str) -> list[Token]:
    """Words of ``text`` with their code-point offsets.

    >>> [t.text for t in tokenize("«Жайлы мектеп» 91,4 пайызға, 46,2%-ға")]
    ['«', 'Жайлы', 'мектеп', '»', '91', ',', '4', 'пайызға', ',', '46', ',', '2', '%-ға']
    """
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def split_at(tokens: list[Token], cuts: set[int]) -> tuple[list[Token], int]:
    """Split tokens at character positions that fall strictly inside them.

    An annotated span edge inside a word (``AMANAT`` in ``AMANAT-тың`` tagged
    without its suffix) must not move the span; the word is cut there instead.
    Returns the new tokens and how many cuts landed inside a word.
    """
    out: list[Token] = []
    inside = 0
    for token in tokens:
        points = sorted(c for c in cuts if token.start < c < token.end)
        inside += len(points)
        edges = [token.start, *points, token.end]
        for a, b in zip(edges, edges[1:], strict=False):
            out.append(Token(token.text[a - token.start : b - token.start], a, b))
    return out, inside


def split_sentences(text: str, tokens: Sequence[Token]) -> list[list[Token]]:
    r"""Sentence-sized groups of words: at line breaks, and after . ! ? …
    followed by whitespace, unless the dot closes an abbreviation.

    Only to keep model inputs short; windows would cope with anything longer.
    A mark glued to what follows does not end a sentence: it sits inside a
    name (``Tolqyn.kz``), a number (``866.8``) or a quoted title that the
    sentence goes on after (``«Өзгерістер жолы: Әр азаматқа лайықты өмір!»
    атты бағдарлама``). Cutting there split entities in two, at training and
    at prediction alike.

    The dot of an abbreviation (``млрд.``, ``ш. м.``, ``т.б.``, ``2024 ж.``)
    ends a sentence only before a capital letter, and after a number
    followed by ``млн.``/``млрд.`` it never does; an initial (``Н.
    Нәлібаев``) never ends one. A missed cut costs a longer input, a wrong
    one cuts ``452,6 млрд. теңгені`` into a QUANTITY and a lost MONEY.

    >>> text = "Бір сөйлем. Екі\nҮш «Алға!» деп Tolqyn.kz жазды"
    >>> [" ".join(t.text for t in s) for s in split_sentences(text, tokenize(text))]
    ['Бір сөйлем .', 'Екі', 'Үш « Алға ! » деп Tolqyn.kz жазды']
    """
    sentences: list[list[Token]] = []
    current: list[Token] = []
    for i, token in enumerate(tokens):
        current.append(token)
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        gap = "" if following is None else text[token.end : following.start]
        if (
            following is None
            or "\n" in gap
            or (token.text in _SENTENCE_END and gap and not _abbreviation_dot(tokens, i, following))
        ):
            sentences.append(current)
            current = []
    return sentences


def _abbreviation_dot(tokens: Sequence[Token], i: int, following: Token) -> bool:
    """Whether the mark at ``i`` is the dot of an abbreviation that does not
    end the sentence before ``following``."""
    if tokens[i].text != "." or i == 0 or tokens[i - 1].end != tokens[i].start:
        return False
    word = tokens[i - 1].text
    if len(word) == 1 and word.isupper():
        return True  # an initial: Н. Нәлібаев
    # т.б. and т.с.с. come out as т . б . : read the whole glued run.
    start = i - 1
    while start >= 2 and tokens[start - 1].text == "." and tokens[start - 2].end == tokens[start - 1].start:
        start -= 2
    run = "".join(t.text for t in tokens[start:i]).lower()
    if run not in ABBREVIATIONS and word.lower() not in ABBREVIATIONS:
        return False
    if word.lower() in MULTIPLIERS and start > 0 and tokens[start - 1].text[:1].isdigit():
        return True
    return not following.text[:1].isupper()
