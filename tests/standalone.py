"""A real Spark standalone cluster on loopback for tests: one master and N workers started with the installed
pyspark's ``spark-class``, each in its own process group so that a test can kill a whole worker (its JVM,
executor and Python workers) the way a lost machine would go."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from conftest import ROOT
from tailor import DELTA_ARTIFACT
from tailor.spark import class_archive_option, delta_jars

BIN = Path(sys.executable).parent
# the JVM flag of every driver and executor the tests start (tailor.spark gives a local driver the same)
PARALLEL_GC = "-XX:+UseParallelGC"


def free_port(preferred: int | None = None) -> int:
    for port in ([preferred] if preferred else []):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                pass
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spark_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "SPARK_LOCAL_IP": "127.0.0.1", "PYSPARK_PYTHON": sys.executable,
            "PYSPARK_DRIVER_PYTHON": sys.executable, **extra}


def delta_args() -> list[str]:
    jars = delta_jars(str(ROOT / ".jars"))
    return ["--jars", ",".join(jars)] if jars else ["--packages", DELTA_ARTIFACT]


@dataclass
class Cluster:
    """A running master and its workers."""

    root: Path
    port: int = 0
    ui_port: int = 0
    master: subprocess.Popen | None = None
    workers: dict[int, subprocess.Popen] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"spark://127.0.0.1:{self.port}"

    def state(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.ui_port}/json/", timeout=5) as r:
            return json.load(r)

    def alive_workers(self) -> int:
        try:
            return sum(w["state"] == "ALIVE" for w in self.state()["workers"])
        except OSError:
            return 0

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.root / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        # scratch folders (an executor's, and a killed one's, which nothing deletes) go under the cluster's
        # folder, not /tmp
        local = self.root / "local"
        local.mkdir(exist_ok=True)
        return subprocess.Popen([str(BIN / "spark-class"), *args], stdout=log, stderr=subprocess.STDOUT,
                                env=spark_env(SPARK_NO_DAEMONIZE="1", SPARK_LOCAL_DIRS=str(local)), cwd=self.root,
                                start_new_session=True)

    def start(self, workers: int = 2, worker_memory: str = "3g") -> Cluster:
        self.port, self.ui_port = free_port(7077), free_port()
        self.master = self._spawn("master", "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
                                  "--port", str(self.port), "--webui-port", str(self.ui_port))
        self._wait(lambda: self.state()["status"] == "ALIVE", "the master")
        for i in range(1, workers + 1):
            self.start_worker(i, worker_memory)
        self._wait(lambda: self.alive_workers() == workers, f"{workers} workers")
        return self

    def start_worker(self, i: int, memory: str = "3g") -> None:
        work = self.root / f"worker{i}"
        work.mkdir(exist_ok=True)
        self.workers[i] = self._spawn(
            f"worker{i}", "org.apache.spark.deploy.worker.Worker", self.url, "--host", "127.0.0.1",
            "--cores", "1", "--memory", memory, "--webui-port", str(free_port()), "--work-dir", str(work))

    def kill_worker(self, i: int) -> None:
        """SIGKILL worker ``i`` with everything it started (executor JVM, Python workers)."""
        p = self.workers.pop(i)
        os.killpg(p.pid, signal.SIGKILL)
        p.wait(timeout=30)

    def _wait(self, ready, what: str, timeout: float = 120) -> None:
        end = time.time() + timeout
        while time.time() < end:
            try:
                if ready():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise TimeoutError(f"{what} did not come up in {timeout:.0f}s; logs in {self.root}")

    def stop(self) -> None:
        for p in [*self.workers.values(), self.master]:
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in [*self.workers.values(), self.master]:
            if p is not None:
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)


def submit_cmd(master: str, entry: str, *args: str, py_files: Path | None = None,
               conf: dict[str, str] | None = None) -> list[str]:
    """A spark-submit command line for ``jobs/<entry>.py`` with Tailor's arguments."""
    confs = {"spark.ui.enabled": "false", "spark.driver.extraJavaOptions": PARALLEL_GC, **(conf or {})}
    confs["spark.driver.extraJavaOptions"] += class_archive_option(str(ROOT / ".jars"))  # make cds
    return [str(BIN / "spark-submit"), "--master", master,
            *[a for k, v in confs.items() for a in ("--conf", f"{k}={v}")],
            *delta_args(), *(["--py-files", str(py_files)] if py_files else []),
            str(ROOT / "jobs" / f"{entry}.py"), *args]
