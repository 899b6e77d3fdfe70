"""From presence intervals to spot-time (union over units), visits and the daily figures of each spot.

Input: intervals with ``spot``, ``day``, ``unit``, ``a_s``, ``b_s`` [s since epoch, UTC], already split at
programme-day boundaries (:func:`patrol_planner.dosage.presence.split_at`). The rules are in the docstring
of :mod:`patrol_planner.dosage.presence`; this module is also what the track simulator uses to turn its
ground truth into the same figures, so the tests compare like with like.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Daily figures per spot and programme day.
DAILY_COLUMNS: tuple[str, ...] = ("spot", "day", "minutes_present", "visits", "unit_minutes", "units",
                                  "passing_minutes", "minutes_in_window")
VISIT_COLUMNS: tuple[str, ...] = ("spot", "day", "start_s", "end_s", "present_s", "units", "counted")


def _unions(iv: pd.DataFrame) -> pd.DataFrame:
    """Label each interval with its union stretch (``union``): overlapping or touching intervals of one spot-day."""
    iv = iv.sort_values(["spot", "day", "a_s"], kind="stable").reset_index(drop=True)
    key = iv["spot"].to_numpy(np.int64) * 1_000_003 + iv["day"].to_numpy(np.int64)
    reach = iv.groupby(key, sort=False)["b_s"].cummax().to_numpy()
    first = np.r_[True, key[1:] != key[:-1]]
    new = first | (iv["a_s"].to_numpy() > np.r_[-np.inf, reach[:-1]])
    return iv.assign(union=np.cumsum(new) - 1)


def _bridged(un: pd.DataFrame, apart: np.ndarray, bridges: pd.DataFrame, eps_s: float = 1.0) -> np.ndarray:
    """Positions of unions whose gap from the previous union of the spot-day one bridge covers (within
    ``eps_s`` [s]: the bridge starts at the last ping inside and ends at the next one)."""
    if bridges.empty or not apart.any():
        return np.zeros(0, dtype=np.int64)
    prev_end = np.r_[np.nan, un["end_s"].to_numpy()[:-1]]
    gaps = pd.DataFrame({"spot": un["spot"].to_numpy()[apart], "day": un["day"].to_numpy()[apart],
                         "pe": prev_end[apart], "ns": un["start_s"].to_numpy()[apart], "row": np.flatnonzero(apart)})
    m = gaps.merge(bridges[["spot", "day", "a_s", "b_s"]], on=["spot", "day"])
    hit = m[(m["a_s"] <= m["pe"] + eps_s) & (m["b_s"] >= m["ns"] - eps_s)]
    return np.unique(hit["row"].to_numpy(np.int64))


def visits_table(intervals: pd.DataFrame, *, merge_gap_s: float, min_visit_s: float) -> tuple[pd.DataFrame,
                                                                                             pd.DataFrame]:
    """Visits (:data:`VISIT_COLUMNS`) and the intervals labelled with ``union``, ``visit`` and ``counted``.

    A visit is a run of union stretches of one spot-day whose gaps are at most ``merge_gap_s`` [s] or are
    covered by a ``bridge`` interval (a dropout inside the spot; bridges are not presence and are dropped
    from the returned intervals); ``present_s`` [s] is the union time inside it (gaps not counted);
    ``counted`` is False for a pass-through (``present_s < min_visit_s``).
    """
    bridges = intervals[intervals["bridge"].to_numpy(bool)] if "bridge" in intervals else intervals.iloc[:0]
    if "bridge" in intervals:
        intervals = intervals[~intervals["bridge"].to_numpy(bool)].drop(columns="bridge")
    if intervals.empty:
        vis = pd.DataFrame({c: pd.Series(dtype="bool" if c == "counted" else "float64") for c in VISIT_COLUMNS})
        return vis, intervals.assign(union=pd.Series(dtype="int64"), visit=pd.Series(dtype="int64"),
                                     counted=pd.Series(dtype="bool"))
    iv = _unions(intervals)
    un = iv.groupby("union", sort=True).agg(spot=("spot", "first"), day=("day", "first"), start_s=("a_s", "min"),
                                            end_s=("b_s", "max"))
    key = un["spot"].to_numpy(np.int64) * 1_000_003 + un["day"].to_numpy(np.int64)
    first = np.r_[True, key[1:] != key[:-1]]
    gap = un["start_s"].to_numpy() - np.r_[-np.inf, un["end_s"].to_numpy()[:-1]]
    apart = ~first & (gap > merge_gap_s)
    apart[_bridged(un, apart, bridges)] = False
    un["visit"] = np.cumsum(first | apart) - 1
    un["len_s"] = un["end_s"] - un["start_s"]
    vis = un.groupby("visit", sort=True).agg(spot=("spot", "first"), day=("day", "first"), start_s=("start_s", "min"),
                                             end_s=("end_s", "max"), present_s=("len_s", "sum"))
    iv["visit"] = un["visit"].to_numpy()[iv["union"].to_numpy()]
    vis["units"] = iv.groupby("visit")["unit"].nunique()
    vis["counted"] = vis["present_s"] >= min_visit_s
    iv["counted"] = vis["counted"].to_numpy()[iv["visit"].to_numpy()]
    return vis.reset_index(drop=True)[list(VISIT_COLUMNS)], iv


def daily_figures(intervals: pd.DataFrame, *, merge_gap_s: float, min_visit_s: float,
                  windows_s: np.ndarray | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily figures per spot-day that had any presence (:data:`DAILY_COLUMNS`), and the visits table.

    ``windows_s``: optional (n_days, 2) array of each programme day's patrol window [s since epoch, UTC],
    indexed by ``day``, for ``minutes_in_window``.
    """
    vis, iv = visits_table(intervals, merge_gap_s=merge_gap_s, min_visit_s=min_visit_s)
    if iv.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in DAILY_COLUMNS}), vis
    un = iv.groupby("union", sort=True).agg(spot=("spot", "first"), day=("day", "first"), a=("a_s", "min"),
                                            b=("b_s", "max"), counted=("counted", "first"))
    un["len_s"] = un["b"] - un["a"]
    if windows_s is not None:
        d = un["day"].to_numpy()
        valid = (d >= 0) & (d < len(windows_s))
        w0 = np.where(valid, windows_s[np.clip(d, 0, len(windows_s) - 1), 0], np.nan)
        w1 = np.where(valid, windows_s[np.clip(d, 0, len(windows_s) - 1), 1], np.nan)
        un["win_s"] = np.nan_to_num(np.clip(np.minimum(un["b"], w1) - np.maximum(un["a"], w0), 0, None))
    else:
        un["win_s"] = 0.0
    cu = un[un["counted"]]
    keys = ["spot", "day"]
    out = pd.DataFrame(index=pd.MultiIndex.from_frame(un[keys].drop_duplicates()))
    out["minutes_present"] = cu.groupby(keys)["len_s"].sum() / 60
    out["visits"] = vis[vis["counted"]].groupby(keys).size()
    civ = iv[iv["counted"]]
    out["unit_minutes"] = (civ["b_s"] - civ["a_s"]).groupby([civ["spot"], civ["day"]]).sum() / 60
    out["units"] = civ.groupby(keys)["unit"].nunique()
    out["passing_minutes"] = un[~un["counted"]].groupby(keys)["len_s"].sum() / 60
    out["minutes_in_window"] = cu.groupby(keys)["win_s"].sum() / 60
    out = out.fillna(0).reset_index()
    out[["visits", "units"]] = out[["visits", "units"]].astype("int64")
    return out[list(DAILY_COLUMNS)], vis
