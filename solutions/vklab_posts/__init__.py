"""VK-Lab posts (autumn 2024 test task): the rate at which a post's views turn into activities,
from its photo and text. Frozen offline encoders (EfficientNet-Lite0, Navec) with small heads
trained on five losses, and CatBoost MultiRMSE over several rates; honest log loss throughout."""

from shared.track.contract import Track

TRACK = "vklab_posts"
CONTRACT = Track.of_package(  # what the tools read of this track (shared.track.contract)
    TRACK,
    reading_order=4,
    reading_why="VK-Lab posts: rates, log losses and ceilings, the most statistics",
    scales=("tiny", "small", "full"),
    gpu_scale="full",
)
