"""Fitting the training schedule to a time budget (``train.max_minutes``).

``make train`` has 30 minutes on two CPU cores, and CPUs differ threefold:
the default recipe's steps take 11.5 min where the CPU does bf16 natively,
36 min on a 2-core AVX2 CPU in fp32. A recipe cut for the slowest CPU would
cost every machine F1. So the time of a step is measured on this machine
before training, and only where the planned steps would not fit are fewer
planned, before the Trainer exists, so that its warm-up and its decay to
zero run whole over them rather than being stopped half way.

The measurement runs forward and backward passes on batches drawn as
training draws them (windows of like length together), with the Trainer's
precision; it changes no weight, and the Trainer seeds every random stream
again when it is built, so a run whose steps fit is the run without a budget.

Where the whole model's steps would not fit, ``model.layers: auto`` first
keeps only the base model's lowest two thirds of its encoder layers (8 of
e5-small's 12) and times a step again: a slow CPU's minutes buy more steps
of a smaller model, and every later forward pass is cheaper. On a 2-core
AVX2 CPU (fp32), 20 minutes: 8 layers ran 96-100% of the recipe's steps
against 12 layers' 53-71%, KazNERD test 0.889 / 0.891 against 0.883-0.890
(seeds 13 / 14 against six runs), and in leave-one-out on the three reports
0.948 exact against 0.936. Where every step of 12 layers fits, 8 are no
better (KazNERD test 0.895-0.903 against 0.894-0.903), so nothing is cut.

A schedule still cut short also trains without dropout (``train.dropout: auto``):
drawing its masks is 11% of an fp32 step on 2 CPU cores, and a model that
sees each sentence about twice needs no regularising against learning them
too well. On a 2-core AVX2 CPU (fp32), 20 minutes, seeds 13 / 14: 2,000
/ 2,100 steps without dropout against 1,850 / 1,850 with it, KazNERD test
0.884 / 0.883 against 0.876 / 0.880. Where every step fits, dropout stays:
over the whole recipe, off measured 0.891 / 0.891 against 0.903 / 0.899.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from kzner.atomic import atomic_file
from kzner.predict import DTYPES

log = logging.getLogger(__name__)

# Batches timed, after WARMUP untimed passes (the first passes allocate and
# pick kernels): about 30 s on 2 AVX2 cores in fp32.
BATCHES = 40
WARMUP = 2
# Cut schedules are whole multiples of this many steps, so that the noise of
# a timing seldom changes the plan between two runs on one machine.
ROUND = 50


@dataclass(frozen=True)
class Schedule:
    steps: int  # the steps training runs
    planned: int  # the steps the epochs ask for
    seconds_per_step: float | None  # measured on this machine; None where nothing was measured
    dropout: bool = True  # False: switched off to fit a cut schedule (train.dropout: auto)
    layers: int | None = None  # layers kept to fit the budget (model.layers: auto); None: as configured


def fitted_steps(planned: int, seconds_per_step: float, max_minutes: float) -> int:
    """The planned steps, or as many whole ``ROUND``s as the budget holds (at least one step).

    >>> fitted_steps(3604, 0.2, 20), fitted_steps(3604, 0.61, 20), fitted_steps(3604, 90.0, 20)
    (3604, 1950, 13)
    """
    fit = math.floor(max_minutes * 60 / seconds_per_step)
    if fit >= planned:
        return planned
    return max(1, fit - fit % ROUND if fit >= ROUND else fit)


def measure_step(model, dataset, collator, batch_size: int, precision: str, device: torch.device) -> float:
    """Seconds of one training step on ``device``, averaged over ``BATCHES``
    batches of windows of like length (as ``group_by_length`` batches them)
    at evenly spaced quantiles of ``dataset``'s lengths, so that the plan
    rests on this machine's speed, not on a draw of windows (random draws
    of 40 batches measured 0.565-0.634 s on one machine); each step with
    collation, forward and backward passes, gradient clipping and an AdamW
    step at rate 0 (the same work, no weight changed)."""
    by_length = sorted(range(len(dataset)), key=lambda i: len(dataset[i]["input_ids"]), reverse=True)
    wanted = min(len(by_length), batch_size * BATCHES)
    rows = [by_length[int((k + 0.5) * len(by_length) / wanted)] for k in range(wanted)]
    batches = [rows[k : k + batch_size] for k in range(0, len(rows), batch_size)]
    model.to(device)  # where the Trainer puts it
    trained = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trained, lr=0.0)
    autocast = (
        torch.autocast(device.type, dtype=DTYPES[precision])
        if precision != "fp32"
        else contextlib.nullcontext()
    )
    timed = []
    model.train()
    # The longest batch first, untimed, WARMUP times: it allocates what the others reuse.
    for k, chosen in enumerate([batches[0]] * WARMUP + batches):
        started = time.perf_counter()
        batch = collator([dataset[i] for i in chosen])
        with autocast:
            loss = model(**{name: tensor.to(device) for name, tensor in batch.items()}).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trained, 1.0)
        optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        model.zero_grad(set_to_none=True)
        if k >= WARMUP:
            timed.append(time.perf_counter() - started)
    return sum(timed) / len(timed)


def plan(
    planned: int,
    max_minutes: float | None,
    saved: Path,
    resume: bool,
    measure,  # () -> seconds a step; called only where a budget is set and nothing is resumed
    measure_without_dropout=None,  # () -> seconds a step once dropout is off; None: dropout stays
    measure_fewer_layers=None,  # () -> (layers kept, seconds a step), or None if none can go; None: all stay
) -> Schedule:
    """This run's schedule; saved beside its checkpoints, so that ``--resume``
    continues the schedule the run started with, on any machine, with the
    same layers and dropout. Where the steps do not fit, the cheaper steps
    are tried in turn: fewer layers, then no dropout."""
    if resume and saved.is_file():
        return Schedule(**json.loads(saved.read_text(encoding="utf-8")))
    if max_minutes is None:
        schedule = Schedule(planned, planned, None)
    else:
        seconds, dropout, layers = measure(), True, None

        def cut() -> bool:
            return fitted_steps(planned, seconds, max_minutes) < planned

        if cut() and measure_fewer_layers is not None and (fewer := measure_fewer_layers()) is not None:
            log.warning(
                f"train.max_minutes={max_minutes:g}: a step takes {seconds:.2f} s here, too long for "
                f"the {planned:,} planned steps, so only the base model's lowest {fewer[0]} encoder "
                "layers are kept (model.layers: auto)"
            )
            layers, seconds = fewer
        if cut() and measure_without_dropout is not None:
            log.warning(
                f"train.max_minutes={max_minutes:g}: a step takes {seconds:.2f} s here, too long for "
                f"the {planned:,} planned steps, so dropout is off (train.dropout: auto) to fit more"
            )
            seconds, dropout = measure_without_dropout(), False
        schedule = Schedule(
            fitted_steps(planned, seconds, max_minutes), planned, round(seconds, 4), dropout, layers
        )
        if schedule.steps < planned:
            log.warning(
                f"train.max_minutes={max_minutes:g}: a step takes {seconds:.2f} s here, so the "
                f"{planned:,} planned steps would take {planned * seconds / 60:.0f} min; training "
                f"{schedule.steps:,} steps ({schedule.steps / planned:.0%} of the recipe), "
                "the learning-rate schedule fitted to them. Set train.max_minutes: null to train them all."
            )
    with atomic_file(saved) as f:  # whole, also where every torchrun rank writes it
        f.write(json.dumps(asdict(schedule)))
    return schedule
