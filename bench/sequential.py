#!/usr/bin/env python3
"""The baseline the harness is measured against: a plain script that does the sample
matrix's work one job after another, with nothing at once and nothing judged.

It builds the server for both triples (one cargo invocation, as the harness does), then for
every job of the plan (agnostic suites on the primary cell only) makes a fresh data dir from
the seed, launches the server (under Wine with the harness's prefix and shim and one warm
wineserver, or in a podman container with the harness's engine flags), polls /health every
10 ms, sends each case's requests (or runs the command suite), and stops the server. It
prints one JSON line: its wall time and the time of each job.

Run from the repository root, after one `cargo xtask matrix` has provisioned the cache:
    python3 bench/sequential.py
"""

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("PORT_HARNESS_CACHE", Path.home() / ".cache/port-harness"))
MATRIX = tomllib.loads((ROOT / "matrix.toml").read_text())
IMAGE = "localhost/port-harness/debian:bookworm-slim"
SEED_MTIME = 1767225600  # 2026-01-01T00:00:00Z, the matrix's seed_mtime


def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(data):
    src = ROOT / MATRIX["server"]["seed"]
    shutil.copytree(src, data, symlinks=True, dirs_exist_ok=True)
    for path in [data, *data.rglob("*")]:
        os.utime(path, (SEED_MTIME, SEED_MTIME), follow_symlinks=False)


def wait_ready(port, proc):
    while True:
        if proc.poll() is not None:
            sys.exit(f"the server exited ({proc.returncode}) before it was ready")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/health")
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.01)


def value(doc, path):
    for part in path.strip(".").split("."):
        doc = doc[part]
    return doc


def run_case(port, case_file):
    case = tomllib.loads(case_file.read_text())
    captured = {}

    def fill(text):
        return re.sub(r"\$\{(\w+)\}", lambda m: str(captured[m.group(1)]), text)

    for step in case.get("step", []):
        headers = {k: fill(v) for k, v in step.get("headers", {}).items()}
        body = None
        if "json" in step:
            body = json.dumps(step["json"]).encode()
            headers["content-type"] = "application/json"
        elif "body" in step:
            body = fill(step["body"]).encode()
        elif "body_file" in step:
            body = (case_file.parent / step["body_file"]).read_bytes()
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request(step["method"], fill(step["path"]), body=body, headers=headers)
        response = c.getresponse()
        data = response.read()
        expected = step.get("expect", {}).get("status")
        if expected is not None and response.status != expected:
            sys.exit(f"{case_file}: expected {expected}, got {response.status}")
        for name, source in step.get("capture", {}).items():
            if source.startswith("header:"):
                captured[name] = response.getheader(source[len("header:"):])
            else:
                captured[name] = value(json.loads(data), source)


def under_wine(target):
    """Whether the target's servers run under Wine (the `windows` runtime, or its old
    spelling `wine`)."""
    runtime = next(t["runtime"] for t in MATRIX["target"] if t["name"] == target)
    return runtime in ("windows", "wine")


def launch(target, port, data, log):
    args = [
        a.replace("{addr}", "{host}:" + str(port)) for a in MATRIX["server"]["args"]
    ]
    env = dict(os.environ, **MATRIX["server"].get("env", {}))
    if under_wine(target):
        exe = STAGE / "deploy-server.exe"
        args = [a.replace("{host}", "127.0.0.1").replace("{data_dir}", "Z:" + str(data).replace("/", "\\")) for a in args]
        return subprocess.Popen(["wine", str(exe), *args], cwd=data, env=WINE_ENV | MATRIX["server"].get("env", {}), stdout=log, stderr=log, start_new_session=True)
    flags = json.loads((CACHE / "engine-podman.json").read_text())["run_flags"]
    args = [a.replace("{host}", "0.0.0.0").replace("{data_dir}", "/data") for a in args]
    name = f"sequential-{os.getpid()}-{port}"
    cmd = ["podman", "run", "--rm", "--init", "--sig-proxy=false", "--name", name, *flags,
           "-p", f"127.0.0.1:{port}:{port}",
           "-v", f"{ROOT}/target/x86_64-unknown-linux-gnu/debug:/opt/server:ro",
           "-v", f"{data}:/data", "-w", "/data"]
    for k, v in MATRIX["server"].get("env", {}).items():
        cmd += ["-e", f"{k}={v}"]
    cmd += [IMAGE, "/opt/server/deploy-server", *args]
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, start_new_session=True, env=env)
    proc.container = name
    return proc


