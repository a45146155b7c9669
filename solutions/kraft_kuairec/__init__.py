"""KRAFT on KuaiRec 2.0 small matrix: implicit ALS factors as features for a LightGBM ranker."""

TRACK = "kraft_kuairec"
