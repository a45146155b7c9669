"""VK-Lab posts (autumn 2024 test task): the rate at which a post's views turn into activities,
from its photo and text. Frozen offline encoders (EfficientNet-Lite0, Navec) with small heads
trained on four losses, and CatBoost MultiRMSE over several rates; honest log loss throughout."""

from shared.contract import Track, lazy

TRACK = "vklab_posts"
CONTRACT = Track(  # what the tools read of this track (shared.contract)
    name=TRACK,
    reading_order=4,  # its place in the course
    reading_why="VK-Lab posts: rates, log losses and ceilings, the most statistics",
    scales=("tiny", "small", "full"),
    config=lazy(f"solutions.{TRACK}.pipeline", "Config"),
    exercises=lazy(f"solutions.{TRACK}.exercises", "EXERCISES"),
    figures=lazy(f"solutions.{TRACK}.plots"),
    gpu_checks=lazy(f"solutions.{TRACK}.pipeline", "gpu_checks"),
    gpu_scale="full",
)
