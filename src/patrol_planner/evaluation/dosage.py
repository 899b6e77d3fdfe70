"""Delivered dose: read ``dosage.csv`` (GPS minutes present per spot per programme day) onto the spot-days.

Contract (written by the dosage stage): ``date`` (YYYY-MM-DD programme day), ``spot_id``, ``treated``
(as assigned), ``minutes_present`` [min], ``visits``; optional ``gps_data`` (False on days no unit sent any
GPS: nothing is known about presence then). Without ``gps_data``, spot-days missing from the file had no GPS
presence; with it (files written by ``patrol-planner dosage``, possibly ``--up-to`` a date), missing spot-days
were not measured and count as no data.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from patrol_planner.errors import DosageError
from patrol_planner.sanitise import spreadsheet_restore

DOSAGE_COLUMNS: tuple[str, ...] = ("date", "spot_id", "treated", "minutes_present", "visits")


def read_dosage(path: str | Path) -> pd.DataFrame:
    """Read ``dosage.csv`` (``path`` is the file or the folder holding it); ``date`` as ``datetime.date``."""
    path = Path(path)
    if path.is_dir():
        path = path / "dosage.csv"
    try:
        df = spreadsheet_restore(pd.read_csv(path, dtype={"spot_id": str}))
    except FileNotFoundError:
        raise DosageError(f"{path}: no dosage file") from None
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DosageError(f"{path}: not a readable dosage CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in DOSAGE_COLUMNS if c not in df.columns]
    if missing:
        raise DosageError(f"{path}: missing columns {', '.join(missing)}")
    try:
        df["date"] = pd.to_datetime(df["date"], format="%Y-%m-%d").dt.date
        df["minutes_present"] = pd.to_numeric(df["minutes_present"]).astype(float)
    except (ValueError, TypeError) as exc:
        raise DosageError(f"{path}: bad date or minutes_present ({exc})") from None
    if (df["minutes_present"] < 0).any():
        raise DosageError(f"{path}: negative minutes_present")
    if "gps_data" in df.columns:
        df["gps_data"] = df["gps_data"].astype(str).str.strip().str.lower().isin(("true", "1", "yes"))
        return df[[*DOSAGE_COLUMNS, "gps_data"]]
    return df[list(DOSAGE_COLUMNS)]


def attach_dosage(table: pd.DataFrame, dosage: pd.DataFrame) -> pd.DataFrame:
    """Add ``minutes_present`` [min], ``delivered`` (0/1, any presence), ``dose_15min`` (minutes / 15) and
    ``gps_data`` (False where nothing is known: see the module docstring)."""
    keyed = dosage.assign(spot_id=dosage["spot_id"].astype(str)).groupby(["date", "spot_id"])
    d = keyed["minutes_present"].sum()
    unknown = set(d.index.get_level_values(1)) - set(table["spot_id"])
    if unknown:
        raise DosageError(f"dosage names spots not in the programme: {', '.join(sorted(unknown)[:5])}")
    out = table.join(d, on=["date", "spot_id"])
    if "gps_data" in dosage.columns:
        out = out.join(keyed["gps_data"].all(), on=["date", "spot_id"])
        out["gps_data"] = out["gps_data"].fillna(False).astype(bool)
    else:
        out["gps_data"] = True
    out["minutes_present"] = out["minutes_present"].fillna(0.0)
    out["delivered"] = (out["minutes_present"] > 0).astype(int)
    out["dose_15min"] = out["minutes_present"] / 15.0
    return out


def delivery_summary(table: pd.DataFrame) -> dict[str, float]:
    """Fidelity figures: treated days with no presence, control days with presence (contamination)."""
    t = table["treated"] == 1
    present = table["minutes_present"] > 0
    n_t, n_c = int(t.sum()), int((~t).sum())
    return {
        "treated_spot_days": n_t,
        "treated_days_without_presence": int((t & ~present & table["gps_data"]).sum()),
        "spot_days_without_gps_data": int((~table["gps_data"]).sum()),
        "control_spot_days": n_c,
        "control_days_with_presence": int((~t & present).sum()),
        "contamination_share": float((~t & present).sum() / n_c) if n_c else 0.0,
        "minutes_on_treated_days": float(table.loc[t, "minutes_present"].sum()),
        "minutes_on_control_days": float(table.loc[~t, "minutes_present"].sum()),
    }
