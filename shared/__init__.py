"""The helper package every track uses, in subpackages by role, each importing only those before it
in ``LAYERS`` (``tests/test_shared_names_no_track.py`` holds that, and that no track imports
``shared.tools``):

- ``shared.runtime``: ``dispatch`` (pinned CPU dispatch, threads and OpenMP's wait policy, applied
  on import), ``device`` (the accelerator), ``seed``, ``paths``, ``errors``, ``progress``.
- ``shared.data``: ``io`` (atomic writes, README sections, the one cache key), ``tables`` (checked
  CSV reading), ``download``.
- ``shared.eval``: ``metrics`` (every metric, vectorised; paired differences).
- ``shared.train``: ``boosting`` (LightGBM), ``factors`` (implicit's ALS), ``checkpoint`` (the one
  resumable-loop state, Lightning's resume), ``bench`` (the stage timer and its records).
- ``shared.twin``: ``blocks`` (the twins' building blocks), ``calibration`` (fitting a twin to
  published results).
- ``shared.track``: ``contract`` (what a track declares once; the one vocabulary of its pipeline),
  ``registry`` (the tracks), ``config``, ``cli``, ``profiles`` (teach and source), ``submission``
  (submission files, the manifest and its validator).
- ``shared.course``: ``lesson`` (closing cells, code excerpts), ``show`` (the one table display),
  ``answers`` (the exercises' recorded answers).
- ``shared.tools``: the make targets' entry points (``runner``, ``report``, ``reproduce``,
  ``timing``, ``book``, ``primer``, ``benchmark``, ``figures``, ``nbcheck``, ``gpu_check``, ``sharing``,
  ``ci_time``); a track's code never imports them.

Each subpackage's docstring says what its modules do. Importing ``shared`` pins the CPU dispatch,
thread counts and wait policy first (``shared.runtime.dispatch``), before any numeric library is
loaded."""

LAYERS = ("runtime", "data", "eval", "train", "twin", "track", "course", "tools")

from shared.runtime import dispatch as _dispatch

_dispatch.apply()

# Notebooks draw tqdm's text bars (no ipywidgets: a widget saves as an opaque placeholder); the
# runner keeps each bar's final line. tqdm.auto's warning about it would only print a local path.
import warnings as _warnings

_warnings.filterwarnings("ignore", message="IProgress not found")

# In a notebook kernel, our own errors (missing inputs: "run notebook 02 first") show as one line,
# and every polars table shows through the one table helper (shared.course.show).
import sys as _sys

if "IPython" in _sys.modules:
    from IPython import get_ipython as _get_ipython

    if _get_ipython() is not None:
        from shared.course.show import register as _register_tables
        from shared.runtime.errors import show_in_one_line as _show_in_one_line

        _show_in_one_line(_get_ipython())
        _register_tables(_get_ipython())
