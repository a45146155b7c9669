"""The notebooks' exercises and how to compute their answers (``shared.course.answers``: ``make answers
TRACKS=hse_sasrec`` records them in ``benchmarks/answers-hse_sasrec.json``).

Each ``run`` works on its own twin under the scratch output folder (``make answers`` points
``RECSYS_OUTPUT_DIR`` at ``.answers/``); a changed model is trained in memory and scored there, never
saved over the lessons' recommendations. Where an exercise asks the learner to edit a preset or a
model's constructor, the run passes the changed preset, or sets the constructor for the length of
the run (``mock.patch``) and puts it back. The three that retrain a sequence model for many epochs
(two heads, BERT4Rec for 60 epochs, mask_prob 0.3: half an hour at ``small`` on 2 cores) run at ``tiny``,
and their answers say so.
"""

from __future__ import annotations

import dataclasses
import functools
from unittest import mock

import polars as pl

from shared.course.answers import Exercise
from shared.eval.metrics import paired_difference, per_user_topn
from shared.runtime.seed import seed_everything
from solutions.hse_sasrec import data, features, models, pipeline


@functools.cache
def _lesson_run(scale: str) -> tuple[pipeline.Config, pipeline.Data, pl.DataFrame]:
    """The lessons' pipeline at ``scale`` (every row, Spark's included), run once: (config, data, table)."""
    cfg = pipeline.Config(scale=scale)
    table = pipeline.run(cfg, resume=True)  # the sequence models an interrupted run finished are kept
    return cfg, pipeline.load_data(cfg), table


def _row(table: pl.DataFrame, model: str, metric: str = "hitrate") -> float:
    return float(table.filter(pl.col("model") == model)[metric][0])


