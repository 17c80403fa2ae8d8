"""The layers of the house (docs/architecture.md): imports flow core <- capabilities <- application, only the
application reads the whole Config, and the capability packages import one another without circles."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

LIB = ROOT / "lib"
CORE = {"tailor", "tailor.schemas", "tailor.errors", "tailor.log", "tailor.csvfile", "tailor.tables", "tailor.asof",
        "tailor.quarantine", "tailor.assign", "tailor.settings", "tailor.sandbox"}
APP = {"tailor.config", "tailor.spark", "tailor.wiring", "tailor.pipeline", "tailor.cli"}
CORE_LAYER, CAPABILITY_LAYER, APP_LAYER = 0, 1, 2


def layer(module: str) -> int:
    if module in CORE:
        return CORE_LAYER
    if module in APP or module == "tailor.jobs" or module.startswith("tailor.jobs."):
        return APP_LAYER
    return CAPABILITY_LAYER


def modules() -> dict[str, Path]:
    out = {}
    for f in LIB.rglob("*.py"):
        name = ".".join(f.relative_to(LIB).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = f
    return out


def imports(path: Path, known: set[str]) -> set[str]:
    """The tailor modules ``path`` imports, anywhere in it (function-level imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tailor"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names} & known
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tailor")}
    return found & known


def graph() -> dict[str, set[str]]:
    mods = modules()
    return {m: imports(p, set(mods)) for m, p in mods.items()}


def test_the_layers_are_what_the_checker_thinks():
    # a module that moves layer must move in these sets too: every module is classified, none twice
    mods = set(modules())
    assert mods >= CORE and mods >= APP
    assert {m for m in mods if layer(m) == CAPABILITY_LAYER} >= {"tailor.recommend.als", "tailor.privacy.forget"}


def test_no_import_runs_up_a_layer():
    upward = sorted((m, t) for m, targets in graph().items() for t in targets if layer(t) > layer(m))
    assert upward == []


def test_only_the_application_reads_the_config():
    readers = sorted(m for m, targets in graph().items() if "tailor.config" in targets)
    assert readers and all(layer(m) == APP_LAYER for m in readers), [m for m in readers if layer(m) < APP_LAYER]


def test_capability_packages_import_one_another_without_circles():
    def package(m: str) -> str:
        return ".".join(m.split(".")[:2])

    edges: dict[str, set[str]] = {}
    for m, targets in graph().items():
        if layer(m) != CAPABILITY_LAYER:
            continue
        edges.setdefault(package(m), set()).update(
            package(t) for t in targets if layer(t) == CAPABILITY_LAYER and package(t) != package(m))

    def reaches(a: str, b: str) -> bool:
        seen, todo = set(), [a]
        while todo:
            x = todo.pop()
            if x == b:
                return True
            if x not in seen:
                seen.add(x)
                todo.extend(edges.get(x, ()))
        return False

    circles = sorted((a, b) for a in edges for b in edges[a] if reaches(b, a))
    assert circles == []
    assert "tailor.evaluation" in edges["tailor.recommend"]  # recommend's tuning scores with evaluation's nDCG


# Suites that test the whole house rather than one module: the layers (this file), a real standalone cluster,
# and the real public data.
WHOLE_HOUSE = {"test_architecture.py", "test_cluster.py", "test_realdata.py", "test_benchmarks.py"}


def module_of_test(test: str, known: dict[str, Path]) -> list[Path]:
    """The library modules a test file's name maps to. ``test_<job>_job.py`` tests ``tailor/jobs/<job>.py``
    (``test_jobs_base.py`` what the jobs share); otherwise ``test_<module>.py`` or
    ``test_<package>_<module>.py``, optionally followed by ``_<aspect>`` when one module's tests fill several
    files (``test_sources_online_retail.py``)."""
    stem = test.removeprefix("test_").removesuffix(".py")
    if stem.endswith("_job"):
        job = LIB / "tailor" / "jobs" / f"{stem.removesuffix('_job')}.py"
        return [job] if job.exists() else []
    keys: dict[str, set[Path]] = {}
    for name, path in known.items():
        parts = name.split(".")[1:]
        if not parts or path.name == "__init__.py":
            continue
        if parts[0] == "jobs":  # a job is test_<job>_job.py; what jobs share (jobs/base.py) is test_jobs_base.py
            keys.setdefault("_".join(parts), set()).add(path)
            continue
        keys.setdefault("_".join(parts), set()).add(path)
        keys.setdefault(parts[-1], set()).add(path)
    keys["tailor_dag"] = {ROOT / "jobs" / "tailor_dag.py"}  # the Airflow DAG, beside the spark-submit entries
    hits = {p for key, paths in keys.items() if len(paths) == 1 and (stem == key or stem.startswith(key + "_"))
            for p in paths}
    return sorted(hits)


def test_each_test_file_maps_to_one_module():
    known = modules()
    assert [p.name for p in module_of_test("test_cf_job.py", known)] == ["cf.py"]  # the rule on known cases
    assert module_of_test("test_sources_online_retail.py", known) == [LIB / "tailor" / "ingest" / "sources.py"]
    assert module_of_test("test_recommend_jobs.py", known) == []
    assert module_of_test("test_jobs_base.py", known) == [LIB / "tailor" / "jobs" / "base.py"]
    unmapped = {f.name: module_of_test(f.name, known) for f in (ROOT / "tests").glob("test_*.py")
                if f.name not in WHOLE_HOUSE}
    assert {name: hits for name, hits in unmapped.items() if len(hits) != 1} == {}
