"""The notebooks' closing cells quote this run's numbers."""
import polars as pl

from solutions.vklab_posts import plots

rows = [("open_photo", "constant", 0.1645, 0.0), ("open_photo", "cnn-bce", 0.1620, 0.40),
        ("open_photo", "fusion-bce", 0.1618, 0.43), ("open_photo", "oracle", 0.1582, 1.0)]
rows += [(t, m, v, g) for t in ("like", "comment", "share_to_message")
         for m, v, g in (("constant", 0.0628, 0.0), ("catboost", 0.0616, 0.5), ("oracle", 0.0604, 1.0))]
TABLE = pl.DataFrame(rows, schema=["target", "model", "logloss", "gap_closed"], orient="row")


def test_closings_quote_the_run():
    text = plots.closing_heads(TABLE, "cnn-bce", True).data
    assert "0.1645; `cnn-bce`, chosen on validation, 0.1620: a gain of 0.0025" in text
    assert "closes 40% of the constant-to-oracle gap; the best head on test, `fusion-bce`, 43%" in text
    text = plots.closing_catboost(TABLE, ("like", "comment"), True).data
    assert "like: CatBoost 0.0616 against the constant's 0.0628, 50% of the gap" in text and "share_to" not in text
    text = plots.closing_predictions(TABLE, "cnn-bce", ("like",), False).data
    assert "open_photo: test log loss 0.1620, the constant 0.1645" in text and "real files" in text
    text = plots.closing_data(23527, 16000, 2000, 4706, 4205, 0.0412, True).data
    assert "23,527 posts" in text and "0.0412" in text and "4,205 posts have no text" in text
