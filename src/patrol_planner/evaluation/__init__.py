"""Evaluation of a hot-spot programme: did the patrols reduce harm, and who bore them.

Modules: :mod:`.design` (re-drawing schedules with the programme's design), :mod:`.placeday` (spot-day
table), :mod:`.countmodel` (fixed-effects rate ratio), :mod:`.randomisation` (randomisation test),
:mod:`.dosage` (GPS minutes present), :mod:`.monthpanel` (month-level spot-and-control x month panel, the
headline with police.uk months), :mod:`.wdd` (controls matched on history; the descriptive WDD),
:mod:`.equity` (patrol minutes by deprivation decile), :mod:`.verdict` (plain words), :mod:`.run`
(choosing and running the analysis), :mod:`.report` (the HTML page and files), :mod:`.charts`.
"""

from patrol_planner.evaluation.design import Design, KOfNDailyDesign, k_of_n_design_from_schedule
from patrol_planner.evaluation.run import Evaluation, EvaluationParams, evaluate

__all__ = ["Design", "Evaluation", "EvaluationParams", "KOfNDailyDesign", "evaluate", "k_of_n_design_from_schedule"]
