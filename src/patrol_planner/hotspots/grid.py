"""Cell grids in the working CRS: integer indices, stable ids, centres, neighbours and polygons.

Grids are anchored to the CRS origin (or a fixed, user-given origin), never to the data: adding a point
far away never moves a cell. Square cells have index ``ix = floor((x - ox) / size)``; hexagons (pointy
top, axial coordinates ``q, r`` stored as ``ix, iy``) have the same area as the square of the same
``cell_size_m``. Polygons are only built for the cells that are output.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from patrol_planner.errors import HotspotError

MIN_CELL_SIZE_M = 100.0
MAX_CELL_SIZE_M = 5000.0

_SQ_NEIGHBOURS = np.array([(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)])
_HEX_NEIGHBOURS = np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (1, -1), (-1, 1)])

# Keys pack (ix, iy) into one int64 so group-bys are a single np.unique.
# |index| < 2**30 (a billion cells of >= 100 m: any CRS extent) keeps the key below 2**62.
_OFF = 1 << 30
_MUL = 1 << 31


def pack(ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
    """Pack integer cell indices into one int64 key per cell (order: by ix, then iy)."""
    return (np.asarray(ix, np.int64) + _OFF) * _MUL + (np.asarray(iy, np.int64) + _OFF)


def unpack(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse of :func:`pack`."""
    key = np.asarray(key, np.int64)
    return key // _MUL - _OFF, key % _MUL - _OFF


def _fmt(i: np.ndarray) -> np.ndarray:
    s = np.char.mod("%d", np.abs(i))
    return np.where(i < 0, np.char.add("m", s), s)


@dataclass(frozen=True)
class Grid:
    """A square or hexagonal grid of cells in a projected CRS.

    Parameters
    ----------
    cell_size_m : float
        Side of a square cell [m]; a hexagon has the same area as that square.
    kind : {"square", "hex"}
        Cell shape.
    crs : str
        Working CRS (``EPSG:xxxx``), projected, metres.
    origin : tuple of float
        Grid anchor ``(x, y)`` [m, working CRS]; ``(0, 0)`` is the CRS origin.
    """

    cell_size_m: float
    kind: str = "square"
    crs: str = "EPSG:27700"
    origin: tuple[float, float] = (0.0, 0.0)

    def __post_init__(self) -> None:
        s = self.cell_size_m
        if not isinstance(s, int | float) or not np.isfinite(s) or s <= 0:
            raise HotspotError(f"cell size must be a positive number of metres, got {s!r}")
        if not MIN_CELL_SIZE_M <= s <= MAX_CELL_SIZE_M:
            raise HotspotError(
                f"cell size {s:g} m is outside [{MIN_CELL_SIZE_M:g}, {MAX_CELL_SIZE_M:g}] m: smaller cells are "
                "finer than police.uk's anonymised snap points and no patrol targets them; larger ones are "
                "not hot spots"
            )
        if self.kind not in ("square", "hex"):
            raise HotspotError(f"grid must be 'square' or 'hex', got {self.kind!r}")

    @property
    def area_m2(self) -> float:
        """Area of one cell [m²]."""
        return float(self.cell_size_m) ** 2

    @property
    def hex_side_m(self) -> float:
        """Side (= circumradius) of a hexagon with the area of the square cell [m]."""
        return float(self.cell_size_m) * np.sqrt(2.0 / (3.0 * np.sqrt(3.0)))

    def index(self, x_m: np.ndarray, y_m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell indices ``(ix, iy)`` of points ``x_m, y_m`` [m, working CRS]."""
        x = np.asarray(x_m, float) - self.origin[0]
        y = np.asarray(y_m, float) - self.origin[1]
        if self.kind == "square":
            s = float(self.cell_size_m)
            return np.floor(x / s).astype(np.int64), np.floor(y / s).astype(np.int64)
        a = self.hex_side_m
        q = (np.sqrt(3.0) / 3.0 * x - y / 3.0) / a
        r = (2.0 / 3.0 * y) / a
        return _cube_round(q, r)

    def centre(self, ix: np.ndarray, iy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Centres ``(x_m, y_m)`` [m, working CRS] of cells ``ix, iy``."""
        ix = np.asarray(ix, float)
        iy = np.asarray(iy, float)
        if self.kind == "square":
            s = float(self.cell_size_m)
            return (ix + 0.5) * s + self.origin[0], (iy + 0.5) * s + self.origin[1]
        a = self.hex_side_m
        return a * np.sqrt(3.0) * (ix + iy / 2.0) + self.origin[0], a * 1.5 * iy + self.origin[1]

    def cell_ids(self, ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
        """Stable string ids from position, e.g. ``E27700-S100-5712-1923`` (``m`` marks a negative index)."""
        code = self.crs.replace("EPSG:", "E").replace(":", "")
        pre = f"{code}-{'S' if self.kind == 'square' else 'H'}{self.cell_size_m:g}"
        if self.origin != (0.0, 0.0):
            pre += f"@{self.origin[0]:g},{self.origin[1]:g}"
        ix = np.asarray(ix, np.int64)
        iy = np.asarray(iy, np.int64)
        return np.char.add(np.char.add(pre + "-", _fmt(ix)), np.char.add("-", _fmt(iy))).astype(object)

    def parse_id(self, cell_id: str) -> tuple[int, int]:
        """``(ix, iy)`` of a cell id made by :meth:`cell_ids`; :class:`HotspotError` if it is not this grid's."""
        head, _, rest = cell_id.rpartition("-")
        pre, _, first = head.rpartition("-")
        try:
            ix, iy = (int(v[1:]) * -1 if v.startswith("m") else int(v) for v in (first, rest))
        except ValueError:
            raise HotspotError(f"{cell_id!r} is not a cell id") from None
        if str(self.cell_ids(np.array([ix]), np.array([iy]))[0]) != cell_id or not pre:
            raise HotspotError(f"{cell_id!r} is not a cell of this grid ({self.kind}, {self.cell_size_m:g} m)")
        return ix, iy

    def neighbour_offsets(self) -> np.ndarray:
        """Index offsets of the adjacent cells (8 for squares, 6 for hexagons)."""
        return _SQ_NEIGHBOURS if self.kind == "square" else _HEX_NEIGHBOURS

    def corners(self, ix: np.ndarray, iy: np.ndarray) -> np.ndarray:
        """Polygon rings, shape ``(n, k + 1, 2)`` [m, working CRS], closed, counter-clockwise."""
        cx, cy = self.centre(ix, iy)
        if self.kind == "square":
            h = float(self.cell_size_m) / 2.0
            dx = np.array([-h, h, h, -h, -h])
            dy = np.array([-h, -h, h, h, -h])
        else:
            ang = np.deg2rad(30.0 + 60.0 * np.arange(7))
            dx = self.hex_side_m * np.cos(ang)
            dy = self.hex_side_m * np.sin(ang)
        return np.stack([cx[:, None] + dx[None, :], cy[:, None] + dy[None, :]], axis=-1)


def _cube_round(q: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = -q - r
    rq, rr, rs = np.round(q), np.round(r), np.round(s)
    dq, dr, ds = np.abs(rq - q), np.abs(rr - r), np.abs(rs - s)
    fix_q = (dq > dr) & (dq > ds)
    fix_r = ~fix_q & (dr > ds)
    rq = np.where(fix_q, -rr - rs, rq)
    rr = np.where(fix_r, -rq - rs, rr)
    return rq.astype(np.int64), rr.astype(np.int64)
