from __future__ import annotations

from pathlib import Path

from kzner.crf_baseline import predict_crf, sentence_features, train_crf


def test_features_see_neighbours_and_shape() -> None:
    features = sentence_features(["«", "AMANAT", "»", "партиясы"])
    assert features[1]["shape"] == "X" and features[1]["-1:lower"] == "«"
    assert features[0]["-1:edge"] and features[3]["+1:edge"]
    assert features[3]["suf3"] == "ясы"


def test_crf_learns_a_toy_pattern(tmp_path: Path) -> None:
    towns = ["Арал", "Шиелі", "Қызылорда", "Тараз", "Атырау", "Ақтөбе"]
    data = [(["Біз", town, "қаласында", "болдық", "."], ["O", "B-LOC", "O", "O", "O"]) for town in towns] + [
        (["Ол", "50", "%", "өсті", "."], ["O", "B-PERCENT", "I-PERCENT", "O", "O"])
    ] * 3
    path = train_crf(data, tmp_path / "crf.model")
    predicted = predict_crf(
        path, [["Біз", "Жаңақорған", "қаласында", "болдық", "."], ["Ол", "7", "%", "өсті"], []]
    )
    assert predicted == [["O", "B-LOC", "O", "O", "O"], ["O", "B-PERCENT", "I-PERCENT", "O"], []]
