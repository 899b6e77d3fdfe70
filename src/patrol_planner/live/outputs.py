"""The replay's files: ``summary.json`` (the figures), ``timeline.csv`` (every control event, and the re-plan
it caused with its latency, stops kept and the change in words), ``replans.csv``, ``dose.csv`` (dose and
delivered visits per spot, live and static), ``routes.json`` (the live routes after the last re-plan) and
``quarantine.csv`` (event rows set aside, with reasons). Everything but the latency columns is the same on
every run with the same inputs and seed.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.live.calls import SOURCE as CALLS_SOURCE
from patrol_planner.live.replay import ReplayResult
from patrol_planner.live.state import DELIVERED_SHARE
from patrol_planner.sanitise import spreadsheet_safe

#: Columns that hold measured latencies (they differ between runs; all others do not).
LATENCY_COLUMNS = ("replan_wall_s", "replan_cpu_s", "wall_s", "cpu_s")


def _q(values: list[float], q: float) -> float | None:
    return None if not values else round(float(np.quantile(values, q)), 3)


def replans_frame(res: ReplayResult) -> pd.DataFrame:
    tz = res.ctx.clock.t0.tzinfo
    rows = []
    for i, rp in enumerate(res.replans, start=1):
        visits = sum(len(r.visits) for r in rp.routes.values())
        rows.append({"replan": i, "time": datetime.fromtimestamp(rp.at_s, tz).isoformat(), "trigger": rp.trigger,
                     "units_routed": len(rp.problem.units), "sites_offered": len(rp.problem.sites),
                     "visits_planned": visits, "stops_before": rp.stops_before, "stops_kept": rp.stops_kept,
                     "stops_kept_share": None if rp.kept_share is None else round(rp.kept_share, 4),
                     "spots_dose_delivered": len(rp.removed_dose), "validated": rp.validated,
                     "wall_s": round(rp.wall_s, 3), "cpu_s": round(rp.cpu_s, 3)})
    return pd.DataFrame(rows)


def dose_frame(res: ReplayResult) -> pd.DataFrame:
    ctx = res.ctx
    dl = res.live.state.dose.dose_s  # type: ignore[union-attr]
    ds = res.static.state.dose.dose_s  # type: ignore[union-attr]
    rows = [{"site_id": sid, "kind": s.kind, "prize": round(s.prize, 3), "target_min": round(s.dose_target_s / 60, 1),
             "live_min": round(dl.get(sid, 0.0) / 60, 2), "static_min": round(ds.get(sid, 0.0) / 60, 2),
             "live_visits": res.visits_live.get(sid, 0), "static_visits": res.visits_static.get(sid, 0),
             "cancelled": sid in res.live.state.cancelled} for sid, s in ctx.sites.items()]
    return pd.DataFrame(rows)


def summary_record(res: ReplayResult, *, scenario: str, events_file: str, seed: int) -> dict[str, Any]:
    wall = [rp.wall_s for rp in res.replans]
    cpu = [rp.cpu_s for rp in res.replans]
    kept = [rp.kept_share for rp in res.replans if rp.kept_share is not None]
    q = res.quarantine
    plan_harm = res.ctx.plan.metrics.get("harm_covered") if res.ctx.plan is not None else None
    from patrol_planner.live.state import harm_delivered

    tasks = [k for k, x in res.ctx.sites.items() if x.required and k in res.ctx.added]
    tw_live = harm_delivered(res.ctx, res.live.state.dose.stays(), time_weighted=True)[0]  # type: ignore[union-attr]
    tw_static = harm_delivered(res.ctx, res.static.state.dose.stays(), time_weighted=True)[0]  # type: ignore[union-attr]
    return {
        "scenario": scenario, "events_file": events_file, "seed": seed,
        "harm_delivered_time_weighted_live": round(tw_live, 3),
        "harm_delivered_time_weighted_static": round(tw_static, 3),
        "tasks_added": len(tasks), "tasks_served_live": sum(res.visits_live.get(k, 0) > 0 for k in tasks),
        "tasks_served_static": sum(res.visits_static.get(k, 0) > 0 for k in tasks),
        "control_events": len(res.timeline), "replans": len(res.replans),
        "replans_validated": sum(rp.validated for rp in res.replans),
        "harm_delivered_live": round(res.harm_live, 3), "harm_delivered_static": round(res.harm_static, 3),
        "harm_live_minus_static": round(res.harm_live - res.harm_static, 3),
        "harm_planned_morning": plan_harm,
        "visits_delivered_live": int(sum(res.visits_live.values())),
        "visits_delivered_static": int(sum(res.visits_static.values())),
        "stops_kept_share_mean": None if not kept else round(float(np.mean(kept)), 4),
        "stops_kept_share_min": None if not kept else round(float(np.min(kept)), 4),
        "latency": {"wall_s_p50": _q(wall, 0.5), "wall_s_p95": _q(wall, 0.95), "wall_s_max": _q(wall, 1.0),
                    "cpu_s_p50": _q(cpu, 0.5), "cpu_s_p95": _q(cpu, 0.95), "cpu_s_max": _q(cpu, 1.0)},
        "quarantined": {str(k): int(v) for k, v in q["reason"].value_counts().items()} if len(q) else {},
        "rules": {"delivered_share": DELIVERED_SHARE, "calls_model": CALLS_SOURCE},
    }


def write_replay(res: ReplayResult, stage: Path, *, scenario: str, events_file: str, seed: int) -> dict[str, Path]:
    """Write the replay's files into ``stage`` (an atomic output folder); returns name -> path."""
    out = {}
    summ = summary_record(res, scenario=scenario, events_file=events_file, seed=seed)
    out["summary"] = stage / "summary.json"
    out["summary"].write_text(json.dumps(summ, indent=2, sort_keys=True, allow_nan=False) + "\n")
    out["timeline"] = stage / "timeline.csv"
    spreadsheet_safe(pd.DataFrame(res.timeline)).to_csv(out["timeline"], index=False)
    out["replans"] = stage / "replans.csv"
    replans_frame(res).to_csv(out["replans"], index=False)
    out["dose"] = stage / "dose.csv"
    dose_frame(res).to_csv(out["dose"], index=False)
    out["quarantine"] = stage / "quarantine.csv"
    spreadsheet_safe(res.quarantine).to_csv(out["quarantine"], index=False)
    tz = res.ctx.clock.t0.tzinfo
    routes = {u: {"ready": datetime.fromtimestamp(r.ready_s, tz).isoformat(),
                  "stops": [{"site_id": v.site_id, "visit_no": v.visit_no,
                             "arrive": datetime.fromtimestamp(v.arrive_s, tz).isoformat(),
                             "depart": datetime.fromtimestamp(v.depart_s, tz).isoformat()} for v in r.visits]}
              for u, r in res.live.routes.items()}
    out["routes"] = stage / "routes.json"
    out["routes"].write_text(json.dumps(routes, indent=1, sort_keys=True, allow_nan=False) + "\n")
    return out
