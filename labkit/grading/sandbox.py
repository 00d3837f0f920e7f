"""The grading sandbox: every kernel that runs learner code for grading runs inside bubblewrap.

nbgrader executes a submission with the grader's rights (docs/reference.md, "nbgrader 0.9.6":
"not a sandbox"), so a notebook could read the hidden tests, open the gradebook, reach the
network or leave a process running after grading. :class:`~labkit.grading._preprocessors.GuardedExecute` starts each grading
kernel with ``LABKIT_SANDBOX=on`` and ZeroMQ's ``ipc`` transport (Unix sockets in a private
folder, so the kernel needs no network to talk to the grader); the kernel launcher
(:mod:`._kernel`) then replaces itself with :func:`command`'s ``bwrap`` call. Inside:

* its own user, PID, network, IPC, UTS and cgroup namespaces (``--unshare-all``): no network but
  a loopback of its own (the lab 04 service and torchrun's store use it), and every process the
  notebook starts is killed when the kernel exits or the grader kills it (``--die-with-parent``);
* an allow-list filesystem: ``/usr``, the few ``/etc`` files programs need, the Python prefixes
  and the ``labkit`` package, all read-only; the kernel's working folder (the submission's scratch
  copy) read-write with its notebooks masked (the file being graded holds the hidden tests); the
  folder of its ``ipc`` sockets; a private ``/tmp``. The course, ``solutions/``, gradebooks, other
  submissions, ``/run`` (database sockets) and the grader's home are not there at all;
* a cleared environment (a ``LABKIT_DB_URL`` with a password stays outside) and no capabilities;
* the kernel's CPU-time and memory limits (:mod:`._kernel`), and, where the grader may create a
  cgroup, a cap on its processes and threads (``pids.max``) so a fork bomb fails with ``EAGAIN``.

GPU device nodes (``/dev/nvidia*``) are passed through when the machine has them: every lab uses
the GPU when there is one.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MODE_ENV",
    "PROCESSES_ENV",
    "SHARE_ENV",
    "SandboxStatus",
    "SandboxUnavailable",
    "cap_processes",
    "command",
    "ipc_folder",
    "kernel_environment",
    "probe",
]

MODE_ENV = "LABKIT_SANDBOX"  # "on": the launcher wraps the kernel; "inside": it is wrapped
# Folders (os.pathsep-separated) the instructor shares read-write with every grading kernel, at
# the same path: a data set, or a test harness's log. Never the course itself (checked).
SHARE_ENV = "LABKIT_SANDBOX_SHARE"
PROCESSES_ENV = "LABKIT_KERNEL_PROCESSES"  # pids.max of the sandbox's cgroup
_CGROUP_PREFIX = "labkit-kernel-"

# What a Python kernel, torch, matplotlib, torchrun and uvicorn read under /etc; not shadow files,
# machine-id, ssh or database configuration.
_ETC = (
    "alternatives", "fonts", "gai.conf", "group", "host.conf", "hosts", "ld.so.cache",
    "ld.so.conf", "ld.so.conf.d", "localtime", "mime.types", "nsswitch.conf", "os-release",
    "passwd", "protocols", "services", "ssl", "timezone",
)  # fmt: skip
# The variables a grading kernel keeps; everything else (database URLs, tokens) is dropped.
_KEEP_ENV = re.compile(
    r"(PATH|LANG|LANGUAGE|TZ|TERM|LC_\w+|NBGRADER_\w+|LABKIT_KERNEL_\w+|LABKIT_DEVICE"
    r"|(OMP|MKL|OPENBLAS)_NUM_THREADS|CUDA_VISIBLE_DEVICES|NVIDIA_\w+|TRITON_INTERPRET"
    r"|PYTHONHASHSEED|PYTHONPATH)"
)


class SandboxUnavailable(RuntimeError):
    """The grading sandbox cannot start on this machine (no bwrap, no user namespaces, ...)."""


@dataclass(frozen=True)
class SandboxStatus:
    """Whether grading kernels can run inside the sandbox here, and why not if they cannot."""

    works: bool
    detail: str

    def __str__(self) -> str:
        return f"{'works' if self.works else 'unavailable'}: {self.detail}"


def _system_binds() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        path = Path(top)
        if path.is_symlink():  # merged /usr (Debian, Fedora): keep the link
            args += ["--symlink", os.readlink(path), top]
        elif path.is_dir():
            args += ["--ro-bind", top, top]
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def _python_paths() -> list[Path]:
    """The interpreter's prefixes and the labkit package, outermost first, without repeats."""
    import labkit

    paths = {Path(p).resolve() for p in (sys.base_prefix, sys.prefix)}
    paths.add(Path(labkit.__file__).resolve().parent)
    kept: list[Path] = []
    for path in sorted(paths, key=lambda p: len(p.parts)):
        inside = path.is_relative_to("/usr") or any(path.is_relative_to(k) for k in kept)
        if path.is_dir() and not inside:
            kept.append(path)
    return kept


