"""VK Clips (AI VK Challenge 2024): rank each test user's 20 clips, dislike < ignore < like.
DCNv2 with reaction-history features, the official ALS baseline and a sequence model."""

TRACK = "vk_clips"
READING_ORDER = 3  # its place in the course (shared.tracks.reading_order)
READING_WHY = "VK Clips: a per-user ROC-AUC over three ordered classes, and paired comparisons on drawn labels"
