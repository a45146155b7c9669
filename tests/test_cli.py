"""``shared.track.cli``: the options every pipeline shares, the seed list of a seed study, and where a
run's table is recorded."""

from dataclasses import dataclass

import polars as pl
import pytest

from shared.track import cli


def test_pipeline_parser_defaults_and_choices():
    parser = cli.pipeline_parser("doc", ("tiny", "small", "full"))
    args = parser.parse_args([])
    assert (args.scale, args.data_dir, args.seed, args.profile, args.bench) == ("small", "", 42, "teach", False)
    assert parser.parse_args(["--scale", "tiny", "--seed", "7", "--bench"]).seed == 7
    timed = parser.parse_args(["--bench"])
    assert timed.bench and not timed.fresh_twin  # a timer only times: a fresh twin is its own option
    assert parser.parse_args(["--fresh-twin"]).fresh_twin
    with pytest.raises(SystemExit):
        parser.parse_args(["--scale", "medium"])  # not one of this track's scales


def test_model_seeds_put_the_runs_own_seed_first_once():
    assert cli.model_seeds("", 42) == [42]
    assert cli.model_seeds("7,42,11", 42) == [42, 7, 11]


@dataclass
class _Cfg:
    scale: str = "small"
    is_twin: bool = True


def test_record_table_names_the_file_by_track_scale_and_config(tmp_path):
    table = pl.DataFrame({"model": ["a"], "auc": [0.123456789]})
    path = cli.record_table(table, "toy", _Cfg(), "x=1 y/z", tmp_path)
    assert path.name == "toy-small-x=1_y_z.csv"
    assert path.read_text() == "model,auc\na,0.123457\n"  # six decimals
    assert cli.record_table(table, "toy", _Cfg(is_twin=False), "c", tmp_path).name == "toy-real-c.csv"