def _gpu_devices() -> list[str]:
    args: list[str] = []
    for node in sorted(Path("/dev").glob("nvidia*")):
        if node.is_char_device():
            args += ["--dev-bind", str(node), str(node)]
    for folder in ("/dev/nvidia-caps", "/dev/dri"):
        if Path(folder).is_dir():
            args += ["--dev-bind", folder, folder]
    return args


def kernel_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The variables of ``env`` a grading kernel keeps, plus a private home.

    Examples
    --------
    >>> sorted(kernel_environment({"PATH": "/usr/bin", "LABKIT_DB_URL": "postgresql://x"}))
    ['HOME', 'LABKIT_SANDBOX', 'MPLCONFIGDIR', 'PATH']
    """
    kept = {k: v for k, v in env.items() if _KEEP_ENV.fullmatch(k)}
    # HOME and caches live in the private /tmp; MODE_ENV tells the launcher it is wrapped.
    kept.update(HOME="/tmp", MPLCONFIGDIR="/tmp/matplotlib", **{MODE_ENV: "inside"})
    return kept


def command(
    argv: Sequence[str],
    *,
    workdir: str | Path,
    ipc_dir: str | Path,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` in the sandbox.

    Parameters
    ----------
    argv
        The program and its arguments, as run inside (paths under the bound prefixes).
    workdir
        The one read-write folder (the submission's scratch copy); it is also the working
        directory. Its top-level notebooks are masked: the one being graded holds hidden tests.
    ipc_dir
        The private folder of the kernel's connection file and ZeroMQ ``ipc`` sockets.
    env
        Variables to filter through :func:`kernel_environment` (default ``os.environ``); its
        ``LABKIT_SANDBOX_SHARE`` folders are bound read-write.
    """
    env = os.environ if env is None else env
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(
            "bubblewrap is not installed (Debian/Ubuntu: apt install bubblewrap)"
        )
    workdir, ipc_dir = Path(workdir).resolve(), Path(ipc_dir).resolve()
    for name, folder in (("workdir", workdir), ("ipc_dir", ipc_dir)):
        if not folder.is_dir():
            raise ValueError(f"{name}={str(folder)!r} is not a folder")
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
    args += ["--clearenv", *_system_binds(), "--ro-bind", "/sys", "/sys"]
    args += ["--proc", "/proc", "--dev", "/dev", *_gpu_devices(), "--tmpfs", "/tmp"]
    for path in _python_paths():
        args += ["--ro-bind", str(path), str(path)]
    args += ["--bind", str(workdir), str(workdir)]
    for notebook in sorted(workdir.glob("*.ipynb")):
        args += ["--ro-bind", "/dev/null", str(notebook)]
    args += ["--bind", str(ipc_dir), str(ipc_dir)]
    for folder in _shared(env.get(SHARE_ENV, "")):
        args += ["--bind", str(folder), str(folder)]
    # the skeleton folders bwrap made for the mount points (/work/..., /root/...) stay read-only
    args += ["--remount-ro", "/", "--chdir", str(workdir)]
    for key, value in sorted(kernel_environment(env).items()):
        args += ["--setenv", key, value]
    return [*args, "--", *argv]


def _shared(value: str) -> list[Path]:
    from labkit.grading._paths import course_root

    try:
        course = course_root()
    except FileNotFoundError:
        course = None
    folders = []
    for raw in filter(None, value.split(os.pathsep)):
        folder = Path(raw).resolve()
        if not folder.is_dir():
            raise ValueError(f"{SHARE_ENV}: {raw!r} is not a folder")
        if course is not None and (folder.is_relative_to(course) or course.is_relative_to(folder)):
            raise ValueError(
                f"{SHARE_ENV}: {raw!r} overlaps the course at {str(course)!r}, which grading "
                "kernels must not see; share a folder outside it"
            )
        folders.append(folder)
    return folders


