from __future__ import annotations

from pathlib import Path

import pytest

from kzner.config import Config, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_default_yaml_is_the_built_in_default() -> None:
    assert load_config(ROOT / "configs" / "default.yaml") == Config()


def test_unknown_key_names_the_key_and_file(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("labelstudio:\n  contrl: ner\n")
    with pytest.raises(ConfigError, match=r"c.yaml: labelstudio.contrl: Extra inputs are not permitted"):
        load_config(path)


def test_wrong_type_and_bad_yaml(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("data:\n  annotations: 3\n")
    with pytest.raises(ConfigError, match=r"c.yaml: data.annotations"):
        load_config(path)
    path.write_text("data: [\n")
    with pytest.raises(ConfigError, match="c.yaml: invalid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(tmp_path / "missing.yaml")


def test_overrides_and_label_map_check() -> None:
    config = load_config(None, ["labelstudio.label_map={ORGANIZATION: ORG}", "data.kaznerd_dir=/x"])
    assert config.read_options().label_map == {"ORGANIZATION": "ORG"}
    assert config.data.kaznerd_dir == "/x"
    with pytest.raises(ConfigError, match=r"label_map maps to labels not in `labels`: \['PERSON'\]"):
        load_config(None, ["labelstudio.label_map={PER: PERSON}"])
    with pytest.raises(ConfigError, match="is not KEY=VALUE"):
        load_config(None, ["labelstudio.control"])


def test_dropout_is_auto_or_a_rate() -> None:
    assert load_config(None, ["train.dropout=0"]).train.dropout == 0.0
    assert load_config(None, []).train.dropout == "auto"
    for bad in ("1.5", "high"):
        with pytest.raises(ConfigError, match="train.dropout"):
            load_config(None, [f"train.dropout={bad}"])


def test_every_shipped_config_loads() -> None:
    for path in sorted((ROOT / "configs").glob("*.yaml")):
        load_config(path)
    assert load_config(ROOT / "configs" / "xlmr-base.yaml").base_model == "FacebookAI/xlm-roberta-base"
    # The full-KazNERD CPU recipe refuses to run without the train file.
    assert load_config(ROOT / "configs" / "full-cpu.yaml").data.kaznerd_split == "paper"
    assert load_config(ROOT / "configs" / "gpu.yaml").data.kaznerd_split == "auto"


def test_crf_refuses_labels_on_every_sub_token() -> None:
    with pytest.raises(ConfigError, match="model.crf chains words .* model.label_all_tokens: false"):
        load_config(None, ["model.crf=true", "model.head=folded"])
