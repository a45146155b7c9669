"""Small helper package shared by every track: paths, seeding, metrics, submission IO,
the notebook runner, synthetic-twin building blocks and the benchmark stage timer.

Importing it pins the CPU dispatch and thread counts first (``shared.dispatch``), before any
numeric library is loaded."""
from shared import dispatch as _dispatch

_dispatch.apply()
