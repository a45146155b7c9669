"""The helper package every track uses. Its modules, by role (a track's code uses the first five
groups; the tools are the make targets' entry points and no track imports them):

- runtime: ``dispatch`` (pinned CPU dispatch, threads and OpenMP's wait policy, applied on import),
  ``device`` (the accelerator and its settings), ``seed`` (seeding), ``paths`` (where things live),
  ``errors`` (one-line errors), ``progress`` (one progress line).
- data: ``io`` (atomic writes, README sections, the one cache key), ``tables`` (checked CSV
  reading), ``download``, ``submission`` (submission files, the manifest and its ``Report``).
- eval: ``metrics`` (every metric, vectorised; paired differences).
- train: ``boosting`` (LightGBM), ``factors`` (implicit's ALS and its settings), ``checkpoint`` (the one
  resumable-loop state, and Lightning's resume), ``bench`` (the stage timer, its structured records).
- track: ``contract`` (what a track declares once, and the one vocabulary of its pipeline),
  ``tracks`` (the registry), ``config`` (what every ``Config`` shares), ``cli`` (what every pipeline
  CLI shares), ``profiles`` (teach and source), ``twin`` (the twins' building blocks),
  ``calibration`` (fitting a twin to published results), ``lesson`` and ``show`` (closing cells and
  the one table display, in the notebooks), ``answers`` (the exercises' recorded answers).
- tools: ``runner`` (notebooks through papermill), ``report`` and ``reproduce`` (the verdict),
  ``timing``, ``book`` (the course site), ``primer`` (the metric-link check), ``figures`` (every
  README figure's record), ``nbcheck`` (the notebook tests' references), ``gpu_check``, ``sharing``
  (cores shared with other work), ``ci_time``.

Importing it pins the CPU dispatch, thread counts and wait policy first (``shared.dispatch``),
before any numeric library is loaded."""

from shared import dispatch as _dispatch

_dispatch.apply()

# Notebooks draw tqdm's text bars (no ipywidgets: a widget saves as an opaque placeholder); the
# runner keeps each bar's final line. tqdm.auto's warning about it would only print a local path.
import warnings as _warnings

_warnings.filterwarnings("ignore", message="IProgress not found")

# In a notebook kernel, our own errors (missing inputs: "run notebook 02 first") show as one line,
# and every polars table shows through the one table helper (shared.show).
import sys as _sys

if "IPython" in _sys.modules:
    from IPython import get_ipython as _get_ipython

    if _get_ipython() is not None:
        from shared.errors import show_in_one_line as _show_in_one_line
        from shared.show import register as _register_tables

        _show_in_one_line(_get_ipython())
        _register_tables(_get_ipython())
