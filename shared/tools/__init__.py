"""The make targets' entry points (``python -m shared.tools.<name>``): ``runner`` (notebooks through
papermill), ``report`` and ``reproduce`` (the verdict), ``timing``, ``book`` (the course site),
``primer`` (the metric-link check), ``benchmark`` (``make bench``), ``figures`` (every README
figure's record), ``nbcheck`` (the notebook tests' references), ``gpu_check``, ``sharing`` (cores
shared with other work), ``ci_time``.
They use the tracks through ``shared.track``; no track imports them."""
