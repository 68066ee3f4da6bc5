"""An exponential moving average of the trained weights, packaged instead of
the last step's.

Where a word is borderline, its tag flips with the training seed and with
the neighbours a sentence is read among: two seeds of the default recipe
agree on only 0.874 of their entities on scripts/bench_predict.py's
documents, and a plain pipeline reading whole documents differs from
``kzner predict`` by as much. Averaging weights along the end of the run is
a cheap way to damp what the last steps happened to see.
"""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import TrainerCallback

# Saved beside each checkpoint, so that ``kzner train --resume`` goes on averaging.
FILE = "weight_average.pt"


class WeightAverage(TrainerCallback):
    """Keeps the average of the trainable parameters after every optimiser
    step (rate ``decay``, lower in the first steps so that the random head's
    start fades fast) and writes it into the model when training ends."""

    def __init__(self, decay: float) -> None:
        self.decay = decay
        self.average: dict[str, torch.Tensor] = {}

    def on_train_begin(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
        saved = Path(args.output_dir, f"checkpoint-{state.global_step}", FILE)
        loaded = torch.load(saved, map_location="cpu") if state.global_step and saved.is_file() else {}
        self.average = {
            name: loaded[name].to(p.device) if name in loaded else p.detach().float().clone()
            for name, p in _trained(model)
        }

    def on_step_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
        rate = min(self.decay, (1 + state.global_step) / (10 + state.global_step))
        with torch.no_grad():
            for name, parameter in _trained(model):
                self.average[name].lerp_(parameter.detach().float(), 1 - rate)

    def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
        if state.is_world_process_zero:
            torch.save(self.average, Path(args.output_dir, f"checkpoint-{state.global_step}", FILE))

    def on_train_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
        with torch.no_grad():
            for name, parameter in _trained(model):
                parameter.copy_(self.average[name])


def _trained(model: torch.nn.Module):  # noqa: ANN202
    return ((n, p) for n, p in model.named_parameters() if p.requires_grad)
