"""KRAFT on KuaiRec 2.0 small matrix: implicit ALS factors as features for a LightGBM ranker."""

TRACK = "kraft_kuairec"
READING_ORDER = 1  # its place in the course (shared.tracks.reading_order)
READING_WHY = (
    "KRAFT on KuaiRec's fully observed matrix: familiar data and the simplest metrics (precision, recall, NDCG)"
)
