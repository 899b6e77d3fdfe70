"""The pipeline: a validated :class:`~patrol_planner.scenario.config.Scenario` in, a :class:`Plan` out.

This is the only module that calls every stage. It runs them in order::

    ingest -> HotspotModel.fit/score -> select_hotspots -> build_network -> units_on_duty + Clock
           -> sites_from_hotspots -> problem_from_sites -> solve -> validate -> Plan

with the adapters of :mod:`patrol_planner.scenario.adapters` between the stages.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from patrol_planner.bundled import DEFAULT_SCENARIO, default_scenario_file
from patrol_planner.errors import RoutingError, ScenarioError, TaskInfeasibleError
from patrol_planner.plan import Plan
from patrol_planner.scenario import adapters as ad
from patrol_planner.scenario import steps as st
from patrol_planner.scenario import tasking as tk
from patrol_planner.scenario.config import BacktestConfig, ResolvedScenario, Scenario, load_scenario

Progress = Callable[[str], None]

#: The messages :func:`run_plan` reports, in order (a progress bar can count them).
PIPELINE_STEPS = ("ingesting incidents", "scoring hotspots", "building road networks", "travel times",
                  "solving routes", "assembling the plan")


def default_scenario_path() -> Path:
    """The default scenario: ``scenarios/rutland-night.toml`` in the working folder if there is one, else the
    bundled one (package data in an installed wheel, the repository's file in a source checkout)."""
    local = Path.cwd() / "scenarios" / DEFAULT_SCENARIO
    return local if local.is_file() else default_scenario_file()


@dataclass(frozen=True)
class PlanRun:
    """Everything a plan run produced, for notebooks and tests (the CLI writes ``plan`` only)."""

    scenario: Scenario
    plan: Plan
    ingested: st.Ingested
    cells: pd.DataFrame
    selected: pd.DataFrame
    problem: Any
    result: Any
    timings_s: dict[str, float] = field(default_factory=dict)
    sites: pd.DataFrame | None = None
    units: tuple[ad.UnitShift, ...] = ()
    #: the routing problem with its places (stations, sites, road nodes), for re-plans from the live state
    routed: ad.RoutedProblem | None = None
    #: the road networks by mode, in the incident table's working CRS
    networks: dict[str, Any] = field(default_factory=dict)


class _Steps:
    """Reports each step's message and records its wall time [s] under a key."""

    def __init__(self, progress: Progress | None) -> None:
        self.say = progress or (lambda _msg: None)
        self.timings_s: dict[str, float] = {}

    @contextmanager
    def __call__(self, message: str, key: str) -> Iterator[None]:
        self.say(message)
        t = _time.perf_counter()
        yield
        self.timings_s[key] = self.timings_s.get(key, 0.0) + _time.perf_counter() - t


def run_plan(s: Scenario, *, progress: Progress | None = None, cache_dir: str | Path | None = None,
             previous: Plan | None = None) -> PlanRun:
    """Run the whole pipeline for scenario ``s`` and return the plan with its intermediate values.

    ``previous``: the plan this one re-plans (``plan --previous DIR/plan.json``); its units' stops are kept
    where they still fit unless a change raises harm covered, and ``metrics["replan"]`` counts the changes.

    Raises
    ------
    ScenarioError, RoutingError, InputFileError, NetworkError, HotspotError
        With a message naming the culprit; the CLI turns these into one line and a non-zero exit.
    """
    from patrol_planner import network as nw
    from patrol_planner import routing as rt

    r, step = _check_plannable(s.resolved()), _Steps(progress)
    with step("ingesting incidents", "ingest_s"):
        ing = st.ingest_scenario(r)
    with step("scoring hotspots", "hotspots_s"):
        scored = st.score_hotspots(ing.incidents, r)
    crs = ing.incidents.attrs["crs"]
    with step("building road networks", "network_s"):
        nets = st.build_networks(r.osm, [u.mode for u in s.units], crs=crs, cache_dir=cache_dir)
        nets = tk.avoid_networks(nets, s.exclusions)
        units = ad.units_on_duty(s.units, r.night or scored.as_of.date(), r.tz, nw.police_stations(r.osm))
    with step("travel times", "matrix_s"):
        clock = ad.Clock.for_units(units)
        sites = ad.sites_from_hotspots(scored.selected, s.visits, scored.profile, window=clock.window(units))
        sites, periods = _tasking_sites(s, r, sites, ing, clock, units)
        cover_pts = tk.cover_points(s.cover, s.sectors) if s.cover else {}
        flat = [p for pts in cover_pts.values() for p in pts]
        routed = ad.problem_from_sites(sites, units, clock, nets, crs=crs, extra_points=flat)
        _add_rules(routed, s, cover_pts, previous)
        bad = rt.required_problems(routed.problem, at=lambda t: _hm(clock, t))
        if bad:  # one line per task that cannot be served, before any search
            raise TaskInfeasibleError("\n".join(bad))
    with step("solving routes", "solve_s"):
        result = rt.solve(routed.problem, r.solve_params)
        rt.validate(routed.problem, result)
    with step("assembling the plan", "plan_s"):
        plan = plan_from_result(result, r, ing, scored, routed, units, clock, nets)
        plan = _with_rules(plan, s, routed, result, clock, cover_pts, periods, previous)
    return PlanRun(scenario=s, plan=plan, ingested=ing, cells=scored.cells, selected=scored.selected,
                   problem=routed.problem, result=result, timings_s=step.timings_s, sites=sites, units=units,
                   routed=routed, networks=dict(nets))


def _hm(clock: ad.Clock, t: float) -> str:
    return clock.at(t).strftime("%H:%M")


def _tasking_sites(s: Scenario, r: ResolvedScenario, sites: pd.DataFrame, ing: st.Ingested, clock: ad.Clock,
                   units: tuple[ad.UnitShift, ...]) -> tuple[pd.DataFrame, list[Any]]:
    """Hot-spot sites plus tasks and timed intelligence; no-go periods and sectors applied."""
    parts = [sites.assign(kind="hotspot", label="")]
    if s.tasks:
        parts.append(tk.task_sites(s.tasks, s.units, clock.t0, r.tz))
    if s.intel_visits:
        parts.append(tk.intel_sites(s.intel_visits, ing.incidents, s.hotspots.harm, s.visits.dwell_min, clock.t0,
                                    r.tz))
    ids = [str(x) for p in parts for x in p["site_id"]]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ScenarioError(f"task ids clash with hot-spot or intelligence visit ids: {', '.join(dup)}")
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    periods = tk.exclusion_periods(s.exclusions, clock.window(units), r.tz)
    if s.exclusions:
        out = tk.add_blocked(out, s.exclusions, periods)
    if s.sectors:
        out = tk.add_sectors(out, s.sectors, s.units)
        tk.check_tasks_in_sectors(out)
    return out, periods


def _add_rules(routed: ad.RoutedProblem, s: Scenario, cover_pts: dict[str, Any], previous: Plan | None) -> None:
    """Cover rules and re-plan bonuses on the routing problem."""
    if s.cover:
        rows = iter(routed.extra_rows)
        locs = {name: [next(rows) for _ in pts] for name, pts in cover_pts.items()}
        tk.designate_cover_units(routed.problem, s.cover, locs, s.units)
    if previous is not None:
        tk.add_keep_bonuses(routed.problem, previous, s.solver.solve_params().travel_weight_per_s)


def _with_rules(plan: Plan, s: Scenario, routed: ad.RoutedProblem, result: Any, clock: ad.Clock,
                cover_pts: dict[str, Any], periods: list[Any], previous: Plan | None) -> Plan:
    """The plan with its ``rules`` record and, for a re-plan, ``metrics["replan"]``."""
    import dataclasses

    from patrol_planner import routing as rt

    visits = {v.site_id: (rr.unit_id, v.arrive_s, v.depart_s) for rr in result.routes for v in rr.visits}
    rules: dict[str, Any] = {}
    sites = routed.sites
    for kind, key in (("task", "tasks"), ("intel", "intel_visits")):
        if "kind" not in sites:
            break
        rows = sites[sites["kind"] == kind]
        if len(rows):
            rules[key] = [{"id": str(x.site_id), "label": str(x.label), "window": [clock.at(clock.seconds(w))
                                                                                      for w in x.time_window],
                           "unit": visits.get(x.site_id, (None,))[0],
                           "arrive": clock.at(visits[x.site_id][1]) if x.site_id in visits else None,
                           "depart": clock.at(visits[x.site_id][2]) if x.site_id in visits else None}
                          for x in rows.itertuples(index=False)]
    if s.exclusions:
        rules["exclusions"] = [{"name": e.name, "polygon_lonlat": [list(p) for p in e.polygon],
                                "active": [clock.at(clock.seconds(a)), clock.at(clock.seconds(b))],
                                "avoid_roads": e.avoid_roads} for e, (a, b) in zip(s.exclusions, periods, strict=True)]
    if s.sectors:
        rules["sectors"] = [{"name": x.name, "polygon_lonlat": [list(p) for p in x.polygon],
                             "units": [u.id for u in s.units if u.sector == x.name]} for x in s.sectors]
    if s.cover:
        rules["cover"] = []
        for rule in routed.problem.covers:
            times, count = rt.cover_timeline(routed.problem, result, rule)
            rules["cover"].append({"sector": rule.name, "within_min": rule.within_s / 60, "min_units": rule.min_units,
                                   "points_lonlat": [list(p) for p in cover_pts[rule.name]],
                                   "designated_units": list(rule.unit_ids), "start": clock.at(rule.window_s[0]),
                                   "step_s": 60, "units_within": [int(c) for c in count],
                                   "least_units": int(count.min()) if len(count) else 0})
    metrics = dict(plan.metrics)
    if previous is not None:
        rules["replan"] = tk.replan_changes(previous, plan.units)
        metrics["replan"] = {k: v for k, v in rules["replan"].items() if k != "per_unit"}
    if rules.get("tasks"):
        metrics["tasks_served"] = sum(1 for t in rules["tasks"] if t["unit"])
    prov = dict(plan.provenance)
    if rules:
        prov["ran"] = {**prov.get("ran", {}), "tasking": _tasking_record(routed.problem, result)}
    return dataclasses.replace(plan, rules=rules, metrics=metrics, provenance=prov)


def _tasking_record(problem: Any, result: Any) -> dict[str, Any]:
    """Which searches handled the tasking rules, and why PyVRP did not (for provenance)."""
    from patrol_planner.routing import pyvrp_backend

    why = pyvrp_backend.why_not(problem)
    return {"plan_from": result.stats.get("solver"),
            "rules": ["tasks (required visits in windows)", "allowed units (sectors, task units)",
                      "no-go periods", "response cover (designated units' legs)", "re-plan keep bonus"],
            "handled_by": ["construction and ruin-and-recreate (lns)", "OR-Tools (search = 'ortools')"],
            "pyvrp": "expresses tasks and allowed units; not run: " + ", ".join(why) if why else "can run",
            "checked_by": "routing.validate (tasks, windows, no-go periods, sectors, cover at every minute)"}


def _check_plannable(r: ResolvedScenario) -> ResolvedScenario:
    if not r.scenario.units:
        raise RoutingError(f"scenario {r.name!r} has no units on duty: add at least one [[units]] table")
    if r.osm is None:
        raise ScenarioError(f"scenario {r.name!r}: data.osm (the road network .osm.pbf) is required to plan")
    return r


def plan_from_result(result: Any, r: ResolvedScenario, ing: st.Ingested, scored: st.Scored,
                     routed: ad.RoutedProblem, units: tuple[ad.UnitShift, ...], clock: ad.Clock,
                     nets: dict[str, Any]) -> Plan:
    """The :class:`Plan` of a routing result: unit routes, what became of each hotspot, metrics, provenance.

    Takes the values the earlier steps returned (see :func:`run_plan`); the working CRS is the incident
    table's (``ing.incidents.attrs["crs"]``).
    """
    from patrol_planner.hotspots import cell_polygons_lonlat
    from patrol_planner.hotspots.ranking import ranking_record
    from patrol_planner.provenance import provenance

    s, sel, crs = r.scenario, scored.selected, ing.incidents.attrs["crs"]
    unit_plans = ad.unit_plans_from_result(result, routed, units, clock, nets, crs=crs)
    outcomes = ad.site_outcomes(result, routed)
    labels = st.cell_labels(scored.model, scored.usable, list(sel["cell_id"].astype(str)), scored.as_of)
    inst = scored.institutions
    inst_labels = st.cell_labels(scored.model, ing.incidents, list(inst["cell_id"]), scored.as_of) \
        if len(inst) else {}
    ids = [*sel["cell_id"].astype(str), *inst["cell_id"].astype(str)]
    # One naming call for the plan's cells and the institutions set aside: labels are unique across both.
    names = st.name_cells(ids, [*sel["x_m"], *inst["x_m"]], [*sel["y_m"], *inst["y_m"]],
                          [labels.get(c, "") for c in sel["cell_id"].astype(str)]
                          + [inst_labels.get(c, n) for c, n in zip(inst["cell_id"], inst["name"], strict=True)],
                          r, ing.incidents, scored.model, nets)
    statuses = ad.hotspot_statuses(sel, outcomes, cell_polygons_lonlat(sel, crs), labels,
                                   [st.score_breakdown(row) for _, row in sel.iterrows()],
                                   dict(zip(ids[:len(sel)], names[:len(sel)], strict=True)))
    visited = outcomes[outcomes["visits"] > 0]
    metrics = {
        "hotspots_offered": len(sel), "hotspots_visited": len(visited), "visits": int(visited["visits"].sum()),
        **ad.harm_metrics(routed.sites, result),
        "road_km": round(sum(u.road_m for u in unit_plans) / 1000, 2),
        "travel_min": round(sum(u.travel_s for u in unit_plans) / 60, 1),
        "idle_min": round(sum(u.idle_s for u in unit_plans) / 60, 1),
        "as_of": scored.as_of.isoformat(), "crs": crs,
        "solver": {k: v for k, v in result.stats.items() if k not in ("wall_s",)},
        **ad.reproducibility(result), "search_cut": bool(getattr(result, "search_cut", False)),
        "ingest": {k: ing.report[k] for k in ("rows_read", "rows_loaded", "rows_quarantined", "quarantine_reasons")},
        "records_set_aside": scored.set_aside,
        "institutions_set_aside": st.institutions_set_aside(inst, sel, names[len(sel):]),
    }
    params = s.model_dump(mode="json", exclude={"base_dir"})
    params["hotspot_model"] = {k: (v if isinstance(v, str | int | float | type(None)) else str(v))
                               for k, v in scored.model.get_params().items()}
    prov = provenance([*ing.files, r.osm], params)
    prov["ran"] = ad.ran_record(result, ranking_record(scored.model))
    return Plan(units=unit_plans, hotspots=statuses, metrics=metrics, provenance=prov, title=s.name,
                timezone=s.timezone, base_map=st.base_map(nets))


def run_scenario_file(path: str | Path | None, **kw: Any) -> PlanRun:
    """Load a scenario file (default: the bundled Rutland night) and run the plan."""
    return run_plan(load_scenario(path or default_scenario_path()), **kw)


def run_backtest(s: Scenario) -> pd.DataFrame:
    """Backtest the scenario's hotspot settings against baselines on its incident data."""
    from patrol_planner.hotspots import HotspotModel
    from patrol_planner.hotspots.backtest import backtest

    r = s.resolved()
    ing = st.ingest_scenario(r)
    kw = (s.backtest or BacktestConfig()).model_dump(exclude_none=True)
    return backtest(ing.incidents, **kw, model_params=HotspotModel(**r.hotspot_params).get_params())
