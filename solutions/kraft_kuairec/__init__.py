"""KRAFT on KuaiRec 2.0 small matrix: implicit ALS factors as features for a LightGBM ranker."""

from shared.contract import Track, lazy

TRACK = "kraft_kuairec"
CONTRACT = Track(  # what the tools read of this track (shared.contract)
    name=TRACK,
    reading_order=1,  # its place in the course
    reading_why=(
        "KRAFT on KuaiRec's fully observed matrix: familiar data and the simplest metrics (precision, recall, NDCG)"
    ),
    scales=("tiny", "small", "full"),
    config=lazy(f"solutions.{TRACK}.pipeline", "Config"),
    exercises=lazy(f"solutions.{TRACK}.exercises", "EXERCISES"),
    figures=lazy(f"solutions.{TRACK}.plots"),
    seed_summary=lazy(f"solutions.{TRACK}.pipeline", "seed_summary"),
)
