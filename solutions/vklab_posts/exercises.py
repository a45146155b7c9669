"""The notebooks' exercises and how to compute their answers (``shared.course.answers``: ``make answers
TRACKS=vklab_posts`` records them in ``benchmarks/answers-vklab_posts.json``).

Each ``run`` works on its own twin under the scratch output folder (``make answers`` points
``RECSYS_OUTPUT_DIR`` at ``.answers/``); a changed model is trained in memory and scored there,
never saved over the lessons' predictions.
"""

from __future__ import annotations

import functools
from dataclasses import replace

import numpy as np
import polars as pl

from shared.course.answers import Exercise
from shared.course.lesson import readme_link
from shared.eval.metrics import paired_difference, rate_metrics
from solutions.vklab_posts import TRACK, models, pipeline

TARGET_A, TARGETS_B = pipeline.TARGET_A, pipeline.TARGETS_B


@functools.cache
def _lesson_run(scale: str, seed: int = 42) -> tuple[pipeline.Config, pipeline.Data, pl.DataFrame]:
    """The lessons' pipeline at ``scale`` (every row of the table), run once for the exercises that read it."""
    cfg = pipeline.Config(scale=scale, seed=seed)
    table = pipeline.run(cfg)
    return cfg, pipeline.load_data(cfg), table


def _logloss(table: pl.DataFrame, target: str, model: str, column: str = "logloss") -> float:
    return float(table.filter((pl.col("target") == target) & (pl.col("model") == model))[column][0])


def _test_rates(cfg, d, model: str, target: str) -> tuple[np.ndarray, np.ndarray]:
    y = d.rates([target])[d.test, 0]
    return y, pipeline.load_outputs(cfg, model).sort("row")[d.test][target].to_numpy()


def _photo_gap(scale: str) -> dict:
    cfg, _, table = _lesson_run(scale)
    head = pipeline.chosen_head(cfg)
    heads = table.filter((pl.col("target") == TARGET_A) & pl.col("model").is_in(pipeline.HEAD_MODELS))
    best = heads.sort("gap_closed", descending=True).row(0, named=True)
    return {
        "head": head,
        "head_closed": _logloss(table, TARGET_A, head, "gap_closed"),
        "best": best["model"],
        "best_closed": best["gap_closed"],
        "ceiling_closed": _logloss(table, TARGET_A, "ceiling", "gap_closed"),
        "constant": _logloss(table, TARGET_A, "constant"),
        "oracle": _logloss(table, TARGET_A, "oracle"),
        "reachable": _logloss(table, TARGET_A, head, "reachable_closed"),
    }


def _few_views(scale: str) -> dict:
    _, d, _ = _lesson_run(scale)
    views = d.frame["view"].to_numpy()
    error = np.abs(d.rates([TARGET_A])[:, 0] - d.truth.sort("row")[TARGET_A].to_numpy())
    low, high = np.quantile(views, [0.25, 0.75])
    err_low, err_high = float(error[views <= low].mean()), float(error[views >= high].mean())
    return {
        "low": float(low),
        "high": float(high),
        "err_low": err_low,
        "err_high": err_high,
        "ratio": err_low / err_high,
        "median": float(np.median(views)),
    }


