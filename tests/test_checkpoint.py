"""``shared.train.checkpoint.Checkpoint``: a run resumes only its own checkpoint, with the random states it
saved, and a toy loop killed mid-way and resumed ends where the uninterrupted loop ends."""

import random

import numpy as np
import torch

from shared.train import checkpoint
from shared.train.checkpoint import Checkpoint


def test_load_restores_the_random_states_and_ignores_another_runs_checkpoint(tmp_path):
    path = tmp_path / "c.pt"
    ckpt = Checkpoint(path, "run a")
    torch.manual_seed(1), np.random.seed(1), random.seed(1)
    ckpt.save({"step": 3})
    expected = (torch.rand(2), np.random.rand(2), random.random())
    torch.manual_seed(9), np.random.seed(9), random.seed(9)  # the process moves on
    assert Checkpoint(path, "run b").load() is None  # other settings: never resumed
    state = Checkpoint(path, "run a").load()
    assert state["step"] == 3 and state["key"] == "run a"
    got = (torch.rand(2), np.random.rand(2), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]
    ckpt.clear()
    assert not path.exists() and Checkpoint(path, "run a").load() is None


def test_due_by_steps_or_by_time(tmp_path, monkeypatch):
    monkeypatch.setenv(checkpoint.STEPS_ENV, "4")
    by_steps = Checkpoint(tmp_path / "s.pt", "k")
    assert [s for s in range(1, 13) if by_steps.due(s)] == [4, 8, 12]
    monkeypatch.delenv(checkpoint.STEPS_ENV)
    assert not Checkpoint(tmp_path / "t.pt", "k", every_s=3600).due(1)
    assert Checkpoint(tmp_path / "t.pt", "k", every_s=0).due(1)


def _toy_loop(path, steps: int, stop_after: int | None = None) -> tuple[list[float], int] | None:
    """A noisy running sum whose every step draws from torch's generator; checkpoints every 2 steps;
    ``stop_after`` abandons the run after that many steps (the kill)."""
    ckpt = Checkpoint(path, "toy")
    state = ckpt.load()
    if state is None:
        torch.manual_seed(0)
        state = {"step": 0, "total": 0.0, "trace": []}
    started = state["step"]
    while state["step"] < steps:
        state["total"] += float(torch.randn(()))
        state["step"] += 1
        state["trace"].append(state["total"])
        if state["step"] % 2 == 0:
            ckpt.save(state)
        if stop_after is not None and state["step"] == stop_after:
            return None
    ckpt.clear()
    return state["trace"], started


def test_a_killed_loop_resumed_ends_as_the_uninterrupted_one(tmp_path):
    whole, started = _toy_loop(tmp_path / "a.pt", 9)
    assert started == 0
    assert _toy_loop(tmp_path / "b.pt", 9, stop_after=5) is None  # killed after step 5: saved at step 4
    torch.manual_seed(123)  # whatever the new process's generator holds
    assert _toy_loop(tmp_path / "b.pt", 9) == (whole, 4)  # resumed at step 4, not started again


def test_a_resumable_loop_restores_model_optimiser_generator_and_state(tmp_path, monkeypatch):
    """``ResumableLoop``, as the three torch loops use it: what it saved at a due step comes back in
    fresh objects (a rerun's), the generator's next draw included; another key resumes nothing."""
    monkeypatch.setenv(checkpoint.STEPS_ENV, "2")

    def fresh(seed):
        torch.manual_seed(seed)
        model = torch.nn.Linear(2, 1)
        return model, torch.optim.Adam(model.parameters(), lr=0.1), torch.Generator().manual_seed(seed)

    model, opt, gen = fresh(0)
    loop = checkpoint.ResumableLoop(Checkpoint(tmp_path / "l.pt", "k"), model, opt, {"step": 0, "losses": []}, gen)
    assert not loop.resume()
    for step in (1, 2, 3):
        loss = model(torch.randn(4, 2, generator=gen)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        loop.state["step"] = step
        loop.state["losses"].append(float(loss))
        loop.save_if_due(step)  # written at step 2 only
        if step == 2:
            weights, draw = (
                model.weight.detach().clone(),
                torch.randn(1, generator=torch.Generator().set_state(gen.get_state())),
            )
    assert not checkpoint.ResumableLoop(Checkpoint(tmp_path / "l.pt", "other"), *fresh(5)[:2], {}).resume()
    model2, opt2, gen2 = fresh(5)
    again = checkpoint.ResumableLoop(Checkpoint(tmp_path / "l.pt", "k"), model2, opt2, {"step": 0}, gen2)
    assert again.resume() and again.state["step"] == 2 and again.state["losses"] == loop.state["losses"][:2]
    assert torch.equal(model2.weight, weights) and torch.equal(torch.randn(1, generator=gen2), draw)
    assert opt2.state_dict()["state"][0]["step"] == 2  # Adam's moments too
    assert 0.0 < again.before <= again.seconds()
    again.finish()
    assert not (tmp_path / "l.pt").exists()
