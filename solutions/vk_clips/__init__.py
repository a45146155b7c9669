"""VK Clips (AI VK Challenge 2024): rank each test user's 20 clips, dislike < ignore < like.
DCNv2 with reaction-history features, the official ALS baseline and a sequence model."""

TRACK = "vk_clips"
