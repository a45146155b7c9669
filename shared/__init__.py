"""Small helper package shared by every track: paths, seeding, metrics, submission IO,
the notebook runner, synthetic-twin building blocks and the benchmark stage timer."""
