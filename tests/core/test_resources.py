"""CPUs and memory as a container gives them, and the other kernels' memory (fake cgroup files, real processes)."""

import subprocess
import sys
import time

import psutil
import pytest

from course_lib.core import resources


def _cgroup(tmp_path, proc_cgroup, files):
    """A fake /sys/fs/cgroup under tmp_path with ``files`` ({relative path: text}); the proc file."""
    root = tmp_path / "cgroup"
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    root.mkdir(exist_ok=True)
    proc = tmp_path / "proc_self_cgroup"
    proc.write_text(proc_cgroup)
    return str(root), str(proc)


@pytest.fixture
def two_cpus(monkeypatch):
    monkeypatch.setattr(resources.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)


@pytest.mark.parametrize("proc, files, quota, cpus", [
    # cgroup v2 in a container (cgroup namespace: the process sits at the mount)
    ("0::/\n", {"cpu.max": "100000 100000\n"}, 1.0, 1),
    ("0::/\n", {"cpu.max": "250000 100000\n"}, 2.5, 2),
    ("0::/\n", {"cpu.max": "50000 100000\n"}, 0.5, 1),    # half a CPU still runs one thread
    ("0::/\n", {"cpu.max": "max 100000\n"}, None, 4),     # no quota: the affinity decides
    # cgroup v2 on a host: the process's own folder and its parents; the smallest quota wins
    ("0::/user.slice/session-1.scope\n",
     {"user.slice/cpu.max": "300000 100000", "user.slice/session-1.scope/cpu.max": "max 100000"}, 3.0, 3),
    # cgroup v1, quota -1 means none
    ("4:cpu,cpuacct:/\n", {"cpu,cpuacct/cpu.cfs_quota_us": "200000", "cpu,cpuacct/cpu.cfs_period_us": "100000"},
     2.0, 2),
    ("4:cpu,cpuacct:/\n", {"cpu,cpuacct/cpu.cfs_quota_us": "-1", "cpu,cpuacct/cpu.cfs_period_us": "100000"},
     None, 4),
    # cgroup v1 in Docker: /proc says /docker/<id>, the mount is the container's own cgroup
    ("4:cpu,cpuacct:/docker/abc\n", {"cpu/cpu.cfs_quota_us": "100000", "cpu/cpu.cfs_period_us": "100000"},
     1.0, 1),
    ("", {}, None, 4),  # no cgroups at all (macOS)
])
def test_cpus_follow_the_container_quota(tmp_path, two_cpus, proc, files, quota, cpus):
    root, proc_file = _cgroup(tmp_path, proc, files)
    assert resources.cpu_quota(root, proc_file) == quota
    assert resources.available_cpus(root, proc_file) == cpus


def test_cpus_never_exceed_the_affinity(tmp_path, monkeypatch):
    monkeypatch.setattr(resources.os, "sched_getaffinity", lambda pid: {3}, raising=False)
    root, proc_file = _cgroup(tmp_path, "0::/\n", {"cpu.max": "400000 100000"})
    assert resources.available_cpus(root, proc_file) == 1


def test_available_cpus_on_this_machine_is_sane():
    assert 1 <= resources.available_cpus() <= (psutil.cpu_count() or 1)


def test_memory_limit_is_the_cgroup_limit_or_the_ram(tmp_path):
    ram = psutil.virtual_memory().total / resources.MB
    root, proc_file = _cgroup(tmp_path, "0::/\n", {"memory.max": "2147483648\n"})
    assert resources.memory_limit_mb(root, proc_file) == pytest.approx(2147.483648)
    root, proc_file = _cgroup(tmp_path / "v1", "5:memory:/\n",
                              {"memory/memory.limit_in_bytes": str(2 ** 63 - 4096)})  # v1: "no limit"
    assert resources.memory_limit_mb(root, proc_file) == pytest.approx(ram)
    root, proc_file = _cgroup(tmp_path / "v2max", "0::/\n", {"memory.max": "max"})
    assert resources.memory_limit_mb(root, proc_file) == pytest.approx(ram)


@pytest.fixture
def fake_kernel(tmp_path):
    """A process whose command line looks like a kernel's and that holds about 100 MB."""
    code = "import time; x = bytearray(100_000_000); x[::4096] = b'1' * len(x[::4096]); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code, "-m", "ipykernel_launcher", "-f",
                                str(tmp_path / "kernel-0123abcd-0000-4000-8000-000000000000.json")])
    deadline = time.monotonic() + 20
    while psutil.Process(process.pid).memory_info().rss < 100e6 and time.monotonic() < deadline:
        time.sleep(0.1)
    yield process
    process.kill()
    process.wait()


def test_other_kernels_finds_a_kernel_and_its_memory(fake_kernel):
    found = {k.pid: k for k in resources.other_kernels()}
    kernel = found[fake_kernel.pid]
    assert kernel.kernel_id == "0123abcd-0000-4000-8000-000000000000"
    assert kernel.rss_mb > 100
    assert kernel.pss_mb is None or 0 < kernel.pss_mb <= kernel.rss_mb
    assert fake_kernel.pid not in {k.pid for k in resources.other_kernels(exclude_pid=fake_kernel.pid)}


def test_session_memory_sums_a_process_and_its_children(fake_kernel):
    parent = psutil.Process()  # this test process is the fake kernel's parent
    alone = parent.memory_info().rss / resources.MB
    summed = resources.session_memory(parent.pid)
    assert fake_kernel.pid in summed["kernels"]
    assert summed["rss_mb"] > alone + 100
    assert summed["processes"] >= 2
    if summed["pss_mb"] is not None:
        assert summed["pss_mb"] <= summed["rss_mb"]