def _head_epochs(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    f = pipeline.encode(cfg, d)
    y = d.rates([TARGET_A])[:, 0]
    longer = replace(cfg, head_epochs=2 * cfg.head_epochs)
    val, test, best_epoch = {}, {}, {}
    for name in pipeline.HEAD_MODELS:  # trained in memory: the lessons' predictions stay as they are
        head, loss = name.split("-")
        x = pipeline.head_inputs(f, head)
        fit = models.train_head(x[d.fit], y[d.fit], x[d.val], y[d.val], loss, longer.head, cfg.seed)
        val[name], best_epoch[name] = fit.val_logloss[fit.best_epoch], fit.best_epoch
        test[name] = rate_metrics(y[d.test], fit.predict(x[d.test]), models.EPS)["logloss"]
    chosen = min(val, key=lambda k: (val[k], k))
    before = pipeline.chosen_head(cfg)
    heads = cfg.load_training()["heads"]
    return {
        "epochs": cfg.head_epochs,
        "epochs_2": longer.head_epochs,
        "before": before,
        "after": chosen,
        "picks": "again picks" if chosen == before else "now picks",
        "best_epoch_before": heads[before]["best_epoch"],
        "best_epoch_after": best_epoch[chosen],
        "test_before": _logloss(table, TARGET_A, before),
        "test_after": test[chosen],
        "later_stops": sum(best_epoch[n] >= heads[n]["best_epoch"] + 1 for n in val),
        "heads": len(val),
    }


def _shrink(scale: str) -> dict:
    cfg, d, _ = _lesson_run(scale)
    head = pipeline.chosen_head(cfg)
    y, p = _test_rates(cfg, d, head, TARGET_A)
    shrunk = p.mean() + 0.5 * (p - p.mean())
    diff = paired_difference(pipeline.row_losses(y, p), pipeline.row_losses(y, shrunk))
    return {
        "head": head,
        "before": rate_metrics(y, p, models.EPS)["logloss"],
        "after": rate_metrics(y, shrunk, models.EPS)["logloss"],
        "gain": diff["mean"],
        "se": diff["se"],
        "sd_pred": float(p.std()),
        "sd_true": float(d.truth.sort("row")[TARGET_A].to_numpy()[d.test].std()),
    }


def _no_image(scale: str) -> dict:
    cfg, d, table = _lesson_run(scale)
    f = pipeline.encode(cfg, d)
    x_tr, x_te, _ = pipeline.boost_frames(cfg, d, f)
    keep = [c for c in x_tr.columns if not c.startswith("img") and c != "image_class"]
    fit = models.catboost_kfold(
        x_tr[keep], d.rates(TARGETS_B)[d.train], x_te[keep], [], cfg.boost, cfg.seed, loss="MultiRMSE"
    )
    y = d.rates(TARGETS_B)[d.test]
    out = {"dropped": len(x_tr.columns) - len(keep)}
    for k, t in enumerate(TARGETS_B):
        with_img = _logloss(table, t, "catboost")
        without = rate_metrics(y[:, k], fit.test[:, k], models.EPS)["logloss"]
        _, p_with = _test_rates(cfg, d, "catboost", t)
        diff = paired_difference(pipeline.row_losses(y[:, k], fit.test[:, k]), pipeline.row_losses(y[:, k], p_with))
        out |= {
            f"{t}_with": with_img,
            f"{t}_without": without,
            f"{t}_loss": without - with_img,
            f"{t}_se": diff["se"],
            f"{t}_constant": _logloss(table, t, "constant"),
        }
    out["fell"] = sum(out[f"{t}_loss"] < 0 for t in TARGETS_B)
    return out


def _no_image_answer(v) -> str:
    moves = ", ".join(
        f"{t} {v[f'{t}_with']:.6f} to {v[f'{t}_without']:.6f} ({v[f'{t}_loss']:+.6f} ± {v[f'{t}_se']:.6f})"
        for t in TARGETS_B
    )
    within = sum(abs(v[f"{t}_loss"]) <= 2 * v[f"{t}_se"] for t in TARGETS_B)
    fell = sum(v[f"{t}_loss"] < 0 for t in TARGETS_B)
    return (
        f"None loses; the log loss falls for {fell} of the 3. Without its {v['dropped']} image columns (32 "
        "principal components of the photo's "
        f"embedding and its ImageNet class) CatBoost's test log loss moves: {moves}, paired by post; {within} of "
        "the 3 changes lie within two standard errors. On this twin comment and share_to_message do not depend on "
        "the photo at all and like only a little, through its hue (the track README's section "
        f'["The synthetic twin"]({readme_link(TRACK, "the-synthetic-twin")})): the image '
        "columns were mostly noise for the trees to split on."
    )


def _shrink_answer(v) -> str:
    lead = "No: it rises" if v["after"] > v["before"] else "Yes: it falls"
    return (
        f"{lead}, from {v['before']:.5f} to {v['after']:.5f} for `{v['head']}` (a paired change of "
        f"{-v['gain']:+.6f} ± {v['se']:.6f}). Its predictions spread with a standard deviation of "
        f"{v['sd_pred']:.4f}, the twin's true rates with {v['sd_true']:.4f}: a head that spreads less than the "
        "truth is not overconfident, and pulling it towards the mean only throws away what it learned."
    )


def _epochs_answer(v) -> str:
    same = v["after"] == v["before"] and v["best_epoch_after"] == v["best_epoch_before"]
    pick = (
        f"validation picks the same head, `{v['after']}`, at the same epoch {v['best_epoch_after']}"
        if same
        else f"validation picks `{v['after']}` at epoch {v['best_epoch_after']} (it picked `{v['before']}` at "
        f"epoch {v['best_epoch_before']})"
    )
    return (
        f"With {v['epochs_2']} epochs instead of {v['epochs']} {pick}; {v['later_stops']} of the {v['heads']} "
        f"heads keep a later epoch, and the test log loss is {v['test_after']:.5f} against {v['test_before']:.5f}. "
        f"The heads' best epochs come early, so the cap of {v['epochs']} never bound them: early stopping had "
        "already chosen, and more epochs only add ones validation rejects."
    )


def _blend_weights(scale: str) -> dict:
    cfg, d, _ = _lesson_run(scale)
    out = {}
    for t in TARGETS_B:
        y, cb = _test_rates(cfg, d, "catboost-ce", t)
        _, mlp = _test_rates(cfg, d, "mlp-text", t)
        even, tilted = 0.5 * cb + 0.5 * mlp, 0.25 * cb + 0.75 * mlp
        diff = paired_difference(pipeline.row_losses(y, even), pipeline.row_losses(y, tilted))
        out |= {
            f"{t}_even": rate_metrics(y, even, models.EPS)["logloss"],
            f"{t}_tilted": rate_metrics(y, tilted, models.EPS)["logloss"],
            f"{t}_gain": diff["mean"],
            f"{t}_se": diff["se"],
            f"{t}_z": diff["mean"] / diff["se"],
        }
    return out


def _seed_7(scale: str) -> dict:
    out = {}
    for seed in (42, 7):
        cfg, _, table = _lesson_run(scale, seed)
        head = pipeline.chosen_head(cfg)
        out[f"head_{seed}"] = head
        for t in pipeline.TARGETS:
            model = head if t == TARGET_A else "catboost"
            out[f"{t}_{seed}"] = _logloss(table, t, "constant") - _logloss(table, t, model)
    out["kept"] = sum((out[f"{t}_42"] > 0) == (out[f"{t}_7"] > 0) for t in pipeline.TARGETS)
    return out


def _swapped(scale: str) -> dict:
    cfg, d, _ = _lesson_run(scale)
    frame, _ = pipeline.submission_frame(cfg, d)
    rates = pl.DataFrame({"row": d.frame["row"], **dict(zip(pipeline.TARGETS, d.rates().T))})
    joined = frame.join(rates, on="row", suffix="_true")
    out = {}
    for t in pipeline.TARGETS:
        y, p = joined[f"{t}_true"].to_numpy(), joined[t].to_numpy()
        out |= {f"{t}_true": rate_metrics(y, p, models.EPS)["logloss"], f"{t}_swapped": models.swapped_bce(y, p)}
        out[f"{t}_move"] = out[f"{t}_swapped"] - out[f"{t}_true"]
    out["most"] = max(pipeline.TARGETS, key=lambda t: abs(out[f"{t}_move"]))
    return out


EXERCISES = (
    Exercise(
        "01_data",
        1,
        "Before notebook 2, guess how much of the constant-to-oracle log-loss gap a photo model can close "
        "here; write the number down and compare.",
        "Less than most guess. The submitted head `{head}` closes {head_closed:.1%} of the gap (constant "
        "{constant:.4f}, oracle {oracle:.4f}), the best of the source's heads on test, `{best}`, "
        "{best_closed:.1%}. Even the ceiling, the true rate averaged over the post's hidden quality, closes only "
        "{ceiling_closed:.1%}: the rest of the gap is that quality, which no photo shows. Measured against what "
        "is reachable, `{head}` has closed {reachable:.0%}.",
        "small",
        _photo_gap,
    ),
    Exercise(
        "01_data",
        2,
        "Plot open_photo / view against the number of views: how much larger is the error of a rate estimated "
        "from few views?",
        "Over the quarter of posts with at most {low:,.0f} views the observed rate misses the twin's true rate by "
        "{err_low:.4f} on average, against {err_high:.4f} over the quarter with at least {high:,.0f}: "
        "{ratio:.1f} times larger (the median post has {median:,.0f} views). A rate p counted over n views errs "
        "by about sqrt(p (1 - p) / n), so the few-view posts' rates are the noisiest targets, and log loss "
        "weights every post alike.",
        "small",
        _few_views,
    ),
    Exercise(
        "02_image_text_models",
        1,
        "Train the heads with `HEAD_EPOCHS` doubled and predict whether validation still picks the same head.",
        _epochs_answer,
        "small",
        _head_epochs,
    ),
    Exercise(
        "02_image_text_models",
        2,
        "Replace the chosen head's predictions by their mean plus half their deviation from it (shrinkage): "
        "does the test log loss fall? What does that say about the head's calibration?",
        _shrink_answer,
        "small",
        _shrink,
    ),
    Exercise(
        "03_catboost_multitarget",
        1,
        "Drop the image features from CatBoost's input and predict which target loses most.",
        _no_image_answer,
        "small",
        _no_image,
    ),
    Exercise(
        "03_catboost_multitarget",
        2,
        "Blend `catboost-ce` and `mlp-text` with weights 0.25 / 0.75 instead of the plain mean (ours, `blend`): "
        "which rate moves, and is the move larger than its standard error?",
        "Paired gains of 0.25 / 0.75 over the plain mean: like {like_gain:+.7f} ± {like_se:.7f} "
        "({like_z:+.1f} standard errors), comment {comment_gain:+.8f} ± {comment_se:.8f} ({comment_z:+.1f}), "
        "share_to_message {share_to_message_gain:+.8f} ± {share_to_message_se:.8f} "
        "({share_to_message_z:+.1f}). A move of a few standard errors can be real and still far too small to "
        "matter; choosing the weights on test, as this exercise does, would also fit them to its noise.",
        "small",
        _blend_weights,
    ),
    Exercise(
        "04_predictions",
        1,
        "Set `SEED` to 7 and rerun the four notebooks (a new twin, validation carve and models): which of these "
        "gains over the constant keep their sign?",
        "{kept} of the 4 keep their sign. Each submitted model's log-loss gain over the constant, seed 42 then "
        "seed 7: open_photo {open_photo_42:+.5f} (validation chose `{head_42}`) then {open_photo_7:+.5f} "
        "(`{head_7}`), like {like_42:+.5f} then {like_7:+.5f}, comment {comment_42:+.6f} then {comment_7:+.6f}, "
        "share_to_message {share_to_message_42:+.6f} then {share_to_message_7:+.6f}. Another twin, carve and "
        "training move each gain by up to a fifth, never across zero: small gains, but real ones.",
        "small",
        _seed_7,
    ),
    Exercise(
        "04_predictions",
        2,
        "Score `predictions.csv` with the swapped BCE of notebook 2: which target's figure moves most?",
        "`{most}`. True log loss against the swapped BCE: open_photo {open_photo_true:.4f} / "
        "{open_photo_swapped:.4f}, like {like_true:.4f} / {like_swapped:.4f}, comment {comment_true:.5f} / "
        "{comment_swapped:.5f}, share_to_message {share_to_message_true:.5f} / {share_to_message_swapped:.5f}. "
        "The swapped BCE takes the log of the observed rate (clamped at -100 where a rate is 0), so the rarer "
        "the activity, the more its small and zero rates weigh: comment is the rarest of the four, about one "
        "comment per thousand views.",
        "small",
        _swapped,
    ),
)
