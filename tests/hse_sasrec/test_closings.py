"""The notebooks' closing cells quote this run's numbers, and say when BERT4Rec stopped still improving."""

import polars as pl

from solutions.hse_sasrec import pipeline, plots

TABLE = pl.DataFrame(
    {
        "model": ["random", "popularity", "slim", "als", "itemknn", "sasrec", "bert4rec", "reranker", "oracle"],
        "hitrate": [0.01, 0.05, 0.15, 0.12, 0.09, 0.55, 0.30, 0.53, 0.60],
        "ndcg": [0.004, 0.02, 0.07, 0.06, 0.04, 0.33, 0.15, 0.31, 0.40],
    }
)


def test_closings_quote_the_run():
    record = {"best_epoch": 30, "epochs": [{}] * 30, "seconds_per_epoch": 2.61, "device": "cpu"}
    text = plots.closing_bert4rec(TABLE, record, pipeline.SOURCE, True).data
    assert "HitRate@10 0.300 against SASRec's 0.550" in text and "0.1957 against 0.3013" in text
    assert "under-trained" in text
    text = plots.closing_bert4rec(TABLE, {**record, "best_epoch": 12}, pipeline.SOURCE, True).data
    assert "under-trained" not in text and "kept epoch 12 of 30" in text
    text = plots.closing_sasrec(TABLE, record, pipeline.SOURCE["SASRec final (holdout)"], True).data
    assert "HitRate@10 0.550 and NDCG@10 0.330" in text and "scored 0.3013" in text and "reaches 0.600" in text
    text = plots.closing_classic(TABLE, pipeline.SOURCE, True).data
    assert (
        "SLIM scores HitRate@10 0.150, ALS 0.120, ItemKNN 0.090 (the team, real data: 0.0866, 0.0826, 0.0598)" in text
    )
    assert "did not run" in plots.closing_classic(None, pipeline.SOURCE, True).data
    text = plots.closing_reranker(TABLE, 0.71, True).data
    assert "0.530 and does not beat SASRec alone (0.550)" in text and "recall@50, 0.710" in text
    assert "`sasrec` (0.550)" in plots.closing_submission(TABLE, True).data
