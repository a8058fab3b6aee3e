"""Tests of lmbook.train: batches, schedule, optimizer groups, evaluation, checkpoints,
resuming.
"""

import math
import os

import pytest
import torch

from lmbook import train as tr
from lmbook import transformer as tfm

torch.set_num_threads(1)


def test_get_batch_targets_are_shifted_inputs():
    data = torch.arange(100)
    x, y = tr.get_batch(data, 4, 10, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (4, 10)
    assert torch.equal(y, x + 1)
    assert torch.equal(x[:, 1:], x[:, :-1] + 1)
    with pytest.raises(ValueError, match="fewer than context_length"):
        tr.get_batch(torch.arange(5), 2, 5)
    with pytest.raises(ValueError, match="batch_size"):
        tr.get_batch(data, 0, 5)
    with pytest.raises(TypeError, match="1-D"):
        tr.get_batch(data.view(10, 10), 2, 3)


def test_warmup_cosine_schedule():
    s = tr.WarmupCosine(warmup_steps=10, max_steps=110, min_ratio=0.1)
    assert s(0) == pytest.approx(1 / 11)
    assert all(s(i) < s(i + 1) for i in range(10))
    assert s(10) == pytest.approx(1.0)
    assert s(60) == pytest.approx(0.1 + 0.45 * (1 + math.cos(math.pi / 2)))
    assert s(110) == pytest.approx(0.1) and s(500) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="warmup_steps"):
        tr.WarmupCosine(20, 10)
    with pytest.raises(ValueError, match="min_ratio"):
        tr.WarmupCosine(0, 10, min_ratio=2.0)


def _tiny_model(seed=0, dropout=0.0):
    torch.manual_seed(seed)
    return tfm.GPT(
        tfm.GPTConfig(
            vocab_size=7,
            context_length=8,
            d_model=16,
            num_heads=2,
            num_layers=1,
            dropout=dropout,
        )
    )


def test_configure_optimizer_decays_matrices_only():
    model = _tiny_model()
    opt = tr.configure_optimizer(model, lr=1e-3, weight_decay=0.1)
    decay, no_decay = opt.param_groups
    assert decay["weight_decay"] == 0.1 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(
        p.dim() < 2 for p in no_decay["params"]
    )
    assert (
        sum(p.numel() for g in opt.param_groups for p in g["params"])
        == model.num_parameters()
    )
    with pytest.raises(ValueError, match="lr"):
        tr.configure_optimizer(model, lr=0)
    with pytest.raises(TypeError, match="model"):
        tr.configure_optimizer("model", lr=1e-3)


def test_evaluate_is_the_mean_loss_over_windows():
    model = _tiny_model()
    data = torch.randint(0, 7, (41,), generator=torch.Generator().manual_seed(0))
    by_hand = []
    model.eval()
    with torch.no_grad():
        for i in range(5):
            _, loss = model(
                data[i * 8 : (i + 1) * 8][None], data[i * 8 + 1 : (i + 1) * 8 + 1][None]
            )
            by_hand.append(loss.item())
    assert tr.evaluate(model, data, 8, batch_size=2) == pytest.approx(
        sum(by_hand) / 5, rel=1e-6
    )
    assert tr.evaluate(model, data, 8, max_tokens=17) == pytest.approx(
        sum(by_hand[:2]) / 2, rel=1e-6
    )
    with pytest.raises(ValueError, match="fewer than"):
        tr.evaluate(model, data[:5], 8)


def test_train_config_validation():
    with pytest.raises(ValueError, match="max_steps"):
        tr.TrainConfig(max_steps=0)
    with pytest.raises(ValueError, match="warmup_steps"):
        tr.TrainConfig(max_steps=10, warmup_steps=20)
    with pytest.raises(ValueError, match="dtype"):
        tr.TrainConfig(dtype="float8")
    with pytest.raises(ValueError, match="checkpoint_path"):
        tr.TrainConfig(checkpoint_interval=5)
    with pytest.raises(TypeError, match="TrainConfig"):
        tr.train(_tiny_model(), torch.arange(7), None, {"max_steps": 1})


