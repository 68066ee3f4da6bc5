"""scripts/pipeline_windows.py: its windows, read apart, are the pipeline's reading."""

from __future__ import annotations

import sys
from pathlib import Path

from transformers import AutoTokenizer, pipeline

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))

from pipeline_windows import as_tuple, union, where, window_entities

TEXT = (
    "Қызылорда облысының әкімдігі «Жайлы мектеп» жобасына 2 млрд теңге бөлді. "
    "Ақмола облысында 91,4 пайыз тұрғын ауыз сумен қамтылды. "
    "«Нұрлы жер» бағдарламасы бойынша Шымкент қаласында 1200 пәтер салынады."
)


def test_windows_read_apart_add_up_to_the_pipeline(mixed_tagger_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(mixed_tagger_dir, model_max_length=16)
    ner = pipeline("token-classification", model=str(mixed_tagger_dir), tokenizer=tokenizer, device="cpu")
    windows = window_entities(ner, TEXT, "first", 4)
    assert len(windows) > 3
    direct = ner(TEXT, aggregation_strategy="first", stride=4)
    assert direct
    assert union(ner, windows) == {as_tuple(e) for e in direct}
    # Each window's pieces lie inside the text, in order, and every entity it
    # finds lies within them.
    for pieces, found in windows:
        assert pieces == sorted(pieces) and pieces[0][0] >= 0 and pieces[-1][1] <= len(TEXT)
        assert all(pieces[0][0] <= e["start"] < e["end"] <= pieces[-1][1] for e in found)


def test_where_counts_pieces_from_either_end() -> None:
    pieces = [(i * 2, i * 2 + 1) for i in range(20)]  # pieces at 0, 2, ..., 38
    assert where((4, 5, "LOC"), pieces, 8) == "near its start"  # 2 pieces before it
    assert where((34, 35, "LOC"), pieces, 8) == "near its end"  # 2 pieces after it
    assert where((20, 21, "LOC"), pieces, 8) == "mid-window"  # 10 before, 9 after
