"""Prediction: raw text or words in, entities with exact offsets out.

``Tagger`` is the one place that runs a trained model, for evaluation as well
as for users, so that scores measure exactly what users get.
"""

from __future__ import annotations

import ctypes
import hashlib
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from transformers import AutoTokenizer

from kzner.align import OUTSIDE, tags_to_spans
from kzner.casing import model_words
from kzner.config import ModelConfig
from kzner.crf_layer import CONFIG_KEY, LinearChainCRF
from kzner.decode import check_decoder, decode
from kzner.document import Span
from kzner.errors import KznerError
from kzner.features import (
    CONTEXTS,
    Encoded,
    encode_sentences,
    join,
    owner_windows,
    pack,
    plan_windows,
    window_features,
)
from kzner.package import KZNER_CONFIG, check_labels, load_model, read_settings
from kzner.tagset import TagSet
from kzner.tokenize import split_sentences, tokenize


@dataclass(frozen=True)
class Entity:
    start: int
    end: int
    label: str
    text: str
    score: float

    @property
    def span(self) -> Span:
        return Span(self.start, self.end, self.label)


def pick_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise KznerError("--device cuda asked for, but torch sees no CUDA device")
    return torch.device(device)


def cpu_has_bf16() -> bool:
    """Whether this CPU does bf16 matrix products natively (AVX512-BF16 or
    AMX): there mixed-precision training measured 1.7x faster steps on 2
    cores; without it bf16 is emulated and slower than fp32."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


# What ``--precision`` and ``train.precision`` name.
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_precision(wanted: str, device: torch.device, setting: str = "--precision") -> str:
    """``auto`` made concrete for ``device``, in training and prediction
    alike: half precision on a GPU (bf16 where it has it, else fp16); on
    CPU bf16 where the CPU has it natively (scripts/bench_predict.py --fast
    on a CPU with AVX512-BF16: 1.9x the speed of fp32 at 99.7% identical
    entities, over the 99.5% we ask), else fp32, since emulated bf16 is
    slower than fp32. ``setting`` names the option in the error."""
    if wanted == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        return "bf16" if cpu_has_bf16() else "fp32"
    if wanted == "fp16" and device.type != "cuda":
        raise KznerError(f"{setting}=fp16 needs a CUDA device; on CPU use auto, bf16 or fp32")
    return wanted


def pad_multiple(dtype: torch.dtype) -> int | None:
    """Batches in half precision are padded to a multiple of 8: oneDNN keeps
    a bf16 kernel for every input shape it meets, so each distinct window
    length cost CPU memory (60 lengths: +205 MB, in multiples of 8: +44 MB;
    ``kzner predict``'s peak on the bench 651-656 MB -> 594), at the same
    speed; tensor cores and AMX tiles work in such multiples anyway. fp32
    runs without: there the padding measured 12% slower and no lighter."""
    return 8 if dtype in (torch.bfloat16, torch.float16) else None


def batch_windows(dtype: torch.dtype) -> int:
    """Windows per forward pass when the caller names none. A bf16 matrix
    product on the CPU has a fixed cost per call (a 384x1536 layer: ~55 us;
    664 ns a row at 256 rows, 465 at 2,048), so more windows a call share
    it: ``kzner predict`` over the bench's 103 documents, whole process,
    8.2-8.4 s at 48 or 64 windows against 9.3-9.4 at 32, the same entities,
    peak 570-601 MB against 556-562. fp32 costs the same per row at any
    size from 16 up (2-core AVX2 CPU, whole process: 16 windows 42.5-46.0 s
    and 578-580 MB peak, 32 windows 42.9-46.3 s and 600-624 MB; 8 windows
    25% slower), so it takes 16, the least memory at that speed."""
    return 48 if dtype in (torch.bfloat16, torch.float16) else 16


class Tagger:
    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        labels: Sequence[str],
        max_length: int = ModelConfig().max_length,  # a hand-built Tagger reads as training does
        stride: int = ModelConfig().stride,
        batch_size: int | None = None,  # None: batch_windows of the model's dtype
        version: str = "unsaved",
        decoder: str = "viterbi",
        context: str = "sentence",
    ) -> None:
        check_decoder(decoder)  # before the model is used, not at the first sentence
        if context not in CONTEXTS:
            raise KznerError(f"context must be one of {', '.join(CONTEXTS)}, not {context!r}")
        self.context = context
        self.model = model.eval()
        self.decoder = decoder
        # Names the model in Label Studio predictions (their model_version).
        self.version = version
        self.tokenizer = tokenizer
        self.tagset = TagSet.from_id2label(model.config.id2label, labels)
        weight = next(model.parameters())
        device = weight.device
        self.pad_to = pad_multiple(weight.dtype)
        self.fold = torch.from_numpy(self.tagset.fold_matrix()).to(device)
        saved_crf = getattr(model.config, CONFIG_KEY, None)
        self.crf = LinearChainCRF.from_config(saved_crf).to(device) if saved_crf else None
        self.max_length, self.stride = max_length, stride
        self.batch_size = batch_size or batch_windows(weight.dtype)

    @classmethod
    def load(
        cls,
        directory: str | Path,
        device: str = "auto",
        batch_size: int | None = None,
        labels: Sequence[str] | None = None,
        quantize: bool = False,
        precision: str = "auto",
        decoder: str = "viterbi",
        context: str = "sentence",
    ) -> Tagger:
        """Load a packaged model; with ``labels``, refuse one trained for others.

        ``quantize``: dynamic int8 for the linear layers, CPU only (see
        scripts/bench_predict.py for its speed and agreement)."""
        directory = Path(directory)
        settings = read_settings(directory)
        if settings is None:
            raise KznerError(f"{directory} is not a kzner model: no {KZNER_CONFIG}")
        check_labels(directory, settings, labels)
        target = pick_device(device)
        # int8 is quantised from fp32 weights: auto must not pick bf16 for it.
        dtype = DTYPES[resolve_precision("fp32" if quantize and precision == "auto" else precision, target)]
        model = load_model(directory, dtype).to(target)
        if quantize:
            if target.type != "cpu" or dtype != torch.float32:
                raise KznerError("quantize is dynamic int8 on CPU from fp32: use it with --device cpu, fp32")
            with warnings.catch_warnings():  # torch points at torchao, which we do not depend on
                warnings.simplefilter("ignore", (DeprecationWarning, UserWarning))
                model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
        tokenizer = AutoTokenizer.from_pretrained(directory)
        # A trained package's metrics are unique to its run: a short, stable version.
        digest = hashlib.sha256((directory / "config.json").read_bytes())
        if (directory / "metrics.json").is_file():
            digest.update((directory / "metrics.json").read_bytes())
        return cls(
            model,
            tokenizer,
            settings["labels"],
            settings["max_length"],
            settings["stride"],
            batch_size,
            f"{directory.resolve().name}-{digest.hexdigest()[:8]}{'-int8' if quantize else ''}",
            decoder,
            context,
        )

    def word_probabilities(
        self, sentences: Sequence[Sequence[str]], batch_size: int | None = None
    ) -> list[np.ndarray]:
        """Per sentence, a [words, output tags] array: each word's distribution
        over our IOB2 tags, read at its first sub-token (with a CRF layer,
        its marginal given the window's words; a word without sub-tokens,
        one the tokenizer's normaliser erases, is certainly O)."""
        return self._probabilities(self._encode(sentences), batch_size)

    def _encode(self, sentences: Sequence[Sequence[str]]) -> list[Encoded]:
        # A sentence in capitals is read in title case (kzner.casing).
        return encode_sentences(self.tokenizer, [model_words(s) for s in sentences])

    @torch.inference_mode()
    def _probabilities(self, encoded: Sequence[Encoded], batch_size: int | None) -> list[np.ndarray]:
        jobs = []  # (sentence, window index, features, positions of the window's words)
        plans = []
        for s, enc in enumerate(encoded):
            windows = plan_windows(enc, self.max_length - 2, self.stride) if enc.ids else []
            plans.append(windows)
            for w, window in enumerate(windows):
                features = window_features(self.tokenizer, enc, window, None)
                # Where the window's words start: the positions a CRF layer chains.
                words = [p - window.start + 1 for p in enc.first if window.start <= p < window.end]
                jobs.append((s, w, features, words if self.crf else []))
        # Sorting by length keeps padding, and so wasted compute, small.
        # Longest first: glibc raises its mmap threshold as large blocks are
        # freed, so batches growing in size each took fresh heap that later,
        # smaller ones could not reuse (scripts/bench_predict.py, 103
        # documents: peak RSS 852 MB shortest first, 734 and 741 MB longest
        # first, the plain pipeline's 780 and 762; the same entities and scores).
        jobs.sort(key=lambda job: len(job[2]["input_ids"]), reverse=True)
        probs: dict[tuple[int, int], np.ndarray] = {}
        device = self.fold.device
        step = batch_size or self.batch_size
        for i in range(0, len(jobs), step):
            chunk = jobs[i : i + step]
            batch = self.tokenizer.pad(
                [job[2] for job in chunk], pad_to_multiple_of=self.pad_to, return_tensors="pt"
            ).to(device)
            logits = self.model(**batch).logits.float()
            if self.crf is None:
                probabilities = logits.softmax(-1)
            else:
                positions = torch.zeros(logits.shape[:2], dtype=torch.bool, device=device)
                for row, job in enumerate(chunk):
                    positions[row, job[3]] = True
                probabilities = self.crf.word_distributions(logits, positions)
            folded = (probabilities @ self.fold).cpu().numpy()
            for (s, w, features, _), p in zip(chunk, folded, strict=True):
                probs[(s, w)] = p[: len(features["input_ids"])]
        results = []
        for s, enc in enumerate(encoded):
            windows = plans[s]
            rows = np.zeros((len(enc.first), len(self.tagset.output)), dtype=np.float32)
            rows[:, self.tagset.output.index(OUTSIDE)] = 1.0
            for word, owner in enumerate(owner_windows(enc, windows) if windows else []):
                if owner >= 0:
                    rows[word] = probs[(s, owner)][enc.first[word] - windows[owner].start + 1]
            results.append(rows)
        return results

    def predict_words(
        self, sentences: Sequence[Sequence[str]], batch_size: int | None = None
    ) -> list[tuple[list[str], list[float]]]:
        """IOB2 tag and its probability for every word of every sentence
        (``viterbi``: the best sequence IOB2 allows, see kzner.decode)."""
        return self._decode(self.word_probabilities(sentences, batch_size))

    def _decode(self, distributions: Iterable[np.ndarray]) -> list[tuple[list[str], list[float]]]:
        results = []
        for rows in distributions:
            best = decode(rows, self.tagset.output, self.decoder)
            tags = [self.tagset.output[b] for b in best]
            results.append((tags, rows[np.arange(len(best)), best].tolist()))
        return results

    def document_probabilities(
        self, documents: Sequence[Sequence[Sequence[str]]], batch_size: int | None = None
    ) -> list[np.ndarray]:
        """``word_probabilities`` for every sentence of every document, in
        order. With context ``paragraph``, consecutive sentences of a
        document share a window up to the model's length: fewer, fuller
        windows, meant for models trained with ``data.context_fraction``
        (one trained on single sentences tags them worse)."""
        sentences = [sentence for doc in documents for sentence in doc]
        if self.context == "sentence":
            rows = self.word_probabilities(sentences, batch_size)
        else:
            rows = self._paragraph_probabilities(documents, sentences, batch_size)
        _return_freed_memory()
        return rows

    def _paragraph_probabilities(
        self, documents: Sequence[Sequence[Sequence[str]]], sentences: list, batch_size: int | None
    ) -> list[np.ndarray]:
        encoded = self._encode(sentences)
        groups, first = [], 0
        for doc in documents:
            lengths = [len(e.ids) for e in encoded[first : first + len(doc)]]
            for group in pack(lengths, self.max_length - 2):
                groups.append(range(first + group.start, first + group.stop))
            first += len(doc)
        joined = [join([encoded[i] for i in group]) for group in groups]
        rows = []
        for group, probabilities in zip(groups, self._probabilities(joined, batch_size), strict=True):
            cuts = np.cumsum([len(sentences[i]) for i in group])[:-1]
            rows.extend(np.split(probabilities, cuts))
        return rows

    def pipe(self, texts: Iterable[str], batch_size: int | None = None) -> list[list[Entity]]:
        texts = list(texts)
        sentences = _sentences(texts)
        predicted = iter(self._decode(self.document_probabilities(_words(sentences), batch_size)))
        out = []
        for text, doc in zip(texts, sentences, strict=True):
            entities = []
            for sentence in doc:
                tags, scores = next(predicted)
                score_at = {t.start: p for t, p in zip(sentence, scores, strict=True)}
                for span in tags_to_spans(sentence, tags):
                    inside = [p for start, p in score_at.items() if span.start <= start < span.end]
                    entities.append(
                        Entity(
                            span.start,
                            span.end,
                            span.label,
                            text[span.start : span.end],
                            round(sum(inside) / len(inside), 4),
                        )
                    )
            out.append(entities)
        return out

    def __call__(self, text: str) -> list[Entity]:
        return self.pipe([text])[0]

    def uncertainty(self, texts: Sequence[str], batch_size: int | None = None) -> list[float]:
        """Per document, the mean entropy (nats) of its words' tag distributions:
        high where the model hesitates, so where an annotator's label teaches most."""
        sentences = _sentences(texts)
        rows = iter(self.document_probabilities(_words(sentences), batch_size))
        scores = []
        for doc in sentences:
            probs = np.concatenate([next(rows) for _ in doc]) if doc else np.ones((0, 1))
            entropy = -(probs * np.log(np.clip(probs, 1e-12, 1.0))).sum(-1)
            scores.append(round(float(entropy.mean()), 6) if len(entropy) else 0.0)
        return scores


def _return_freed_memory() -> None:
    """Hand the heap's freed blocks back to the system after a batch of
    documents. glibc keeps them for reuse, but the next documents' windows
    and activations come in other sizes that rarely fit the holes, so every
    chunk of a long `kzner predict` run raised its peak (103 documents in
    two chunks: 645-651 MB without, 605-625 MB with, the same time and
    output)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)


try:
    _MALLOC_TRIM = ctypes.CDLL(None).malloc_trim
except (AttributeError, OSError, TypeError):  # not glibc (musl, macOS, Windows): nothing to do
    _MALLOC_TRIM = None


def _sentences(texts: Sequence[str]) -> list[list[list]]:
    """Each text's sentences of word tokens (with offsets), as the model sees them."""
    return [split_sentences(text, tokenize(text)) for text in texts]


def _words(documents: Sequence[Sequence[Sequence]]) -> list[list[list[str]]]:
    """Every document's sentences as words."""
    return [[[t.text for t in sentence] for sentence in doc] for doc in documents]
