"""Runtime: what every process needs before its first result. ``dispatch`` (pinned CPU dispatch, thread
counts and OpenMP's wait policy, applied on ``import shared``; standard library only), ``device`` (the
accelerator and its settings), ``seed`` (seeding), ``paths`` (where things live), ``errors`` (one-line
errors), ``progress`` (one progress line). Imports no other layer."""
