"""VK-Lab posts (autumn 2024 test task): the rate at which a post's views turn into activities,
from its photo and text. Frozen offline encoders (EfficientNet-Lite0, Navec) with small heads
trained on four losses, and CatBoost MultiRMSE over several rates; honest log loss throughout."""

TRACK = "vklab_posts"
READING_ORDER = 4  # its place in the course (shared.tracks.reading_order)
READING_WHY = "VK-Lab posts: rates, log losses and ceilings, the most statistics"
