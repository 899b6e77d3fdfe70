"""scenario: wire the stages together from a scenario file.

- :mod:`.config`: the TOML scenario as validated parameter objects, resolved once for the pipeline;
- :mod:`.steps`: the stages as a scenario runs them (ingest, hotspots, road networks);
- :mod:`.adapters`: the typed values passed between stages (units and clock, sites, routing problem, plan);
- :mod:`.run`: :func:`run_plan`, the pipeline in order.

See ``docs/architecture.md`` and ``docs/scenarios.md``.
"""

from patrol_planner.scenario.adapters import (
    MAX_SNAP_M,
    SITE_COLUMNS,
    Clock,
    RoutedProblem,
    UnitShift,
    harm_metrics,
    hotspot_statuses,
    problem_from_sites,
    resolve_station,
    site_outcomes,
    sites_from_hotspots,
    unit_plans_from_result,
    units_on_duty,
)
from patrol_planner.scenario.config import (
    ResolvedScenario,
    Scenario,
    UnitConfig,
    load_scenario,
    parse_hhmm,
    parse_window,
    scenario_from_dict,
)
from patrol_planner.scenario.run import (
    PIPELINE_STEPS,
    PlanRun,
    default_scenario_path,
    plan_from_result,
    run_backtest,
    run_plan,
    run_scenario_file,
)
from patrol_planner.scenario.steps import (
    Ingested,
    Scored,
    build_networks,
    cell_labels,
    default_as_of,
    ingest_scenario,
    patrol_relevant,
    score_breakdown,
    score_hotspots,
)

__all__ = [
    "MAX_SNAP_M", "PIPELINE_STEPS", "SITE_COLUMNS", "Clock", "Ingested", "PlanRun", "ResolvedScenario",
    "RoutedProblem", "Scenario", "Scored", "UnitConfig", "UnitShift", "build_networks", "cell_labels",
    "default_as_of", "default_scenario_path", "harm_metrics", "hotspot_statuses", "ingest_scenario",
    "load_scenario", "parse_hhmm", "parse_window", "patrol_relevant", "plan_from_result", "problem_from_sites",
    "resolve_station", "run_backtest", "run_plan", "run_scenario_file", "scenario_from_dict", "score_breakdown",
    "score_hotspots", "site_outcomes", "sites_from_hotspots", "unit_plans_from_result", "units_on_duty",
]
