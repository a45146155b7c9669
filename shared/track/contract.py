"""The track contract: what a track declares once, and what the tools read from it.

A track is a folder of numbered notebooks ``notebooks/<name>/`` and a package ``solutions/<name>/``
whose ``__init__.py`` holds one ``Track`` named ``CONTRACT``. The tools (the registry in
``shared.track.registry``, the book, the answers, the GPU check, the seed studies, ``make bench``)
ask that object for the track's place in the course, its scales, its config class, its exercises,
its figures, its GPU checks, its seed summary, its calibration and its benchmark options: they never
look a function up by its name in a module, so a track that does not offer one says so (``None``)
instead of being probed with ``hasattr``.

The package's ``__init__`` stays light (a notebook kernel and ``make book`` import it): each
hook that needs the track's heavy modules is a ``lazy`` reference, imported when first called.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

# One vocabulary: the names under which every track's ``pipeline`` module does the same jobs
# (tests/test_tracks.py holds each track to it). The tools call only ``bench_options`` (through
# ``Track.bench_command``) and ``main`` (``make bench`` runs the module); the rest is what a reader of
# one track finds again in the next, and what a new track offers.
PIPELINE_VOCABULARY = {
    "Config": "its TrackConfig subclass: scale, data folder, seed, profile, every knob",
    "MODELS": "the rows of its comparison table, in order (baselines first, the oracle last)",
    "OURS": "the row beyond the source, written beside the submission",
    "run": "the whole pipeline, one row after another: returns the comparison table",
    "save_outputs": "saves what a row computed (scores, lists, predictions) in the run's artifacts",
    "load_outputs": "reads them back: what a later notebook starts from",
    "evaluate": "the comparison table of the rows asked for, from their saved outputs",
    "paired_difference": "row a minus row b, paired by user (or post), with its standard error",
    "write_submission": "the submitted row's file, validated, with its manifest (and ours beside it)",
    "data_facts": "the data's sizes and rates, for the manifest and the README's tables",
    "describe": "the same facts as a table, for the first notebook",
    "bench_options": "what ``make bench`` adds to ``--bench --fresh-twin`` at a scale and device (rows a CPU can time)",
    "cli_parser": "the command line's options, which ``main`` parses",
    "main": "the command line (``python -m solutions.<track>.pipeline``)",
}
# A track whose ``run`` takes ``resume`` names what it keeps:
RESUME_VOCABULARY = {"kept_by_resume": "the rows an earlier run of the same configuration finished"}


@dataclass(frozen=True)
class Lazy:
    """``module.attribute``, imported when first used: a hook of the contract that needs the
    track's heavy modules (torch, Spark) without loading them for the registry."""

    module: str
    attribute: str = ""

    def get(self) -> Any:
        module = importlib.import_module(self.module)
        return getattr(module, self.attribute) if self.attribute else module

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.get()(*args, **kwargs)


def lazy(module: str, attribute: str = "") -> Lazy:
    return Lazy(module, attribute)


