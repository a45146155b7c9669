"""Training: ``boosting`` (LightGBM), ``factors`` (implicit's ALS and its settings), ``checkpoint``
(the one resumable-loop state, and Lightning's resume), ``bench`` (the stage timer and its structured
records). Imports ``shared.runtime`` and ``shared.data``."""
