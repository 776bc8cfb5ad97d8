"""What the benchmark scripts record about the machine and the repository: the CPU's name, its
memory, and the commit of the checkout (with "+dirty" when tracked files differ from it).
Imported by dml/, forest/ and meta/bench.py."""
import platform
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def git_commit():
    """HEAD of the repository, "+dirty" when a tracked file differs from it; None without git."""
    try:
        out = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True)
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "") if out.returncode == 0 else None
    except OSError:
        return None


def cpu_name():
    """The CPU's model name from /proc/cpuinfo, else what platform knows."""
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def mem_gib(key, ndigits=1):
    """The /proc/meminfo entry `key` (MemTotal, MemAvailable, ...) in GiB, rounded to `ndigits`
    (None: not rounded); None when it cannot be read."""
    try:
        for line in open("/proc/meminfo"):
            if line.startswith(key + ":"):
                gib = int(line.split()[1]) / 2**20
                return gib if ndigits is None else round(gib, ndigits)
    except OSError:
        pass
    return None