def stop(target, proc):
    if proc.poll() is not None:
        sys.exit(f"the server exited ({proc.returncode}) before it was stopped")
    if under_wine(target):
        os.killpg(proc.pid, signal.SIGINT)
    else:
        subprocess.run(["podman", "stop", "--time", "10", proc.container], capture_output=True)
    proc.wait(timeout=30)


def main():
    start = time.monotonic()
    subprocess.run(
        ["cargo", "build", "--quiet", "-p", MATRIX["server"]["package"],
         "--target", "x86_64-pc-windows-gnu", "--target", "x86_64-unknown-linux-gnu"],
        cwd=ROOT, check=True,
        env=dict(os.environ, CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER="x86_64-w64-mingw32-gcc"),
    )
    global STAGE, WINE_ENV
    STAGE = Path(tempfile.mkdtemp(prefix="sequential-wine-"))
    shutil.copy(ROOT / "target/x86_64-pc-windows-gnu/debug/deploy-server.exe", STAGE)
    shutil.copy(CACHE / "processprng-shim/bcryptprimitives.dll", STAGE)
    # The prefix the harness gives the sample's Windows cells: the one reporting Windows 10
    # (what Wine reports for Windows Server 2022 and 2025).
    prefix = CACHE / "wine-prefix-win10"
    WINE_ENV = dict(os.environ, WINEPREFIX=str(prefix if prefix.is_dir() else CACHE / "wine-prefix"), WINEDEBUG="-all", DISPLAY="")
    subprocess.run(["wineserver", "-p"], env=WINE_ENV, check=True)
    jobs = []
    primary = MATRIX["primary"]
    for target in [t["name"] for t in MATRIX["target"]]:
        for suite in MATRIX["suite"]:
            if suite["scope"] == "agnostic" and target != primary:
                continue
            jobs.append((suite, target))
    times = {}
    try:
        for suite, target in jobs:
            began = time.monotonic()
            with tempfile.TemporaryDirectory() as work:
                data = Path(work) / "data"
                seed(data)
                port = free_port()
                with open(Path(work) / "server.log", "wb") as log:
                    proc = launch(target, port, data, log)
                    try:
                        wait_ready(port, proc)
                        if suite["kind"] == "http":
                            for case in sorted((ROOT / suite["path"]).glob("*.toml")):
                                run_case(port, case)
                        else:
                            env = dict(os.environ, HARNESS_BASE_URL=f"http://127.0.0.1:{port}",
                                       HARNESS_CELL=target, HARNESS_TARGET=target,
                                       HARNESS_SNAPSHOT_DIR=str(Path(work) / "snapshots"),
                                       HARNESS_JUNIT=str(Path(work) / "junit.xml"))
                            subprocess.run(suite["command"], cwd=ROOT, env=env, check=True, capture_output=True)
                    finally:
                        try:
                            stop(target, proc)
                        except SystemExit as e:
                            log.flush()
                            sys.exit(f"{suite['name']}@{target}: {e}; its log:\n" + (Path(work) / "server.log").read_text(errors="replace")[-2000:])
            times[f"{suite['name']}@{target}"] = round((time.monotonic() - began) * 1000)
    finally:
        subprocess.run(["wineserver", "-k"], env=WINE_ENV)
        shutil.rmtree(STAGE, ignore_errors=True)
    print(json.dumps({"wall_ms": round((time.monotonic() - start) * 1000), "jobs": times}))


if __name__ == "__main__":
    main()
