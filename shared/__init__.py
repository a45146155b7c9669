"""Small helper package shared by every track: paths, seeding, metrics, submission IO,
the notebook runner, synthetic-twin building blocks, the benchmark stage timer, and the track
contract (``shared.contract``: what a track declares once) with its registry (``shared.tracks``).

Importing it pins the CPU dispatch and thread counts first (``shared.dispatch``), before any
numeric library is loaded."""

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