# a learnable stream: a repeating pattern with every fifth token random
DATA = torch.tensor([0, 1, 2, 3, 4, 5, 6, 4, 2] * 45)
DATA[::5] = torch.randint(
    0, 7, (len(DATA[::5]),), generator=torch.Generator().manual_seed(1)
)


def _config(tmp_path, **kw):
    cfg = dict(
        max_steps=12,
        batch_size=4,
        context_length=8,
        lr=3e-3,
        warmup_steps=3,
        eval_interval=4,
        eval_tokens=None,
        checkpoint_path=str(tmp_path / "ckpt.pt"),
    )
    cfg.update(kw)
    return tr.TrainConfig(**cfg)


def test_training_lowers_the_loss_and_records_history(tmp_path):
    history = tr.train(
        _tiny_model(),
        DATA,
        DATA[:100],
        _config(tmp_path, max_steps=60, eval_interval=20, lr=1e-2),
    )
    assert history["step"] == list(range(1, 61))
    assert history["eval_step"] == [20, 40, 60]
    assert history["val_loss"][-1] < min(
        history["val_loss"][0] - 0.1, math.log(7) - 0.3
    )
    assert history["lr"][2] == pytest.approx(1e-2) and history["lr"][
        -1
    ] == pytest.approx(1e-3)
    assert history["tokens"] == 60 * 4 * 8 and history["tokens_per_s"] > 0


def test_checkpoint_resume_reproduces_the_uninterrupted_run(tmp_path):
    full = tr.train(_tiny_model(dropout=0.1), DATA, DATA[:100], _config(tmp_path / "a"))

    class Interrupt(Exception):
        pass

    def stop_at_7(step, history):
        if step == 7:
            raise Interrupt

    cfg = _config(tmp_path / "b", checkpoint_interval=3)
    with pytest.raises(Interrupt):
        tr.train(_tiny_model(dropout=0.1), DATA, DATA[:100], cfg, callback=stop_at_7)
    saved = torch.load(cfg.checkpoint_path, weights_only=False)
    assert saved["step"] == 6
    torch.manual_seed(123)  # the resumed run must not depend on the state of the world
    resumed = tr.train(
        _tiny_model(seed=99, dropout=0.1), DATA, DATA[:100], cfg, resume=True
    )
    assert resumed["step"] == full["step"]
    assert resumed["train_loss"] == full["train_loss"]  # exactly, step by step
    assert resumed["val_loss"] == full["val_loss"]
    assert not [
        f for f in os.listdir(tmp_path / "b") if f.endswith(".tmp")
    ]  # no temporary files left


def test_save_checkpoint_is_atomic(tmp_path, monkeypatch):
    model = _tiny_model()
    path = tr.save_checkpoint(tmp_path / "m.pt", model=model, step=3, note="first")
    before = path.read_bytes()

    def broken_save(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        tr.save_checkpoint(path, model=model, step=4)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["m.pt"]
    monkeypatch.undo()
    other = _tiny_model(seed=5)
    info = tr.load_checkpoint(path, model=other)
    assert info == {"step": 3, "note": "first"}
    assert all(
        torch.equal(a, b)
        for a, b in zip(model.state_dict().values(), other.state_dict().values())
    )
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        tr.load_checkpoint(tmp_path / "missing.pt", model=other)
    with pytest.raises(TypeError, match="model"):
        tr.save_checkpoint(tmp_path / "x.pt", model=None)


def test_matmul_flops_measures_a_positive_rate():
    from lmbook import train as tr_

    assert tr_.matmul_flops(64, repeats=2, trials=1) > 0


@pytest.mark.parametrize(
    "kwargs", [{"n": 0}, {"repeats": 0}, {"trials": 1.5}, {"n": True}]
)
def test_matmul_flops_rejects_bad_sizes(kwargs):
    from lmbook import train as tr_

    with pytest.raises(ValueError, match="positive int"):
        tr_.matmul_flops(**{"n": 8, **kwargs})
