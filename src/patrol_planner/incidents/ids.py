"""Incident ids: content hashes for rows without an id, and the duplicate-id check across files."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from patrol_planner.incidents.csvbytes import RawTable
from patrol_planner.incidents.formats import COORD_COLUMNS
from patrol_planner.incidents.rows import Rows


def hash_ids(jobs: list[tuple[RawTable, list[str], np.ndarray, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """Deterministic ids from row content (+ occurrence number among identical rows of the same file).

    ``jobs`` holds, per file, ``(raw, columns, rows, lon, lat)``: the rows (positions) that need an id and the
    columns whose content makes it. Coordinates enter as the parsed numbers [deg], the other cells as their
    raw text, so the id is the same whichever parser path read the file, and it does not depend on the file
    name, line or the other files. Returns one array of ids per job.

    The hash is ``pandas.util.hash_pandas_object`` of the row's cells. A text column enters as a categorical
    of its distinct values (:meth:`RawTable.factorized`), which hashes to the very same values as the text
    itself while hashing each distinct value once; files with the same columns are hashed in one call.
    """
    out: list[np.ndarray | None] = [None] * len(jobs)
    groups: dict[tuple[str, ...], list[int]] = {}
    for k, job in enumerate(jobs):
        text_cols = tuple(c for c in job[1] if c not in COORD_COLUMNS)
        groups.setdefault(text_cols, []).append(k)
    for text_cols, members in groups.items():
        parts: dict[str, Any] = {}
        for c in text_cols:
            coded = []
            for k in members:
                raw, _, idx, _, _ = jobs[k]
                if raw.cells[c].dtype != object:
                    break
                codes, uniq = raw.factorized(c)
                sub = codes[idx]
                if (sub < 0).any():
                    break
                sub, used = pd.factorize(sub)  # only the distinct values these rows use
                coded.append((sub, uniq[used]))
            if len(coded) == len(members):
                # One categorical over the files: their distinct values, de-duplicated across files.
                values = np.concatenate([v for _, v in coded])
                vcode, vuniq = pd.factorize(values)
                offsets = np.cumsum([0] + [v.size for _, v in coded[:-1]])
                gcodes = np.concatenate([vcode[sub + off] for (sub, _), off in zip(coded, offsets, strict=True)])
                dtype = pd.CategoricalDtype(pd.Index(np.asarray(vuniq, dtype=object), dtype=object))
                parts[c] = pd.Categorical.from_codes(gcodes, dtype=dtype)
            else:
                parts[c] = pd.concat([jobs[k][0].cells[c].iloc[jobs[k][2]].astype(str) for k in members],
                                     ignore_index=True)
        parts["_lon"] = np.concatenate([jobs[k][3][jobs[k][2]] for k in members])
        parts["_lat"] = np.concatenate([jobs[k][4][jobs[k][2]] for k in members])
        h = pd.util.hash_pandas_object(pd.DataFrame(parts), index=False).to_numpy(np.uint64)
        sizes = [jobs[k][2].size for k in members]
        job = np.repeat(np.arange(len(members)), sizes)
        # n-th copy (0-based) of each hash within its file, in row order: lexsort is stable, so rows with the
        # same (file, hash) stay in row order. Identical ASB reports (same month, snap point and type) are
        # common: Essex 2018 has ~9k repeats.
        order = np.lexsort((h, job))
        hs, js = h[order], job[order]
        new = np.r_[True, (hs[1:] != hs[:-1]) | (js[1:] != js[:-1])]
        start = np.flatnonzero(new)
        run = np.repeat(start, np.diff(np.r_[start, hs.size]))
        occ = np.empty(h.size, dtype=np.int64)
        occ[order] = np.arange(h.size) - run
        ids = np.array([f"h:{v}#{o}" if o else f"h:{v}" for v, o in zip(h.tolist(), occ.tolist(), strict=True)],
                       dtype=object)
        for k, piece in zip(members, np.split(ids, np.cumsum(sizes)[:-1]), strict=True):
            out[k] = piece
    return [o if o is not None else np.empty(0, dtype=object) for o in out]


def flag_duplicate_ids(rows: list[Rows]) -> None:
    """Quarantine a repeated id as ``duplicate_id``: the first occurrence (file order, then line) wins.

    Only loaded rows take part (every one has an id by now: the id-less ones were given a content hash).
    """
    ok_pos = [np.flatnonzero(r.ok) for r in rows]
    loaded_ids = np.concatenate([r.ids[pos] for r, pos in zip(rows, ok_pos, strict=True)])
    dup = pd.Series(loaded_ids, dtype=object).duplicated().to_numpy()
    off = 0
    for r, pos in zip(rows, ok_pos, strict=True):
        mask = np.zeros(r.n, dtype=bool)
        mask[pos] = dup[off: off + pos.size]
        r.flag(mask, "duplicate_id", "id already loaded from an earlier row")
        off += pos.size
