"""The package's import graph has no cycles (lazy imports inside functions count too)."""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PKG = Path(__file__).resolve().parents[1] / "src" / "patrol_planner"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _import_graph() -> nx.DiGraph:
    mods = {_module_name(p): p for p in PKG.rglob("*.py")}
    g = nx.DiGraph()
    g.add_nodes_from(mods)
    for name, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = name.split(".") if is_pkg else name.split(".")[:-1]
                if node.level:
                    base = base[: len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                cands = [target] + [f"{target}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                cands = [a.name for a in node.names]
            else:
                continue
            for c in cands:
                while c and c not in mods:
                    c = c.rpartition(".")[0]
                # a package's __init__ re-exporting its own submodules is not a design cycle
                if c and c != name and not c.startswith(name + ".") and not name.startswith(c + "."):
                    g.add_edge(name, c)
    return g


def test_no_import_cycles():
    """No two modules of patrol_planner import each other, directly or through others."""
    cycles = [sorted(c) for c in nx.strongly_connected_components(_import_graph()) if len(c) > 1]
    assert cycles == []


def test_lower_stages_never_import_higher_ones():
    """incidents, hotspots, network and routing never import scenario, programme, dosage, evaluation or cli."""
    g = _import_graph()
    lower = ("incidents", "hotspots", "network", "routing")
    higher = ("scenario", "programme", "dosage", "evaluation", "cli")
    bad = [(a, b) for a, b in g.edges
           if a.split(".")[1:2] and a.split(".")[1] in lower and b.split(".")[1:2] and b.split(".")[1] in higher]
    assert bad == []
