"""One Prefect server per run, shared by the flow process and its workers.

With no PREFECT_API_URL, every Prefect process starts its own temporary
server: the flow and each process running its tasks (a process-pool task
runner's workers, local Dask workers), three servers and ~650 MB on two
cores. `shared_server` starts one
and points the whole run at it: the environment (inherited by the worker
processes, started later) and Prefect's settings in this process (its log and
event threads included); at the end it sends what is still queued and stops
the server. With PREFECT_API_URL set (environment or Prefect profile), that
server is used and nothing is started.

The server runs as Prefect's own temporary one does (uvicorn over
`prefect.server.api.server:create_app`, UI and background services off), but
is started here: importing Prefect's launcher imports the whole server
application into the flow process, ~80 MB it never uses.

The server never outlives the process that started it: a normal end, an
exception or a SIGTERM stops it in `shared_server`, and if that process is
killed outright (SIGKILL, the OOM killer) the kernel kills the server too
(Linux's parent-death signal, set by `LAUNCHER` before uvicorn starts).
"""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path

import httpx
import prefect
from prefect.context import refresh_global_settings_context
from prefect.events.worker import EventsWorker
from prefect.logging import get_logger
from prefect.logging.handlers import APILogWorker
from prefect.settings import (
    PREFECT_API_URL,
    PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
    get_current_settings,
    temporary_settings,
)

API_URL = "PREFECT_API_URL"
ANALYTICS = "PREFECT_SERVER_ANALYTICS_ENABLED"
DRAIN_SECONDS = 10.0
STOP_SECONDS = 5.0
STARTUP_FAILURE = 3  # uvicorn's exit code when it cannot start (port taken)
SERVER_ENV = {"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"}
# Runs uvicorn with its arguments after asking the kernel to SIGKILL this
# process when the thread that started it ends (prctl PR_SET_PDEATHSIG, kept
# across exec; elsewhere than Linux there is no prctl and nothing is asked).
# A parent that died before the request was made is noticed by its pid.
LAUNCHER = """
import ctypes, os, runpy, signal, sys
parent = int(sys.argv[1])
prctl = getattr(ctypes.CDLL(None), "prctl", None)
if prctl is not None:
    prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        sys.exit(1)
sys.argv = ["uvicorn", *sys.argv[2:]]
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
"""


def telemetry_off_by_default(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Turn the server's telemetry off for the servers this process starts, unless the user chose.

    A choice is PREFECT_SERVER_ANALYTICS_ENABLED in the environment, a Prefect
    profile, prefect.toml or .env: whatever Prefect's settings count as set.
    True if it was turned off here.
    """
    if "analytics_enabled" in get_current_settings().server.model_fields_set:
        return False
    environ[ANALYTICS] = "false"
    return True


def configured_api_url() -> str | None:
    """The API URL of the environment or the active Prefect profile, if any."""
    return PREFECT_API_URL.value() or None


@contextmanager
def shared_server() -> Iterator[str]:
    """Yield the API URL every process of the run uses, starting a temporary server if none is set."""
    configured = configured_api_url()
    if configured:
        yield configured
        return
    process, url = start_server(float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()))
    before = os.environ.get(API_URL)
    try:
        _point_at(url)
        with temporary_settings(updates={PREFECT_API_URL: url}):  # over any settings context in force
            try:
                yield url
            finally:
                _drain()
    finally:
        _point_at(before)
        stop_server(process)


def start_server(timeout: float) -> tuple[subprocess.Popen[bytes], str]:
    """Start a temporary server and wait until it answers; (process, API URL)."""
    env = {**os.environ, **SERVER_ENV, **get_current_settings().to_environment_variables(exclude_unset=True)}
    deadline = time.monotonic() + timeout
    while True:
        port = _free_port()
        url = f"http://127.0.0.1:{port}/api"
        get_logger().info("Starting temporary server on %s", url.removesuffix("/api"))
        process = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, str(os.getpid()), "--app-dir", str(Path(prefect.__file__).parent.parent),
             "--factory", "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "error", "--lifespan", "on"],
            env=env,
        )
        while process.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                    return process, url
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        code = process.poll()
        if code == STARTUP_FAILURE and time.monotonic() < deadline:
            continue  # the port was taken meanwhile: another one
        stop_server(process)
        reason = f"exited with code {code}" if code is not None else f"did not answer within {timeout:.0f} s"
        raise RuntimeError(f"the temporary Prefect server {reason}")


def stop_server(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server, kill it if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _point_at(url: str | None) -> None:
    """Make `url` the API of this process (all threads) and of the processes it starts; None unsets it."""
    if url is None:
        os.environ.pop(API_URL, None)
    else:
        os.environ[API_URL] = url
    refresh_global_settings_context()


def _drain() -> None:
    """Send the logs and events still queued before the server stops (else they are lost, noisily)."""
    for worker in (APILogWorker, EventsWorker):
        worker.drain_all(timeout=DRAIN_SECONDS)
