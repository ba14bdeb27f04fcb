"""A throw-away single-node Slurm cluster on this machine, for the SLURM integration test.

Brings up munged, slurmctld and slurmd from Debian's `slurm-wlm` and `munge` packages as plain
background processes (no systemd, no cgroups, no accounting database), with every file they use
(config, munge key and socket, state, spool, logs, pid files) in one temporary folder and with
free TCP ports, so that it neither needs nor disturbs a Slurm that may already be on the machine.
Clients find it through the SLURM_CONF environment variable (see `LocalSlurm.env`).

`LocalSlurm.start()` raises `SlurmUnavailable` (with the reason) when the cluster cannot be
started; `stop()` ends only the processes it started, by their pids.

By hand (for debugging): `python tests/slurm/local_slurm.py /tmp/slurm` starts one and waits.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

BINARIES = ("munged", "slurmctld", "slurmd", "sinfo", "squeue", "sbatch", "srun", "scancel", "scontrol")


class SlurmUnavailable(RuntimeError):
    """The local cluster could not be started; the message says why."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child is not alive
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[-1][0] != "Z"
    except OSError:
        return False


class LocalSlurm:
    """One slurmctld + one slurmd: the machine's CPUs, 90% of its memory, `gpus` GPU(s) on paper,
    and two partitions on that node: `debug` (the default) and `other` (asked for by name)."""

    def __init__(
        self, root: Path, partition: str = "debug", other_partition: str = "other", mem_fraction: float = 0.9, gpus: int = 1
    ):
        self.root = Path(root)
        self.gpus = gpus
        self.partition = partition
        self.other_partition = other_partition
        self.mem_fraction = mem_fraction
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket.2"
        self.procs: dict[str, subprocess.Popen] = {}
        self.node = ""
        self.cpus = 0
        self.real_memory = 0

    # -- environment -------------------------------------------------------------------------
    @property
    def env(self) -> dict[str, str]:
        """Variables for Slurm clients (sbatch, squeue, srun, ...) to talk to this cluster.

        Inside a job, snakemake-executor-plugin-slurm-jobstep starts the rule with `srun` after
        removing every SLURM_* variable from its environment, SLURM_CONF included (a real
        cluster's clients find /etc/slurm/slurm.conf or ask slurmd); an `srun` on PATH that puts
        SLURM_CONF back keeps that srun on this cluster without touching /etc/slurm.
        """
        return {"SLURM_CONF": str(self.conf), "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}

    def _run(self, *cmd: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=check, env={**os.environ, **self.env}
        )

    # -- start -------------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> "LocalSlurm":
        if os.geteuid() != 0:
            raise SlurmUnavailable("a local Slurm (SlurmUser=root) needs root")
        missing = [b for b in BINARIES if shutil.which(b) is None]
        if missing:
            raise SlurmUnavailable(
                f"Slurm/munge binaries not found: {', '.join(missing)} (apt-get install slurm-wlm munge)"
            )
        try:
            self._write_files()
            self._start_munged(timeout)
            self._spawn("slurmctld", ["slurmctld", "-D", "-f", str(self.conf)])
            self._wait(lambda: self._run("scontrol", "ping", check=False).stdout.count("UP") > 0,
                       timeout, "slurmctld does not answer `scontrol ping`")
            self._spawn("slurmd", ["slurmd", "-D", "-f", str(self.conf), "-N", self.node])
            self._wait(self._node_idle, timeout, f"node {self.node} is not idle in `sinfo`")
        except (OSError, subprocess.SubprocessError) as e:
            self.stop()
            raise SlurmUnavailable(f"could not start the local Slurm: {e}") from e
        except BaseException:  # SlurmUnavailable, Ctrl-C, ...: leave nothing running
            self.stop()
            raise
        return self

    def _write_files(self) -> None:
        for sub in ("munge", "state", "spool", "log", "run", "bin"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        srun = self.root / "bin" / "srun"
        srun.write_text(f'#!/bin/sh\nexport SLURM_CONF="${{SLURM_CONF:-{self.conf}}}"\nexec {shutil.which("srun")} "$@"\n')
        srun.chmod(0o755)
        os.chmod(self.root / "munge", 0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)

        # What the hardware is, as slurmd sees it: "NodeName=vm CPUs=2 ... RealMemory=24105"
        probe = subprocess.run(["slurmd", "-C"], capture_output=True, text=True, timeout=30)
        fields = dict(re.findall(r"(\w+)=(\S+)", probe.stdout))
        if "NodeName" not in fields:
            raise SlurmUnavailable(f"`slurmd -C` failed: {probe.stdout}{probe.stderr}")
        self.node = fields["NodeName"]
        self.cpus = int(fields.get("CPUs", os.cpu_count() or 1))
        self.real_memory = int(int(fields.get("RealMemory", 1024)) * self.mem_fraction)

        ctld_port, slurmd_port = _free_port(), _free_port()
        r = self.root
        self.conf.write_text(
            f"""# generated by tests/slurm/local_slurm.py
ClusterName=vadflowtest
SlurmctldHost={self.node}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmdPidFile={r}/run/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# no systemd, no cgroups, no slurmdbd
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# {self.gpus} GPU(s) that exist only on paper (gres.conf points them at /dev/null), so that jobs
# asking for a GPU (sbatch --gpus=1) are scheduled; the tiny config runs with device: cpu
GresTypes=gpu
# finished jobs stay visible to `squeue --states=all` (the status command without slurmdbd)
MinJobAge=3600
SlurmdTimeout=300
InactiveLimit=0
KillWait=5
NodeName={self.node} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={self.real_memory} Gres=gpu:{self.gpus} State=UNKNOWN
PartitionName={self.partition} Nodes={self.node} Default=YES MaxTime=INFINITE State=UP
PartitionName={self.other_partition} Nodes={self.node} Default=NO MaxTime=INFINITE State=UP
"""
        )

        (self.root / "gres.conf").write_text(f"NodeName={self.node} Name=gpu File=/dev/null Count={self.gpus}\n")

    def _start_munged(self, timeout: float) -> None:
        m = self.root / "munge"
        self._spawn(
            "munged",
            [
                "munged", "--foreground", "--force",
                f"--socket={self.munge_socket}", f"--key-file={m / 'munge.key'}",
                f"--pid-file={m / 'munged.pid'}", f"--log-file={self.root / 'log' / 'munged.log'}",
                f"--seed-file={m / 'munged.seed'}",
            ],
        )
        self._wait(self.munge_socket.exists, timeout, "munged does not create its socket")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "w")
        self.procs[name] = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **self.env}, start_new_session=True,
        )
        log.close()

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise SlurmUnavailable(f"{name} exited with {proc.returncode}: {self._log_tail(name)}")
            try:
                if ready():
                    return
            except (OSError, subprocess.SubprocessError):
                pass
            time.sleep(0.5)
        raise SlurmUnavailable(f"{what} after {timeout:.0f} s: {self._log_tail()}")

    def _node_idle(self) -> bool:
        out = self._run("sinfo", "--noheader", "--Node", "--format=%N %t", check=False).stdout.split()
        return out[:2] == [self.node, "idle"]

    def _log_tail(self, name: str | None = None, chars: int = 1500) -> str:
        names = [name] if name else list(self.procs)
        text = ""
        for n in names:
            for f in (self.root / "log").glob(f"{n}*"):
                text += f"\n--- {f.name}\n" + f.read_text(errors="replace")[-chars:]
        return text

    # -- use ---------------------------------------------------------------------------------
    FIELDS = ("JobID", "State", "Name", "Partition", "Comment", "tres-per-job", "NumCPUs", "MinMemory", "TimeLimit",
              "NumTasks")

    def jobs(self) -> dict[str, dict[str, str]]:
        """Every job slurmctld still knows about (finished ones for MinJobAge), by job id:
        {"12": {"State": "COMPLETED", "Name": ..., "Partition": ..., "Comment": ...,
        "tres-per-job": "gres:gpu:1" or "N/A", "NumCPUs": "2", "MinMemory": "8000M", "TimeLimit": "2:00:00"}}."""
        fmt = ",".join(f"{f}:|" for f in self.FIELDS)
        out = self._run("squeue", "--noheader", "--states=all", "-O", fmt).stdout
        jobs = {}
        for line in out.splitlines():
            values = [v.strip() for v in line.split("|")]
            jobs[values[0]] = dict(zip(self.FIELDS[1:], values[1:]))
        return jobs

    # -- stop --------------------------------------------------------------------------------
    def stop(self) -> None:
        """Cancel what is left of our jobs, then end the daemons we started (by pid)."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            try:
                for partition in (self.partition, self.other_partition):
                    self._run("scancel", "--full", f"--partition={partition}", check=False)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and any(
                    j["State"] in ("PENDING", "RUNNING", "COMPLETING", "CONFIGURING") for j in self.jobs().values()
                ):
                    time.sleep(0.5)
            except (OSError, subprocess.SubprocessError, ValueError):
                pass
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self.procs.get(name)
            if proc is None:
                continue
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)
        # A job step that outlived the cancellation: its slurmstepd and what it runs
        for pid in self._stepd_pids():
            for p in [*_descendants(pid), pid]:
                try:
                    os.kill(p, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.procs.clear()

    def _stepd_pids(self) -> list[int]:
        """slurmstepd processes of this cluster (slurmd passes them its environment: our SLURM_CONF)."""
        pids = []
        marker = f"SLURM_CONF={self.conf}\0".encode()
        for p in Path("/proc").iterdir():
            if not p.name.isdigit():
                continue
            try:
                if (p / "comm").read_text().strip() != "slurmstepd":
                    continue
                if marker in (p / "environ").read_bytes() + b"\0":
                    pids.append(int(p.name))
            except OSError:
                continue
        return [pid for pid in pids if _pid_alive(pid)]


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                ppid = int((p / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(p.name))
    out, todo = [], list(children.get(pid, []))
    while todo:
        c = todo.pop()
        out.append(c)
        todo.extend(children.get(c, []))
    return out


if __name__ == "__main__":
    import sys

    cluster = LocalSlurm(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/vadflow-slurm")).start()
    print(f"export SLURM_CONF={cluster.conf}  # Ctrl-C stops the cluster", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()
