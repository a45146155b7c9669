"""VK Clips (AI VK Challenge 2024): rank each test user's 20 clips, dislike < ignore < like.
DCNv2 with reaction-history features, the official ALS baseline and a sequence model."""

from shared.track.contract import Track

TRACK = "vk_clips"
CONTRACT = Track.of_package(  # what the tools read of this track (shared.track.contract)
    TRACK,
    reading_order=3,
    reading_why="VK Clips: a per-user ROC-AUC over three ordered classes, and paired comparisons on drawn labels",
    scales=("tiny", "small", "medium", "full"),
    gpu_scale="medium",
    seed_study=True,
)
