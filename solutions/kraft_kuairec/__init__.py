"""KRAFT on KuaiRec 2.0 small matrix: implicit ALS factors as features for a LightGBM ranker."""

from shared.track.contract import Track

TRACK = "kraft_kuairec"
CONTRACT = Track.of_package(  # what the tools read of this track (shared.track.contract)
    TRACK,
    reading_order=1,
    reading_why=(
        "KRAFT on KuaiRec's fully observed matrix: familiar data and the simplest metrics (precision, recall, NDCG)"
    ),
    scales=("tiny", "small", "full"),
    seed_study=True,
)
