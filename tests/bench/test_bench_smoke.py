"""Smoke test of the benchmark commands: each runs at a tiny size and prints one JSON object of
the documented shape. Timings are never asserted (benchmarks measure; tests do not)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import make_url

BENCH = Path(__file__).resolve().parents[2] / "bench"

COMMANDS = {
    "provision": (
        ["provision.py", "--clusters", "20"],
        {"clusters", "total_s", "clusters_per_s", "p50_to_ready_s", "p99_to_ready_s"},
    ),
    "delivery": (
        ["delivery.py", "--templates", "2", "--clusters", "2"],
        {"deliveries", "total_s", "deliveries_per_s", "store_writes"},
    ),
    "delivery-configmap": (
        ["delivery.py", "--templates", "2", "--clusters", "2", "--objects", "configmap"],
        {"deliveries", "objects_applied", "total_s"},
    ),
    "idle": (
        ["idle.py", "--clusters", "10", "--minutes", "0.05"],
        {"clusters", "cpu_cores", "rss_mib", "rss_peak_mib"},
    ),
    "api_latency": (
        ["api_latency.py", "--clusters", "10", "--requests", "10"],
        {"get_p50_ms", "get_p99_ms", "create_p50_ms", "create_p99_ms"},
    ),
    "restart": (["restart.py", "--clusters", "10"], {"open_s", "resynced_s", "reconciles"}),
    "limit": (
        ["limit.py", "--rows", "50", "--clusters", "10"],
        {"raw_inserts_per_s", "raw_updates_per_s", "orbit_writes_per_s", "orbit_fraction_of_raw"},
    ),
}


def run_bench(args: list[str], tmp_path: Path) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, str(BENCH / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout
    result = json.loads(lines[0])
    assert isinstance(result, dict)
    return result


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_benchmark_prints_its_json(name: str, tmp_path: Path) -> None:
    args, keys = COMMANDS[name]
    result = run_bench(args, tmp_path)
    assert result["benchmark"] == name.split("-")[0]
    assert result["backend"] == "sqlite"
    assert keys <= result.keys(), sorted(keys - result.keys())


@pytest.mark.slow
def test_a_delivery_run_stopped_early_reports_how_far_it_got(tmp_path: Path) -> None:
    args = ["delivery.py", "--templates", "2", "--clusters", "2", "--minutes", "0"]
    result = run_bench(args, tmp_path)
    assert result["complete"] is False
    assert isinstance(result["deployed"], int) and 0 <= result["deployed"] < 4
    assert result["objects_applied"] == 2 * result["deployed"]


@pytest.mark.slow
def test_a_kept_data_dir_is_set_up_once_and_shared(tmp_path: Path) -> None:
    data = tmp_path / "fleet"
    first = run_bench(["restart.py", "--clusters", "4", "--data-dir", str(data)], tmp_path)
    assert first["reconciles"] >= 4
    idle = ["idle.py", "--clusters", "4", "--minutes", "0.02", "--data-dir", str(data)]
    assert run_bench(idle, tmp_path)["clusters"] == 4
    api = ["api_latency.py", "--clusters", "4", "--requests", "3", "--data-dir", str(data)]
    run_bench(api, tmp_path)
    run_bench(api, tmp_path)  # its creates do not collide with the run before's
    names = sqlite3.connect(data / "orbit.db").execute(
        "SELECT name FROM resources WHERE kind = 'ClusterDeployment'"
    )
    names = sorted(row[0] for row in names)
    assert [n for n in names if n.startswith("bench-")] == [f"bench-{i:05d}" for i in range(4)]
    assert len([n for n in names if n.startswith("api-")]) == 6


@pytest.mark.slow
def test_one_postgresql_fleet_serves_every_benchmark_with_two_controller_processes(
    tmp_path: Path, postgres_url: str
) -> None:
    data = tmp_path / "fleet"
    pg = ["--database-url", postgres_url, "--processes", "2", "--data-dir", str(data)]
    made = run_bench(["provision.py", "--clusters", "4", *pg], tmp_path)
    assert (made["backend"], made["processes"], made["clusters"]) == ("postgresql", 2, 4)
    database = (data / "bench-database").read_text().strip()
    try:
        before = _clusters(postgres_url, database)
        assert sorted(before) == [f"bench-{i:05d}" for i in range(4)]
        assert all(before.values())
        idle = run_bench(["idle.py", "--clusters", "4", "--minutes", "0.02", *pg], tmp_path)
        assert (idle["processes"], idle["clusters"]) == (2, 4)
        restart = run_bench(["restart.py", "--clusters", "4", *pg], tmp_path)
        assert (restart["processes"], restart["clusters"]) == (2, 4)
        assert restart["reconciles"] >= 4
        args = ["api_latency.py", "--clusters", "4", "--requests", "3", "--split", *pg]
        api = run_bench(args, tmp_path)
        assert api["processes"] == "api+2 controllers" and api["clusters"] == 4
        # One controller process on the same fleet (its api process is a new one: the admin
        # token made by the first is shared, as in production).
        one = [a if a != "2" else "1" for a in args]
        assert run_bench(one, tmp_path)["processes"] == "api+1 controllers"
        # Set up once; no later run moved an endpoint (the processes share the kept port and
        # certificate), and provisioning refuses a store that already has a fleet.
        after = _clusters(postgres_url, database)
        assert {name: after[name] for name in before} == before
        again = subprocess.run(
            [sys.executable, str(BENCH / "provision.py"), "--clusters", "4", *pg],
            capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
        )  # fmt: skip
        assert again.returncode != 0 and "empty store" in again.stderr
    finally:
        _drop(postgres_url, database)


def _clusters(server_url: str, database: str) -> dict[str, str | None]:
    """name -> endpoint of the ClusterDeployments in ``database`` on that server."""
    url = make_url(server_url).set(drivername="postgresql", database=database)

    async def read() -> dict[str, str | None]:
        conn = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            rows = await conn.fetch(
                "SELECT name, body FROM resources WHERE kind = 'ClusterDeployment'"
            )
        finally:
            await conn.close()
        return {r["name"]: json.loads(r["body"])["status"].get("endpoint") for r in rows}

    return asyncio.run(read())


def _drop(server_url: str, database: str) -> None:
    url = make_url(server_url).set(drivername="postgresql")

    async def drop() -> None:
        conn = await asyncpg.connect(url.render_as_string(hide_password=False))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.mark.slow
def test_delivery_with_two_controller_processes(tmp_path: Path, postgres_url: str) -> None:
    args = ["delivery.py", "--templates", "2", "--clusters", "2", "--processes", "2"]
    result = run_bench([*args, "--database-url", postgres_url], tmp_path)
    assert (result["backend"], result["processes"]) == ("postgresql", 2)
    assert result["complete"] is True and result["deployed"] == 4


def test_several_processes_need_postgresql(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "idle.py"), "--processes", "2"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode != 0 and "needs --database-url" in done.stderr


def test_plot_draws_a_png(tmp_path: Path) -> None:
    lines = [
        {"benchmark": "provision", "backend": "sqlite", "processes": 1, "clusters": n,
         "total_s": n / 20, "p50_to_ready_s": 0.1, "p99_to_ready_s": 0.3}
        for n in (20, 100)
    ]  # fmt: skip
    source = tmp_path / "results.jsonl"
    source.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    out = tmp_path / "plot.png"
    subprocess.run(
        [sys.executable, str(BENCH / "plot.py"), str(source), "--out", str(out)],
        check=True,
        timeout=120,
        capture_output=True,
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
