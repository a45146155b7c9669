"""The notebooks' closing cells quote this run's numbers."""

import polars as pl

from solutions.vklab_posts import plots

rows = [
    ("open_photo", "constant", 0.1645, 0.0),
    ("open_photo", "cnn-bce", 0.1620, 0.40),
    ("open_photo", "fusion-bce", 0.1618, 0.43),
    ("open_photo", "mlp", 0.1610, 0.50),
    ("open_photo", "ceiling", 0.1595, 0.70),
    ("open_photo", "oracle", 0.1582, 1.0),
]
rows += [
    (t, m, v, g)
    for t in ("like", "comment", "share_to_message")
    for m, v, g in (("constant", 0.0628, 0.0), ("catboost", 0.0616, 0.5), ("oracle", 0.0604, 1.0))
]
TABLE = pl.DataFrame(rows, schema=["target", "model", "logloss", "gap_closed"], orient="row").with_columns(
    reachable_closed=pl.col("gap_closed") / 0.70
)
BEYOND = pl.DataFrame(
    {
        "ours": ["mlp"],
        "against": ["fusion-bce"],
        "gain": [0.0008],
        "se": [0.0003],
        "seconds ours": [12.4],
        "seconds against": [1.25],
    }
)


def test_closings_quote_the_run():
    text = plots.closing_heads(TABLE, "cnn-bce", True).data
    assert "0.1645; `cnn-bce`, chosen on validation, 0.1620: a gain of 0.0025" in text
    assert "closes 40% of the constant-to-oracle gap; the best head on test, `fusion-bce`, 43%" in text
    assert "the ceiling (the true rate averaged over the quality no model sees) closes 70% of it" in text
    assert "`fusion-bce` has closed 61% of what is reachable" in text and "Ours" not in text
    text = plots.closing_heads(TABLE, "cnn-bce", True, BEYOND).data
    assert "gains +0.00080 ± 0.00030 (paired by row, one standard error) over `fusion-bce`: more than two" in text
    assert "trained in 12 s against 1.2 s" in text
    text = plots.closing_heads(TABLE, "cnn-bce", True, BEYOND.with_columns(se=pl.lit(0.0005))).data
    assert "within two standard errors" in text
    text = plots.closing_catboost(TABLE, ("like", "comment"), True).data.split("## Exercises")[0]  # the findings
    assert "like: CatBoost 0.0616 against the constant's 0.0628, 50% of the gap" in text and "share_to" not in text
    ours = pl.DataFrame(
        {
            "target": ["like"] * 3 + ["comment"] * 3,
            "ours": ["catboost-ce", "mlp-text", "blend"] * 2,
            "against": ["catboost"] * 6,
            "gain": [0.00001, 0.00005, 0.00007, 0.00008, 0.00009, 0.00002],
            "se": [0.00001, 0.00003, 0.00002, 0.00001, 0.00001, 0.00002],
        }
    )
    text = plots.closing_catboost(TABLE, ("like", "comment"), True, ours).data
    assert (
        "Ours on like: +0.000070 ± 0.000020 log loss over MultiRMSE (paired by row), more than two standard "
        "errors (`catboost-ce` alone +0.000010, `mlp-text` alone +0.000050)"
    ) in text
    assert "Ours on comment: +0.000020 ± 0.000020 log loss over MultiRMSE (paired by row), within two" in text
    text = plots.closing_predictions(TABLE, "cnn-bce", ("like",), False).data
    assert "open_photo: test log loss 0.1620, the constant 0.1645" in text and "real files" in text
    text = plots.closing_data(23527, 16000, 2000, 4706, 4205, 0.0412, True).data
    assert "23,527 posts" in text and "0.0412" in text and "4,205 posts have no text" in text
