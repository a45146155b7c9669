"""HSE RecSys Challenge 2024 (MovieLens-1M re-encoded): top-10 next items per user. RePlay
SASRec and BERT4Rec, classic models on Spark, and a leak-free reranker."""

import warnings

from shared.track.contract import Track

# RePlay imports pyspark when it is installed; pyspark then warns about its own UDF type hints,
# naming a file inside site-packages (no local path belongs in a notebook's output)
warnings.filterwarnings("ignore", message="Cannot infer the eval type from type hints")
# ... and RePlay about the optional optuna it does not need here, and Spark collecting to the driver
warnings.filterwarnings("ignore", message=".*(optuna|collected to master).*")

TRACK = "hse_sasrec"
CONTRACT = Track.of_package(  # what the tools read of this track (shared.track.contract)
    TRACK,
    reading_order=2,
    reading_why="HSE's MovieLens, the best-known data of the field: the next movie of each user, with HitRate and NDCG",
    scales=("tiny", "small", "full"),
    gpu_scale="full",
    seed_study=True,
)
