"""The track registry: a track is a folder of numbered notebooks; its package says its place in the course."""

import json

from shared import tracks


def _notebook(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))


def test_reading_order_follows_each_package_then_names(tmp_path):
    for track in ("vklab_posts", "kraft_kuairec", "hse_sasrec", "vk_clips", "a_toy_track"):
        _notebook(tmp_path / track / "01_x.ipynb")
    _notebook(tmp_path / ".ipynb_checkpoints" / "01_x.ipynb")  # JupyterLab's, not a track
    # a fifth track without a package (or without READING_ORDER) comes after the others
    assert tracks.reading_order(tmp_path) == ["kraft_kuairec", "hse_sasrec", "vk_clips", "vklab_posts", "a_toy_track"]
    assert tracks.reading_why("a_toy_track") == ""
    assert all(tracks.reading_why(t) for t in tracks.names())


def test_the_course_reads_kraft_first_and_vklab_last():
    order = tracks.reading_order()
    assert order[0] == "kraft_kuairec" and order[-1] == "vklab_posts" and sorted(order) == tracks.names()
