"""Code shared by the benchmark scripts and the tests, kept out of the installed package: no command uses it.

* :mod:`.top`, :mod:`.toptw`: published Team Orienteering instances (with and without time windows) read
  as :class:`~patrol_planner.routing.PatrolProblem` and scored;
* :mod:`.dosage_sim`: simulated GPS tracks with known answers for the dosage measurement;
* :mod:`.calibration`: A/A and planted-effect calibration of the place-day evaluation;
* :mod:`.feedback_sim`: the two-area patrol feedback-loop simulation.

A benchmark run as ``python benchmarks/NAME.py`` has ``benchmarks/`` on ``sys.path`` already; the tests
add it in ``tests/conftest.py``. Both import ``benchlib.<module>``.
"""