def _per_user(recs: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    return per_user_topn(recs, truth, data.TOP_K)


def _by_length(d: pipeline.Data, step: str, per_user: dict[str, pl.DataFrame]) -> dict:
    """Each model's HitRate@10 over the quarter of users with the shortest history at ``step`` and the
    quarter with the longest."""
    length = d.history(step).group_by("user_id").agg(n=pl.len())
    low, high = length["n"].quantile(0.25), length["n"].quantile(0.75)
    out = {"short": float(low), "long": float(high)}
    for name, frame in per_user.items():
        f = frame.join(length, on="user_id")
        out |= {
            f"{name}_short": float(f.filter(pl.col("n") <= low)["hitrate"].mean()),
            f"{name}_long": float(f.filter(pl.col("n") >= high)["hitrate"].mean()),
        }
    return out


def _train_sasrec(cfg, d, p, name: str) -> models.SeqFit:
    seed_everything(cfg.seed)
    return models.train_sasrec(
        d.split.train,
        d.split.val_gt,
        d.n_items,
        p,
        cfg.seed,
        progress=False,
        resume_dir=cfg.artifacts / "checkpoints" / f"exercise-{name}",
    )


def _popularity(scale: str) -> dict:
    _, _, table = _lesson_run(scale)
    return {"popularity": _row(table, "popularity"), "random": _row(table, "random"), "sasrec": _row(table, "sasrec")}


def _short_histories(scale: str) -> dict:
    cfg, d, _ = _lesson_run(scale)
    n = d.hse.events.group_by("user_id").agg(n=pl.len())["n"]
    truth = d.ground_truth("test")
    per_user = {m: _per_user(pipeline.load_outputs(cfg, m, "test"), truth) for m in ("sasrec", "popularity", "als")}
    return {
        "under_20": int((n < 20).sum()),
        "users": len(n),
        "fewest": int(n.min()),
        "median": float(n.median()),
        **_by_length(d, "test", per_user),
    }


def _sasrec_10(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    fit = _train_sasrec(cfg, d, dataclasses.replace(cfg.sasrec, epochs=10), "sasrec-10")
    recall = [e["recall@10"] for e in fit.epochs]
    lesson = cfg.load_training()["sasrec"]
    recs = models.predict_sasrec(fit, d.history("test"))
    return {
        "best_10": fit.best_epoch,
        "last_gain": recall[-1] - recall[-2],
        "recall_10": recall[-1],
        "best_30": lesson["best_epoch"],
        "epochs_30": len(lesson["epochs"]),
        "recall_30": max(e["recall@10"] for e in lesson["epochs"]),
        "hit_10": models.evaluate(recs, d.ground_truth("test"), d.split.train)["hitrate"],
        "hit_30": _row(table, "sasrec"),
    }


def _half_length(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    p = cfg.sasrec
    fit = _train_sasrec(cfg, d, dataclasses.replace(p, max_len=p.max_len // 2), "sasrec-half")
    truth = d.ground_truth("test")
    half = _per_user(models.predict_sasrec(fit, d.history("test")), truth)
    full = _per_user(pipeline.load_outputs(cfg, "sasrec", "test"), truth)
    diff = paired_difference(half["hitrate"].to_numpy(), full["hitrate"].to_numpy())
    return {
        "len": p.max_len,
        "half": p.max_len // 2,
        "hit": _row(table, "sasrec"),
        "hit_half": float(half["hitrate"].mean()),
        "gain": diff["mean"],
        "se": diff["se"],
        **_by_length(d, "test", {"full": full, "halved": half}),
    }


def _two_heads(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    p = models.SASREC_PRESETS["literature"]
    fit = _train_sasrec(cfg, d, dataclasses.replace(p, heads=2), "literature-2heads")
    truth = d.ground_truth("test")
    two = _per_user(models.predict_sasrec(fit, d.history("test")), truth)
    one = _per_user(pipeline.load_outputs(cfg, pipeline.OURS, "test"), truth)
    diff = paired_difference(two["ndcg"].to_numpy(), one["ndcg"].to_numpy())
    lesson = cfg.load_training()[pipeline.OURS]
    return {
        "ndcg_1": _row(table, pipeline.OURS, "ndcg"),
        "ndcg_2": float(two["ndcg"].mean()),
        "gain": diff["mean"],
        "se": diff["se"],
        "epochs_1": len(lesson["epochs"]),
        "epochs_2": len(fit.epochs),
        "s_1": lesson["seconds_per_epoch"],
        "s_2": fit.seconds_per_epoch,
    }


def _train_bert(cfg, d, p, name: str) -> tuple[models.SeqFit, float]:
    seed_everything(cfg.seed)
    fit = models.train_bert4rec(
        d.split.train,
        d.split.val_gt,
        d.n_items,
        p,
        cfg.seed,
        progress=False,
        resume_dir=cfg.artifacts / "checkpoints" / f"exercise-{name}",
    )
    recs = models.predict_bert4rec(fit, d.history("test"))
    return fit, models.evaluate(recs, d.ground_truth("test"), d.split.train)["hitrate"]


def _bert_60(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    fit, hit = _train_bert(cfg, d, dataclasses.replace(cfg.bert4rec, epochs=60), "bert4rec-60")
    recall = [e["recall@10"] for e in fit.epochs]
    return {
        "hit_30": _row(table, "bert4rec"),
        "hit_60": hit,
        "sasrec": _row(table, "sasrec"),
        "best": fit.best_epoch,
        "recall_30": recall[29],
        "recall_60": recall[-1],
        "last_10": recall[-1] - recall[-11],
    }


def _mask_03(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    fit, hit = _train_bert(cfg, d, dataclasses.replace(cfg.bert4rec, mask_prob=0.3), "bert4rec-mask03")
    lesson = cfg.load_training()["bert4rec"]["epochs"]
    at = {k: (lesson[k - 1]["recall@10"], fit.epochs[k - 1]["recall@10"]) for k in (5, 15, 30)}
    return {
        "hit_015": _row(table, "bert4rec"),
        "hit_03": hit,
        **{f"recall_{k}_015": a for k, (a, _) in at.items()},
        **{f"recall_{k}_03": b for k, (_, b) in at.items()},
    }


def _classic_variant(cfg, d, name: str, factory) -> pl.DataFrame:
    """``name`` refitted on Spark with ``factory()`` as its model: its validation-step recommendations."""
    original = models.classic_model
    with mock.patch.object(models, "classic_model", lambda n, seed: factory() if n == name else original(n, seed)):
        out, _ = models.train_classic(name, d.split.train, {"val": d.history("val")}, cfg.seed)
    return out["val"]


def _als_20(scale: str) -> dict:
    cfg, d, _ = _lesson_run(scale)
    from replay.models import ALSWrap

    recs = _classic_variant(cfg, d, "als", lambda: ALSWrap(rank=20, implicit_prefs=True, seed=cfg.seed))
    truth = d.ground_truth("val")
    before = models.evaluate(pipeline.load_outputs(cfg, "als", "val"), truth, d.split.train)
    after = models.evaluate(recs, truth, d.split.train)
    return {
        "hit_100": before["hitrate"],
        "hit_20": after["hitrate"],
        "ndcg_100": before["ndcg"],
        "ndcg_20": after["ndcg"],
        "coverage_100": before["coverage"],
        "coverage_20": after["coverage"],
    }


def _knn_20(scale: str) -> dict:
    cfg, d, _ = _lesson_run(scale)
    from replay.models import ItemKNN

    recs = _classic_variant(cfg, d, "itemknn", lambda: ItemKNN(num_neighbours=20))
    truth = d.ground_truth("val")
    lengths = {}
    for name, r in (("100", pipeline.load_outputs(cfg, "itemknn", "val")), ("20", recs)):
        n = r.group_by("user_id").len("n")
        users = truth.select("user_id").join(n, on="user_id", how="left").fill_null(0)
        lengths |= {
            f"short_{name}": int((users["n"] < data.TOP_K).sum()),
            f"empty_{name}": int((users["n"] == 0).sum()),
            f"hit_{name}": models.evaluate(r, truth, d.split.train)["hitrate"],
            f"coverage_{name}": models.evaluate(r, truth, d.split.train)["coverage"],
        }
    return {"users": truth.height, **lengths}


def _rerank(cfg, d, frames: dict[str, pl.DataFrame], drop=()) -> float:
    columns = [c for c in features.feature_columns(frames["val"].drop("label")) if c not in drop]
    fit = models.train_reranker(frames["val"], columns, cfg.seed)
    recs = models.rerank(fit.booster, frames["test"], columns)
    return models.evaluate(recs, d.ground_truth("test"), d.split.train)["hitrate"]


def _no_sasrec_features(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    drop = ("sasrec_score", "sasrec_rank", "sasrec_gap")
    return {
        "with": _row(table, "reranker"),
        "without": _rerank(cfg, d, pipeline.reranker_frames(cfg, d), drop),
        "sasrec": _row(table, "sasrec"),
        "dropped": len(drop),
    }


def _candidates_25(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    frames = {s: f.filter(pl.col("sasrec_rank") <= 25) for s, f in pipeline.reranker_frames(cfg, d).items()}
    recall = {
        k: float(
            pipeline.load_outputs(cfg, "sasrec50", "test")
            .filter(pl.col("rank") <= k)
            .join(d.ground_truth("test"), on=["user_id", "item_id"], how="semi")
            .height
            / d.ground_truth("test").height
        )
        for k in (25, 50)
    }
    return {
        "hit_50": _row(table, "reranker"),
        "hit_25": _rerank(cfg, d, frames),
        "sasrec": _row(table, "sasrec"),
        "recall_25": recall[25],
        "recall_50": recall[50],
    }


def _submit_reranker(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    diff = pipeline.paired_difference(cfg, d, "reranker", "sasrec")
    return {
        "sasrec": _row(table, "sasrec"),
        "reranker": _row(table, "reranker"),
        "gain": diff["hitrate"],
        "se": diff["hitrate_se"],
    }


def _faithful_history(scale: str) -> dict:
    cfg, d, _ = _lesson_run(scale)
    hidden = {r["history"]: r for r in pipeline.hidden_next(cfg, d).iter_rows(named=True)}
    full, faithful = (pipeline.load_outputs(cfg, "sasrec", s) for s in ("submit", "submit_faithful"))
    kept = full.join(faithful, on=["user_id", "item_id"], how="semi").group_by("user_id").len("kept")
    changed = (
        full.select("user_id")
        .unique()
        .join(kept, on="user_id", how="left")
        .fill_null(0)
        .with_columns(changed=data.TOP_K - pl.col("kept"))
    )
    last = d.hse.events.group_by("user_id").agg(n=pl.len())
    changed = changed.join(last, on="user_id")
    low, high = changed["n"].quantile(0.25), changed["n"].quantile(0.75)
    return {
        "full": hidden["full"]["hitrate"],
        "faithful": hidden["faithful"]["hitrate"],
        "changed": float(changed["changed"].mean()),
        "all_changed": float((changed["changed"] == data.TOP_K).mean()),
        "changed_short": float(changed.filter(pl.col("n") <= low)["changed"].mean()),
        "changed_long": float(changed.filter(pl.col("n") >= high)["changed"].mean()),
        "short": float(low),
        "long": float(high),
    }


def _two_se(gain: float, se: float) -> str:
    return "more than two standard errors" if abs(gain) > 2 * se else "within two standard errors"


def _popularity_answer(v) -> str:
    return (
        f"The popularity row scores HitRate@10 {v['popularity']:.3f} on the test step, against random "
        f"{v['random']:.3f} and SASRec {v['sasrec']:.3f}. Every user has already rated many of the famous movies, "
        "and seen movies are removed from their list: what is left at the top of the chart is not what they "
        "watch next."
    )


def _short_answer(v) -> str:
    floor = (
        "none: MovieLens-1M kept only users with at least 20 ratings, and so does the twin"
        if v["under_20"] == 0
        else f"{v['under_20']} of {v['users']:,} (the fewest events a user has is {v['fewest']}, the median "
        f"{v['median']:g}): MovieLens-1M keeps only users with at least 20 ratings, but the competition's "
        f"events.csv goes down to {v['fewest']} (part of each user's ratings was held back for the hidden test), "
        "and the twin copies that floor: the tall first bar of section 1's events-per-user histogram"
    )
    drop = {m: v[f"{m}_long"] - v[f"{m}_short"] for m in ("sasrec", "als", "popularity")}
    worst = max(drop, key=drop.get)
    names = {"sasrec": "SASRec", "als": "ALS", "popularity": "popularity"}
    return (
        f"{floor[0].upper()}{floor[1:]}. Over the quarter of users with the shortest test-step histories (at most "
        f"{v['short']:.0f} events) against the longest (at least {v['long']:.0f}), HitRate@10 is "
        f"{v['sasrec_short']:.3f} / {v['sasrec_long']:.3f} for SASRec, {v['als_short']:.3f} / {v['als_long']:.3f} "
        f"for ALS and {v['popularity_short']:.3f} / {v['popularity_long']:.3f} for popularity. {names[worst]} "
        "suffers most from a short history: a sequence model reads the order of what a user watched, and a short "
        "history gives it little to read. The others do better on short histories, where fewer seen movies are "
        "filtered from the list and the tastes are recent."
    )


def _sasrec_10_answer(v) -> str:
    stop = (
        f"It does not stop: at 10 epochs the best validation recall@10 is the last epoch's ({v['recall_10']:.4f}), "
        f"still {v['last_gain']:+.4f} over the one before."
        if v["best_10"] == 10
        else f"It peaks at epoch {v['best_10']} of 10."
    )
    return (
        f"{stop} The 30-epoch run kept epoch {v['best_30']} of {v['epochs_30']} ({v['recall_30']:.4f}). Test "
        f"HitRate@10: {v['hit_10']:.3f} after 10 epochs, {v['hit_30']:.3f} after 30."
    )


def _half_answer(v) -> str:
    short, long = v["halved_short"] - v["full_short"], v["halved_long"] - v["full_long"]
    who = (
        "about alike, short histories or long"
        if abs(short - long) < 0.01
        else ("the users with the longest histories" if long < short else "the users with the shortest histories")
    )
    return (
        f"With the last {v['half']} movies instead of {v['len']}, HitRate@10 moves from {v['hit']:.3f} to "
        f"{v['hit_half']:.3f} ({v['gain']:+.4f} ± {v['se']:.4f} paired by user, "
        f"{_two_se(v['gain'], v['se'])}). Who loses most: {who}. Over the quarter with the shortest histories "
        f"(at most {v['short']:.0f} events) it is {v['full_short']:.3f} / {v['halved_short']:.3f} (whole window / "
        f"halved, {short:+.3f}), over the longest (at least {v['long']:.0f}) {v['full_long']:.3f} / "
        f"{v['halved_long']:.3f} ({long:+.3f}). Many short-history users had no event cut from their input and "
        f"still lose: `max_len` also cuts every training sequence to {v['half']}, so the model itself changes "
        "(it learns from shorter contexts and fewer positions) for every user, not only the input of the long ones."
    )


def _heads_answer(v) -> str:
    verdict = _two_se(v["gain"], v["se"])
    why = (
        "two 32-wide heads can attend to different earlier movies at once (the latest one, say, and the genre of "
        "the last few); at `tiny`, with few users, the size of the gain is itself uncertain"
        if v["gain"] > 2 * v["se"]
        else "with a hidden size of 64, two heads split it into two 32-wide views: more heads, not more capacity"
    )
    return (
        f"NDCG@10 moves from {v['ndcg_1']:.4f} (1 head) to {v['ndcg_2']:.4f} (2 heads), {v['gain']:+.4f} ± "
        f"{v['se']:.4f} paired by user ({verdict}); early stopping ran {v['epochs_2']} epochs instead of "
        f"{v['epochs_1']}, at {v['s_2']:.1f} s against {v['s_1']:.1f} s an epoch. Why: {why}."
    )


def _bert_60_answer(v) -> str:
    passes = "Yes" if v["hit_60"] > v["sasrec"] else "No"
    return (
        f"{passes}: with 60 epochs BERT4Rec scores HitRate@10 {v['hit_60']:.3f} (30 epochs: {v['hit_30']:.3f}), "
        f"SASRec {v['sasrec']:.3f}. Its validation recall@10 went from {v['recall_30']:.4f} at epoch 30 to "
        f"{v['recall_60']:.4f} at 60, and its best epoch (the one kept) is {v['best']}"
        + (f": it gained nothing after epoch {v['best']}. " if v["best"] < 60 else ": still rising at the last epoch. ")
        + "A masked model learns from the 15 % of positions it hides, so each epoch teaches it less than SASRec's."
    )


def _mask_answer(v) -> str:
    ahead = all(v[f"recall_{k}_03"] > v[f"recall_{k}_015"] for k in (5, 15, 30))
    test = "higher" if v["hit_03"] > v["hit_015"] else "lower"
    return (
        f"{'On validation yes' if ahead else 'On validation not clearly'}: validation recall@10 at epochs 5, 15 and "
        f"30 with mask_prob 0.15 is {v['recall_5_015']:.4f}, {v['recall_15_015']:.4f}, {v['recall_30_015']:.4f}; "
        f"with 0.3 {v['recall_5_03']:.4f}, {v['recall_15_03']:.4f}, {v['recall_30_03']:.4f}. Twice the masked "
        "positions give twice the targets per sequence, though each prediction sees less of its context. On test "
        f"it reads {test}: HitRate@10 {v['hit_03']:.3f} with 0.3 against {v['hit_015']:.3f} with 0.15. At `tiny` "
        "(about 120 users) a few users' hits swing both figures: neither settles the question, which a run at "
        "`small` would."
    )


def _als_answer(v) -> str:
    return (
        f"Validation HitRate@10 {v['hit_100']:.3f} at rank 100, {v['hit_20']:.3f} at rank 20 (NDCG@10 "
        f"{v['ndcg_100']:.4f} against {v['ndcg_20']:.4f}; [coverage](../00_primer.ipynb#coverage) "
        f"{v['coverage_100']:.3f} against "
        f"{v['coverage_20']:.3f}): "
        + (
            "the smaller rank does as well or better; the next movie follows broad tastes that 20 factors hold."
            if v["hit_20"] >= v["hit_100"]
            else "the 80 factors it loses held tastes the next movie follows."
        )
    )


def _rerank_answer(v) -> str:
    moved = v["without"] - v["with"]
    return (
        f"Without `sasrec_score`, `sasrec_rank` and `sasrec_gap` (the score's distance to the user's best) the "
        f"reranker's HitRate@10 moves from {v['with']:.3f} to {v['without']:.3f} (SASRec alone: {v['sasrec']:.3f}): "
        + (
            "the candidate's place in SASRec's list is the reranker's main clue."
            if moved < 0
            else "its other features (popularity, genres, the classic models' scores, BERT4Rec's) carry the same order."
        )
    )


def _candidates_answer(v) -> str:
    diff = v["hit_25"] - v["hit_50"]
    verdict = (
        "about the same: the hits below rank 25 were rarely lifted into the top 10 anyway"
        if abs(diff) < 0.005
        else ("it helps: fewer far-down candidates to lift wrongly into the top 10" if diff > 0 else "it hurts")
    )
    return (
        f"HitRate@10 {v['hit_25']:.3f} on 25 candidates against {v['hit_50']:.3f} on 50 (SASRec alone "
        f"{v['sasrec']:.3f}). The ceiling falls (recall@25 {v['recall_25']:.3f} against recall@50 "
        f"{v['recall_50']:.3f}), and the result is {verdict}."
    )


def _submit_answer(v) -> str:
    beats = "beats" if v["gain"] > 0 else "does not beat"
    return (
        f"HitRate@10 {v['reranker']:.3f} against SASRec's {v['sasrec']:.3f}: {v['gain']:+.4f} ± {v['se']:.4f} "
        f"paired by user ({_two_se(v['gain'], v['se'])}). The reranker learnt from the validation step alone and "
        f"{beats} the model whose candidates it reorders: "
        + (
            "submitting it would be a gain this run can show."
            if v["gain"] > 2 * v["se"]
            else "submitting it would not be a gain this run can show, so SASRec's lists stay."
        )
    )


def _knn_answer(v) -> str:
    return (
        f"Almost no one: of {v['users']:,} validation users {v['short_100']} get fewer than 10 movies with 100 "
        f"neighbours and {v['short_20']} with 20 ({v['empty_100']} and {v['empty_20']} get none); a user rates "
        "dozens of movies, and their neighbours together still fill a list. What shrinks is the catalogue: "
        "[coverage](../00_primer.ipynb#coverage) "
        f"falls from {v['coverage_100']:.3f} to {v['coverage_20']:.3f}, while HitRate@10 moves from "
        f"{v['hit_100']:.3f} to {v['hit_20']:.3f}: each movie's closest neighbours are the ones worth recommending."
    )


def _faithful_answer(v) -> str:
    alike = abs(v["changed_short"] - v["changed_long"]) < 0.5
    return (
        f"It falls from {v['full']:.3f} to {v['faithful']:.3f}. The lists change by {v['changed']:.1f} of 10 movies "
        f"on average ({v['all_changed']:.0%} of users get ten new ones): {v['changed_short']:.1f} for the quarter "
        f"with the shortest histories (at most {v['short']:.0f} events), {v['changed_long']:.1f} for the longest "
        f"(at least {v['long']:.0f}; a submission's history also holds each user's last (test) event, one more "
        "than the test-step histories of notebooks 1 and 2)"
        + (": about alike, whatever the history's length. " if alike else ". ")
        + "The last event is the best single clue to the next one, and leaving it out moves the state every "
        "list is read from."
    )


EXERCISES = (
    Exercise(
        "01_data_and_split",
        1,
        "Predict the HitRate@10 of recommending each user the 10 movies most rated overall, then check it against "
        "notebook 2's popularity row.",
        _popularity_answer,
        "small",
        _popularity,
    ),
    Exercise(
        "01_data_and_split",
        2,
        "Count the users with fewer than 20 events. Which models should suffer most from short histories?",
        _short_answer,
        "small",
        _short_histories,
    ),
    Exercise(
        "02_sasrec",
        1,
        "Train with `SASREC_EPOCHS` 10 and predict where the validation curve stops; compare with the kept epoch.",
        _sasrec_10_answer,
        "small",
        _sasrec_10,
    ),
    Exercise(
        "02_sasrec",
        2,
        "Halve the maximum sequence length in `models.SASREC_PRESETS['cpu']`: which users lose most?",
        _half_answer,
        "small",
        _half_length,
    ),
    Exercise(
        "02_sasrec",
        3,
        "Give the literature preset 2 heads instead of 1 (`models.SASREC_PRESETS['literature']`): predict the "
        "change in NDCG@10 before you run it.",
        _heads_answer,
        "tiny",
        _two_heads,
    ),
    Exercise(
        "03_bert4rec",
        1,
        "Run `BERT4REC_EPOCHS` 60 and predict whether it passes SASRec; check the curve's last epochs.",
        _bert_60_answer,
        "tiny",
        _bert_60,
    ),
    Exercise(
        "03_bert4rec",
        2,
        "Raise `mask_prob` to 0.3 in `models.BERT4REC_PRESETS['cpu']`: does it learn faster per epoch?",
        _mask_answer,
        "tiny",
        _mask_03,
    ),
    Exercise(
        "04_classic_spark",
        1,
        "Set ALS's rank to 20 (`models.classic_model`) and predict its move on the validation step.",
        _als_answer,
        "small",
        _als_20,
    ),
    Exercise(
        "04_classic_spark",
        2,
        "Give ItemKNN 20 neighbours instead of 100 (`num_neighbours` in `models.classic_model`): which users does "
        "it stop reaching?",
        _knn_answer,
        "small",
        _knn_20,
    ),
    Exercise(
        "05_reranker",
        1,
        "Remove the candidate's SASRec features (`sasrec_score`, `sasrec_rank` and `sasrec_gap`) from the columns "
        "`pipeline.train_reranker` gives the model (`features.feature_columns`) and predict the change.",
        _rerank_answer,
        "small",
        _no_sasrec_features,
    ),
    Exercise(
        "05_reranker",
        2,
        "Train and apply the reranker on SASRec's top 25 candidates instead of 50 (keep the rows with "
        "`sasrec_rank <= 25` in both frames of `pipeline.reranker_frames`): does the narrower list help or hurt?",
        _candidates_answer,
        "small",
        _candidates_25,
    ),
    Exercise(
        "06_submission",
        1,
        "Should the reranker's lists be submitted instead of SASRec's? Predict, then compare the two on the test "
        "step, paired by user (`pipeline.paired_difference(cfg, d, 'reranker', 'sasrec')`).",
        _submit_answer,
        "small",
        _submit_reranker,
    ),
    Exercise(
        "06_submission",
        2,
        "Compare the two submission lists this notebook wrote: `pipeline.load_outputs(cfg, 'sasrec', 'submit')` (the "
        "whole history, submitted) and `pipeline.load_outputs(cfg, 'sasrec', 'submit_faithful')` (the team's choice, "
        "without the last event). Which users' lists change most, and by how much does the hidden-next-event "
        "HitRate@10 fall?",
        _faithful_answer,
        "small",
        _faithful_history,
    ),
)
