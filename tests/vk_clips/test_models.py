"""The sequence model's inputs: its training windows (each event predicted once, from earlier
events of the same user only) and its watch-time buckets, against brute-force references."""

import numpy as np
import pytest

from solutions.vk_clips import models


def _windows_by_brute_force(users: np.ndarray, max_len: int) -> dict[int, tuple[int, list[int]]]:
    """Row -> (its user's window start inside the user's history, the rows in view before it), by walking
    each user's history in file order with the stride max_len / 2."""
    half, out = max_len // 2, {}
    for u in np.unique(users):
        rows = list(np.flatnonzero(users == u))
        starts = [0] if len(rows) <= max_len else list(range(0, len(rows) - max_len + half, half))
        for w, s in enumerate(starts):
            window = rows[s : s + max_len]
            first = 1 if w == 0 else half
            for p in range(first, len(window)):
                out[window[p]] = (s, window[:p])
    return out


@pytest.mark.parametrize("max_len", [2, 4, 6])
def test_every_event_but_a_users_first_is_predicted_once_from_its_own_past(max_len):
    rng = np.random.default_rng(3)
    users = rng.integers(0, 7, size=120)  # interleaved users, lengths from a few to many windows
    rows, predict = models.training_windows(users, max_len)
    predicted = rows[predict]
    firsts = {int(np.flatnonzero(users == u)[0]) for u in np.unique(users)}
    assert sorted(predicted.tolist()) == sorted(set(range(len(users))) - firsts)  # each once, none missing
    reference = _windows_by_brute_force(users, max_len)
    for w, p in zip(*np.nonzero(predict)):
        row = rows[w, p]
        before = rows[w, :p]
        assert (before >= 0).all() and (users[before] == users[row]).all()  # only the same user's events
        assert (before < row).all() and (np.diff(rows[w][rows[w] >= 0]) > 0).all()  # earlier ones, in order
        assert before.tolist() == reference[row][1]  # exactly the events the stride puts in view
        if reference[row][0] > 0:
            assert p >= max_len // 2  # a later window predicts only its second half: max_len / 2 events in view


def test_a_short_history_is_one_padded_window():
    users = np.array([5, 5, 5])
    rows, predict = models.training_windows(users, 8)
    assert rows.tolist() == [[0, 1, 2, -1, -1, -1, -1, -1]]
    assert predict.tolist() == [[False, True, True, False, False, False, False, False]]


def test_timespent_buckets_are_quarter_octaves_of_the_share_watched():
    duration = np.full(7, 20.0)
    timespent = np.array([20.0, 40.0, 10.0, 20 * 2**0.26, 20 * 2**-0.25 * 0.999, 0.0, 1e9])
    buckets = models.timespent_bucket(timespent, duration)
    # watched to the end -> 16; twice -> 20; half -> 12; a quarter octave more -> 17, just under less -> 14;
    # nothing and an absurd replay are clipped to the ends
    assert buckets.tolist() == [16, 20, 12, 17, 14, 0, models.TIMESPENT_BUCKETS - 1]
    assert models.timespent_bucket(np.array([5.0]), np.array([0.0])).tolist() == [
        models.timespent_bucket(np.array([5.0]), np.array([1.0]))[0]
    ]  # a zero duration reads as one second, not a division by zero
