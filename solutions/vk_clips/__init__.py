"""VK Clips (AI VK Challenge 2024): rank each test user's 20 clips, dislike < ignore < like.
DCNv2 with reaction-history features, the official ALS baseline and a sequence model."""

from shared.contract import Track, lazy

TRACK = "vk_clips"
CONTRACT = Track(  # what the tools read of this track (shared.contract)
    name=TRACK,
    reading_order=3,  # its place in the course
    reading_why="VK Clips: a per-user ROC-AUC over three ordered classes, and paired comparisons on drawn labels",
    scales=("tiny", "small", "medium", "full"),
    config=lazy(f"solutions.{TRACK}.pipeline", "Config"),
    exercises=lazy(f"solutions.{TRACK}.exercises", "EXERCISES"),
    figures=lazy(f"solutions.{TRACK}.plots"),
    gpu_checks=lazy(f"solutions.{TRACK}.pipeline", "gpu_checks"),
    gpu_scale="medium",
    seed_summary=lazy(f"solutions.{TRACK}.pipeline", "seed_summary"),
)