def ipc_folder(connection_file: str | Path) -> Path:
    """The private folder of a kernel's ``ipc`` sockets, checked to hold nothing else.

    The sandbox binds this folder read-write, so it must not be the shared Jupyter runtime
    folder (other kernels' connection files hold their signing keys).
    """
    path = Path(connection_file).resolve()
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise SandboxUnavailable(f"connection file {str(path)!r} unreadable: {err}") from None
    if info.get("transport") != "ipc":
        raise SandboxUnavailable(
            f"connection file {str(path)!r} uses transport={info.get('transport')!r}; the "
            "sandboxed kernel has no network, so it needs transport='ipc'"
        )
    folder = Path(info["ip"]).resolve().parent
    others = [p.name for p in folder.iterdir() if p != path]
    if folder != path.parent or others:
        raise SandboxUnavailable(
            f"the ipc folder {str(folder)!r} is not private to this kernel (also holds {others})"
        )
    return folder


def _cgroup_parents() -> list[Path]:
    """Where this process may create a child cgroup with a ``pids`` controller (v1, then v2)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    parents = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        rel = path.lstrip("/")
        if "pids" in controllers.split(","):
            parents.append(Path("/sys/fs/cgroup/pids") / rel)
        elif controllers == "":
            base = Path("/sys/fs/cgroup") / rel
            try:
                if "pids" in (base / "cgroup.subtree_control").read_text().split():
                    parents.append(base)
            except OSError:
                pass
    return parents


def cap_processes(limit: int) -> bool:
    """Move this process into a new cgroup whose ``pids.max`` is ``limit``; whether it could.

    Children inherit the cgroup, so everything the kernel starts counts. Cgroups left by killed
    kernels are removed first (``rmdir`` only succeeds on an empty one).
    """
    for parent in _cgroup_parents():
        for stale in parent.glob(_CGROUP_PREFIX + "*"):
            with contextlib.suppress(OSError):  # still in use by a running kernel
                stale.rmdir()
        group = parent / f"{_CGROUP_PREFIX}{os.getpid()}"
        try:
            group.mkdir(exist_ok=True)
            (group / "pids.max").write_text(str(limit))
            (group / "cgroup.procs").write_text(str(os.getpid()))
        except OSError:
            with contextlib.suppress(OSError):
                group.rmdir()
            continue
        return True
    return False


def _can_cap_processes() -> bool:
    for parent in _cgroup_parents():
        group = parent / f"{_CGROUP_PREFIX}probe-{os.getpid()}"
        try:
            group.mkdir()
            group.rmdir()
            return True
        except OSError:
            continue
    return False


# Exit 0 only when the connection fails: a sandbox with a network is not one.
_PROBE = """
import socket, sys
try:
    socket.create_connection(("192.0.2.1", 9), timeout=1)
except OSError:
    sys.exit(0)
sys.exit(3)
"""


@functools.cache
def probe() -> SandboxStatus:
    """Start a trivial program in the sandbox once per process and report whether it ran."""
    try:
        with tempfile.TemporaryDirectory(prefix="labkit-probe-") as tmp:
            work, ipc = Path(tmp, "work"), Path(tmp, "ipc")
            work.mkdir()
            ipc.mkdir()
            argv = command([sys.executable, "-c", _PROBE], workdir=work, ipc_dir=ipc)
            run = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    except SandboxUnavailable as err:
        return SandboxStatus(False, str(err))
    except (OSError, subprocess.TimeoutExpired) as err:
        return SandboxStatus(False, f"bwrap could not start: {err}")
    if run.returncode == 3:
        return SandboxStatus(False, "the sandbox still reaches the network")
    if run.returncode != 0:
        lines = run.stderr.strip().splitlines()
        return SandboxStatus(False, lines[-1] if lines else f"bwrap exit status {run.returncode}")
    version = subprocess.run([argv[0], "--version"], capture_output=True, text=True).stdout
    cap = (
        "fork bombs capped by a cgroup"
        if _can_cap_processes()
        else ("no process cap (no writable pids cgroup here)")
    )
    return SandboxStatus(True, f"{version.strip() or 'bubblewrap'}; no network; {cap}")
