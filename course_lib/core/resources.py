"""What this machine or container really gives the course: CPUs, memory, and other kernels.

Pure Python plus psutil: importing this module loads neither NumPy nor
TensorFlow, so the Jupyter server (which imports ``kernel_policy``) and
``make.py`` can use it.

``available_cpus()``   CPUs this process may use: affinity and the container's CPU quota
``memory_limit_mb()``  memory this container may use: the cgroup limit or the machine's RAM
``other_kernels()``    the other ipykernel processes of this user, with their memory
``session_memory()``   summed memory of a Jupyter server and every process under it
"""

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

import psutil

MB = 1e6  # bytes: the course reports memory in decimal megabytes (2,000 MB = 2 GB)
_KERNEL_FILE = re.compile(r"kernel-([0-9a-f-]+)\.json$")


def _read(path):
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def _cgroup_dirs(root, proc_cgroup, controller):
    """Folders that may hold this process's cgroup limits, deepest first.

    Args:
        root: where cgroups are mounted (``/sys/fs/cgroup``).
        proc_cgroup: text of ``/proc/self/cgroup`` (``"0::/path"`` for v2,
            ``"4:cpu,cpuacct:/path"`` for v1), or None.
        controller: ``""`` for cgroup v2, else the v1 controller (``"cpu"``, ``"memory"``).

    The process's cgroup folder and each parent up to the mount. Inside a
    container the mount usually is the container's own cgroup, and the path
    in ``/proc/self/cgroup`` (the host's view) does not exist under it: then
    only the mount is read.
    """
    for line in (proc_cgroup or "").splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controller == "" and controllers == "":
            mounts = [Path(root)]
        elif controller and controller in controllers.split(","):
            mounts = [Path(root) / controllers, Path(root) / controller]
        else:
            continue
        for mount in mounts:
            if not mount.is_dir():
                continue
            folder = mount / path.strip("/")
            chain = [folder, *folder.parents]
            return [d for d in chain[:chain.index(mount) + 1] if d.is_dir()]
    return []


def cpu_quota(root="/sys/fs/cgroup", proc_cgroup_file="/proc/self/cgroup"):
    """The container's CPU quota in CPUs (e.g. 1.0, 0.5), or None when there is none.

    Reads cgroup v2 ``cpu.max`` (``"QUOTA PERIOD"`` or ``"max PERIOD"``) and
    cgroup v1 ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` (quota -1: none),
    in this process's cgroup and every parent; the smallest quota wins.
    """
    proc_cgroup = _read(proc_cgroup_file)
    quotas = []
    for folder in _cgroup_dirs(root, proc_cgroup, ""):
        text = _read(folder / "cpu.max")
        if text and not text.startswith("max"):
            quota, period = (int(x) for x in text.split()[:2])
            if quota > 0 and period > 0:
                quotas.append(quota / period)
    for folder in _cgroup_dirs(root, proc_cgroup, "cpu"):
        quota, period = _read(folder / "cpu.cfs_quota_us"), _read(folder / "cpu.cfs_period_us")
        if quota and period and int(quota) > 0 and int(period) > 0:
            quotas.append(int(quota) / int(period))
    return min(quotas) if quotas else None


def available_cpus(root="/sys/fs/cgroup", proc_cgroup_file="/proc/self/cgroup"):
    """How many CPUs this process can really keep busy (an int, at least 1).

    The smaller of the CPUs it may run on (its affinity, what ``taskset``
    sets) and the container's CPU quota rounded down (a quota of 1.5 CPUs
    gives 1: a second busy thread would be throttled for half of each period).
    ``os.cpu_count()`` is the node's core count, which a container on a
    64-core node with a 1-CPU quota must not size its thread pools by.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        cpus = os.cpu_count() or 1
    quota = cpu_quota(root, proc_cgroup_file)
    if quota is not None:
        cpus = min(cpus, max(1, math.floor(quota)))
    return max(1, cpus)


def memory_limit_mb(root="/sys/fs/cgroup", proc_cgroup_file="/proc/self/cgroup"):
    """Memory this container may use, in MB: its cgroup limit or, without one, the machine's RAM."""
    total = psutil.virtual_memory().total
    proc_cgroup = _read(proc_cgroup_file)
    limits = []
    for folder in _cgroup_dirs(root, proc_cgroup, ""):
        text = _read(folder / "memory.max")
        if text and text.isdigit():
            limits.append(int(text))
    for folder in _cgroup_dirs(root, proc_cgroup, "memory"):
        text = _read(folder / "memory.limit_in_bytes")
        if text and text.isdigit():
            limits.append(int(text))
    return min([total, *limits]) / MB


@dataclass
class KernelProcess:
    """One running ipykernel: its process id, kernel id (from its connection file) and memory in MB.

    ``pss_mb`` counts shared library pages once across processes (None where
    the system does not report it, e.g. macOS).
    """

    pid: int
    kernel_id: str
    rss_mb: float
    pss_mb: float | None
    started: float  # seconds since the epoch


def _memory(process):
    """(rss, pss or None) of ``process`` in bytes."""
    try:
        full = process.memory_full_info()
        return full.rss, getattr(full, "pss", None)
    except psutil.AccessDenied:
        return process.memory_info().rss, None


def _is_kernel(cmdline):
    return any("ipykernel" in part for part in cmdline) and "-f" in cmdline


def other_kernels(exclude_pid=None):
    """The ipykernel processes of this user other than ``exclude_pid`` (default: this process).

    Returns:
        a list of :class:`KernelProcess`, largest resident memory first.
        ``check_env`` can say from it how much memory other notebooks'
        kernels hold, and that shutting them down (or restarting them) frees it.
    """
    exclude_pid = os.getpid() if exclude_pid is None else exclude_pid
    me = psutil.Process().username()
    found = []
    for process in psutil.process_iter(["pid", "username", "cmdline", "create_time"]):
        info = process.info
        if info["pid"] == exclude_pid or info["username"] != me or not _is_kernel(info["cmdline"] or []):
            continue
        try:
            rss, pss = _memory(process)
        except psutil.Error:  # ended while we looked
            continue
        connection = info["cmdline"][info["cmdline"].index("-f") + 1] if "-f" in info["cmdline"] else ""
        match = _KERNEL_FILE.search(connection)
        found.append(KernelProcess(info["pid"], match.group(1) if match else "", rss / MB,
                                   None if pss is None else pss / MB, info["create_time"]))
    return sorted(found, key=lambda k: -k.rss_mb)


def session_memory(server_pid):
    """Summed memory, in MB, of a Jupyter server and every process under it (its kernels).

    Returns:
        ``{"rss_mb", "pss_mb", "processes", "kernels": {pid: rss_mb}}``. ``rss_mb``
        counts a library mapped by two kernels twice (an upper bound on what the
        container is charged); ``pss_mb`` splits shared pages between the
        processes that map them (closer to the cgroup's charge; None where unknown).
    """
    server = psutil.Process(server_pid)
    processes = [server, *server.children(recursive=True)]
    rss = pss = 0
    pss_known = True
    kernels = {}
    for process in processes:
        try:
            one_rss, one_pss = _memory(process)
            cmdline = process.cmdline()
        except psutil.Error:
            continue
        rss += one_rss
        if one_pss is None:
            pss_known = False
        else:
            pss += one_pss
        if _is_kernel(cmdline):
            kernels[process.pid] = one_rss / MB
    return {"rss_mb": rss / MB, "pss_mb": pss / MB if pss_known else None,
            "processes": len(processes), "kernels": kernels}
