from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from kzner.config import ConfigError, load_config
from kzner.weight_average import FILE, WeightAverage

ROOT = Path(__file__).resolve().parents[1]


def model() -> torch.nn.Module:
    layers = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Linear(2, 1))
    layers[0].requires_grad_(False)  # frozen, as the embeddings and lowest layers are
    return layers


def run(callback: WeightAverage, net: torch.nn.Module, folder: Path, steps: range, values: list[float]):
    """Training as the callback sees it: after each step the trainable
    weights hold the next value; a checkpoint after every step."""
    args = SimpleNamespace(output_dir=str(folder))
    state = SimpleNamespace(global_step=steps.start, is_world_process_zero=True)
    callback.on_train_begin(args, state, None, model=net)
    for step, value in zip(steps, values, strict=True):
        with torch.no_grad():
            for p in net[1].parameters():
                p.fill_(value)
        state.global_step = step + 1
        callback.on_step_end(args, state, None, model=net)
        (folder / f"checkpoint-{step + 1}").mkdir(parents=True)
        callback.on_save(args, state, None)
    callback.on_train_end(args, state, None, model=net)


def test_the_average_replaces_the_last_weights_and_frozen_ones_stay(tmp_path: Path) -> None:
    net = model()
    frozen = net[0].weight.clone()
    with torch.no_grad():
        net[1].weight.fill_(0.0)
        net[1].bias.fill_(0.0)
    values = [1.0, 2.0, 3.0, 4.0]
    run(WeightAverage(0.5), net, tmp_path, range(4), values)
    expected = 0.0
    for step, value in enumerate(values, start=1):
        rate = min(0.5, (1 + step) / (10 + step))  # the early steps' lower rate is below 0.5 here
        expected = rate * expected + (1 - rate) * value
    assert torch.allclose(net[1].weight, torch.full_like(net[1].weight, expected))
    assert expected not in (values[-1], sum(values) / len(values))  # neither the last nor a plain mean
    assert torch.equal(net[0].weight, frozen)


def test_resuming_from_a_checkpoint_goes_on_averaging(tmp_path: Path) -> None:
    values = [1.0, 5.0, -2.0, 7.0, 3.0]
    whole, resumed = model(), model()
    resumed.load_state_dict(whole.state_dict())
    run(WeightAverage(0.9), whole, tmp_path / "whole", range(5), values)
    run(WeightAverage(0.9), resumed, tmp_path / "resumed", range(3), values[:3])
    with torch.no_grad():  # the weights the checkpoint at step 3 holds
        for p in resumed[1].parameters():
            p.fill_(values[2])
    fresh = model()  # without the saved average, the resumed run starts it again from the weights
    fresh.load_state_dict(resumed.state_dict())
    assert (tmp_path / "resumed" / "checkpoint-3" / FILE).is_file()
    run(WeightAverage(0.9), resumed, tmp_path / "resumed", range(3, 5), values[3:])
    assert torch.allclose(whole[1].weight, resumed[1].weight)
    run(WeightAverage(0.9), fresh, tmp_path / "fresh", range(3, 5), values[3:])
    assert not torch.allclose(whole[1].weight, fresh[1].weight)


def test_weight_average_with_keep_best_is_refused() -> None:
    with pytest.raises(ConfigError, match="train.weight_average"):
        load_config(ROOT / "configs" / "smoke.yaml", ["train.weight_average=0.99", "train.keep=best"])
