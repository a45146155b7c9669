"""The estimate line before a run, from the times earlier runs recorded on the same device."""

import json

from shared.tools import timing


def test_no_rate_then_the_recorded_one(tmp_path, monkeypatch):
    monkeypatch.setattr(timing, "benchmarks_dir", lambda: tmp_path)
    key = timing.run_key("vk_clips", "source", {"SCALE": "tiny", "DATA_DIR": ""})
    assert key["data"] == "twin tiny" and key["profile"] == "source"
    assert timing.recorded(key) is None
    line = timing.estimate_line(key, None)
    assert line.startswith("estimate: vk_clips, profile source, twin tiny, on ") and line.endswith(
        ": no recorded rate for this device"
    )
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"track": "vk_clips"}))
    timing.record(key, 412.0, None, manifest)
    timing.record({**key, "cpu": "another CPU"}, 5.0, None, manifest)  # another device: never used
    row = timing.recorded(key)
    assert float(row["wall_s"]) == 412.0
    assert timing.estimate_line(key, row).endswith(f": about 7 min (as recorded {row['date']})")
    timing.record(key, 100.0, 412.0, manifest)
    assert float(timing.recorded(key)["wall_s"]) == 100.0  # the latest run of the same key
    assert json.loads(manifest.read_text())["timing"] == {"estimate_s": 412.0, "wall_s": 100.0}
    real = timing.run_key("vk_clips", "source", {"SCALE": "small", "DATA_DIR": "~/data"})
    assert real["data"] == "real" and timing.recorded(real) is None
