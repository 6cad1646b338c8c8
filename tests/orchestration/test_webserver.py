"""The Dagster UI loads the whole code location: every asset, check, schedule and sensor.

``dagster-webserver -w workspace.yaml`` runs on a free loopback port with a temporary
DAGSTER_HOME; its GraphQL answers are compared with ``finance_pipeline.definitions.defs``
(whatever it holds, never a fixed list). Headless Chromium then takes one screenshot of the
asset graph, kept as ``var/test-artifacts/asset-graph.png``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from orch_harness import free_port

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACT = REPO / "var" / "test-artifacts" / "asset-graph.png"
READY_SECONDS = 60
SCREENSHOT_SECONDS = 60

QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        locationOrLoadError {
          __typename
          ... on PythonError { message }
          ... on RepositoryLocation {
            repositories {
              name
              assetNodes {
                assetKey { path }
                isExecutable
                assetChecksOrError {
                  __typename
                  ... on AssetChecks { checks { name blocking } }
                }
              }
              schedules { name }
              sensors { name }
              jobs { name }
            }
          }
        }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class Webserver:
    url: str
    log: Path


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the webserver and its code-server child (own process group, started here)."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    base = tmp_path_factory.mktemp("webserver")
    dagster_home = base / "dagster"
    dagster_home.mkdir()
    shutil.copyfile(REPO / "dagster.yaml", dagster_home / "dagster.yaml")
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(dagster_home),
        "FINANCE_PIPELINE_HOME": str(base / "home"),
    }
    log = base / "webserver.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                str(BIN / "dagster-webserver"),
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"dagster-webserver exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"no answer within {READY_SECONDS} s:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield Webserver(url, log)
    finally:
        _stop(process)


def _graphql(server: Webserver) -> dict:
    deadline = time.monotonic() + READY_SECONDS
    while True:  # the code location may still be loading right after startup
        response = httpx.post(f"{server.url}/graphql", json={"query": QUERY}, timeout=30)
        response.raise_for_status()
        data = response.json()
        assert "errors" not in data, data.get("errors")
        entries = data["data"]["workspaceOrError"]["locationEntries"]
        loaded = [e["locationOrLoadError"] for e in entries]
        if loaded and all(item is not None for item in loaded):
            return data["data"]["workspaceOrError"]
        if time.monotonic() > deadline:
            pytest.fail("code location did not load in time")
        time.sleep(1)


def test_ui_loads_every_definition(webserver: Webserver) -> None:
    from finance_pipeline.definitions import defs

    workspace = _graphql(webserver)
    [entry] = workspace["locationEntries"]
    location = entry["locationOrLoadError"]
    assert location["__typename"] == "RepositoryLocation", location.get("message")
    [repo] = location["repositories"]

    expected = defs.get_repository_def()
    graph = expected.asset_graph
    ui_assets = {tuple(node["assetKey"]["path"]) for node in repo["assetNodes"]}
    assert ui_assets == {tuple(key.path) for key in graph.get_all_asset_keys()}

    ui_checks = set()
    for node in repo["assetNodes"]:
        checks = node["assetChecksOrError"]
        assert checks["__typename"] == "AssetChecks", checks
        ui_checks |= {(tuple(node["assetKey"]["path"]), c["name"]) for c in checks["checks"]}
    assert ui_checks == {(tuple(k.asset_key.path), k.name) for k in graph.asset_check_keys}

    assert {s["name"] for s in repo["schedules"]} == {s.name for s in expected.schedule_defs}
    assert {s["name"] for s in repo["sensors"]} == {s.name for s in expected.sensor_defs}
    ui_jobs = {j["name"] for j in repo["jobs"] if not j["name"].startswith("__")}
    assert ui_jobs == {j.name for j in expected.get_all_jobs() if not j.name.startswith("__")}


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def _screenshot(browser: str, url: str, png: Path, profile: Path) -> None:
    profile.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--window-size=1600,1000",
            "--virtual-time-budget=15000",
            f"--screenshot={png}",
            url,
        ],
        check=True,
        capture_output=True,
        timeout=SCREENSHOT_SECONDS,
    )


def test_asset_graph_screenshot(webserver: Webserver, tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (apt-get install chromium); no screenshot taken")
    _graphql(webserver)  # the graph is there before the browser asks for it
    # On a loopback origin the UI first shows a one-time community dialog over the graph; mark
    # it seen the way the UI's own "Skip" button does, so the screenshot shows the graph.
    seen = httpx.post(
        f"{webserver.url}/graphql", json={"query": "mutation { setNuxSeen }"}, timeout=30
    )
    assert seen.status_code == 200 and "errors" not in seen.json(), seen.text
    blank = tmp_path / "blank.png"
    _screenshot(browser, "about:blank", blank, tmp_path / "profile-blank")
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.unlink(missing_ok=True)
    _screenshot(browser, f"{webserver.url}/asset-groups", ARTIFACT, tmp_path / "profile")
    assert ARTIFACT.exists()
    assert ARTIFACT.stat().st_size > 10 * blank.stat().st_size, (
        f"screenshot {ARTIFACT.stat().st_size} bytes vs blank {blank.stat().st_size}"
    )
