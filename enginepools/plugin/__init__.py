"""The pytest plugin's parts, one concern a module (as pytest-benchmark
splits its plugin).  ``enginepools.pytest_plugin`` is the module pytest
registers (the ``pytest11`` entry point); it exposes the hooks and the
``pool_benchmark`` fixture defined here.

- :mod:`.options`  the ``--ep-*`` options' defaults and parsing
- :mod:`.session`  the run's state: what was benchmarked, the saved run to
  compare with, comparing and saving
- :mod:`.table`    the results table of the terminal summary
- :mod:`.gates`    the gates: ``min_hit_rate``, ``max_retained_bytes``, ``--ep-fail-on``
- :mod:`.fixture`  the ``pool_benchmark`` fixture's object
- :mod:`.hooks`    the pytest hooks

Imports run one way (options <- session <- table <- gates <- fixture;
hooks <- options, session, table) and none of them loads numpy or scipy:
the plugin is loaded into every pytest run.
"""