@dataclass(frozen=True)
class Track:
    """One track, declared in its package as ``CONTRACT``.

    ``name``: the folder name under ``notebooks/`` and ``solutions/``. ``reading_order`` and
    ``reading_why``: its place in the course and why (the book's home page argues the order from
    them). ``scales``: the twin's scales, smallest first. ``config``: its ``TrackConfig`` subclass.
    ``exercises``: the notebooks' exercises (``shared.course.answers.Exercise``). ``figures``: the module
    whose functions draw the notebooks' figures (their docstrings describe them on the site).
    ``gpu_checks(scale, **sizes) -> {row: run}`` and ``gpu_scale``: what ``make gpu-check`` trains
    (None: the track has no torch model). ``seed_summary(per_seed) -> summary``: the seed study's
    summary table (None: no seed study). ``pipeline``: the module that speaks
    ``PIPELINE_VOCABULARY`` (None: a track without one, such as a toy). ``bench_options(scale, real,
    gpu) -> [option]``: what ``make bench`` adds to the pipeline's ``--bench --fresh-twin`` (None:
    nothing).
    ``calibration``: its twin's ``shared.twin.calibration.Spec`` (the published targets, the
    calibrated parameters, the record; None: a twin not calibrated)."""

    name: str
    reading_order: int
    reading_why: str
    scales: tuple[str, ...]
    config: Lazy
    exercises: Lazy
    figures: Lazy
    gpu_checks: Lazy | None = None
    gpu_scale: str = ""
    seed_summary: Lazy | None = None
    pipeline: Lazy | None = None
    bench_options: Lazy | None = None
    calibration: Lazy | None = None

    def __post_init__(self) -> None:
        if (self.gpu_checks is None) != (not self.gpu_scale):
            raise ValueError(f"{self.name}: gpu_checks and gpu_scale go together")
        if self.gpu_scale and self.gpu_scale not in self.scales:
            raise ValueError(f"{self.name}: gpu_scale {self.gpu_scale!r} is not one of {self.scales}")

    @classmethod
    def of_package(
        cls,
        name: str,
        reading_order: int,
        reading_why: str,
        scales: tuple[str, ...],
        gpu_scale: str = "",
        seed_study: bool = False,
        calibrated: bool = True,
    ) -> Track:
        """The contract of a package laid out as the README's "Layout" says: ``pipeline`` (and its
        ``Config`` and ``bench_options``), ``exercises.EXERCISES``, ``plots``, and, where the track
        has them, ``pipeline.gpu_checks``
        (run at ``gpu_scale``), ``pipeline.seed_summary`` (``seed_study``) and ``calibrate.SPEC``
        (``calibrated``)."""
        pipeline = f"solutions.{name}.pipeline"
        return cls(
            name=name,
            reading_order=reading_order,
            reading_why=reading_why,
            scales=scales,
            config=lazy(pipeline, "Config"),
            exercises=lazy(f"solutions.{name}.exercises", "EXERCISES"),
            figures=lazy(f"solutions.{name}.plots"),
            gpu_checks=lazy(pipeline, "gpu_checks") if gpu_scale else None,
            gpu_scale=gpu_scale,
            seed_summary=lazy(pipeline, "seed_summary") if seed_study else None,
            pipeline=lazy(pipeline),
            bench_options=lazy(pipeline, "bench_options"),
            calibration=lazy(f"solutions.{name}.calibrate", "SPEC") if calibrated else None,
        )

    def missing_vocabulary(self) -> list[str]:
        """The names of ``PIPELINE_VOCABULARY`` (and ``RESUME_VOCABULARY`` where ``run`` resumes)
        that the track's pipeline lacks."""
        if self.pipeline is None:
            return []
        module = self.pipeline.get()
        wanted = dict(PIPELINE_VOCABULARY)
        if hasattr(module, "run") and "resume" in inspect.signature(module.run).parameters:
            wanted |= RESUME_VOCABULARY
        return [name for name in wanted if not hasattr(module, name)]

    def config_class(self) -> type:
        return self.config.get()

    def exercise_list(self) -> Sequence[Any]:
        return self.exercises.get()

    def figure_module(self) -> ModuleType:
        return self.figures.get()

    def gpu_check_runs(self, scale: str | None = None, **sizes: Any) -> dict[str, Callable[[], Any]] | None:
        """``make gpu-check``'s runs at ``scale`` (default ``gpu_scale``), or None without a torch model."""
        return None if self.gpu_checks is None else self.gpu_checks(scale or self.gpu_scale, **sizes)

    def bench_command(self, scale: str, data_dir: str, profile: str, gpu: bool) -> list[str] | None:
        """``make bench``'s command line for this track (after ``python``): its pipeline's CLI with
        ``--bench``, ``--fresh-twin`` on a twin (its stage then times the generation) and the options
        the track asks for at this scale and device, every one visible (None: a track without a
        pipeline)."""
        if self.pipeline is None:
            return None
        real = bool(data_dir)
        extra = [] if self.bench_options is None else list(self.bench_options(scale, real, gpu))
        return [
            *("-m", self.pipeline.module, "--scale", scale, "--data-dir", data_dir),
            *("--profile", profile, "--bench", *([] if real else ["--fresh-twin"]), *extra),
        ]
