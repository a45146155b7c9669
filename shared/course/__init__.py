"""The course: ``lesson`` (a notebook's closing cell and code excerpts), ``show`` (the one table
display), ``answers`` (the exercises' recorded answers, and ``make answers``). Imports the layers before it
in ``shared.LAYERS`` (runtime, data, track)."""
