"""The grading kernel: ipykernel under CPU-time and memory limits while nbgrader executes.

nbgrader runs a learner's code with the grader's rights and no limits (docs/reference.md,
"nbgrader 0.9.6": "not a sandbox"). This launcher is installed as the virtual environment's ``python3`` kernelspec (a spec
under ``sys.prefix/share/jupyter/kernels/python3`` takes precedence over ipykernel's built-in
one), so ``labkit grade``, ``labkit grade-class`` and a plain ``nbgrader autograde`` all start it.
It applies ``resource.setrlimit`` only when ``NBGRADER_EXECUTION`` is set in the environment it
inherits from the grader; a learner's interactive JupyterLab kernel runs unlimited.

Limits come from the environment (``nbgrader_config.py`` sets the course's defaults):

``LABKIT_KERNEL_MEMORY_MB``
    ``RLIMIT_DATA`` (heap and private anonymous mappings, Linux ≥ 4.7), so an allocation beyond it
    raises ``MemoryError`` in the cell instead of the machine swapping or the OOM killer picking a
    victim. ``RLIMIT_DATA`` rather than ``RLIMIT_AS``: CUDA and PyTorch reserve far more virtual
    address space than they ever touch.
``LABKIT_KERNEL_CPU_S``
    ``RLIMIT_CPU``: the kernel is killed (SIGXCPU, then SIGKILL) after this much CPU time over
    all its threads; the grader restarts it and grades the rest (:mod:`._preprocessors`).
``LABKIT_KERNEL_PROCESSES``
    ``pids.max`` of the sandbox's cgroup, where the grader may create one (:mod:`.sandbox`).

With ``LABKIT_SANDBOX=on`` (set by the grader, never by the notebook) the launcher applies the
limits, then replaces itself with the sandbox (:func:`labkit.grading.sandbox.command`) running
this same module inside.

Install with ``python -m labkit.grading._kernel install`` (``make`` does it).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from labkit.grading import sandbox

__all__ = ["CPU_ENV", "MEMORY_ENV", "apply_limits", "install", "installed", "main"]

MEMORY_ENV = "LABKIT_KERNEL_MEMORY_MB"
CPU_ENV = "LABKIT_KERNEL_CPU_S"
_MODULE = "labkit.grading._kernel"

SPEC = {
    # "python" is replaced by the interpreter of whoever starts the kernel (jupyter_client), so
    # the spec works for any venv location.
    "argv": ["python", "-m", _MODULE, "-f", "{connection_file}"],
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
    "metadata": {"debugger": True, "labkit": "grading limits apply under NBGRADER_EXECUTION"},
    # Interrupts travel over the control channel: a signal to the launcher's process would reach
    # bubblewrap, not the kernel inside its PID namespace.
    "interrupt_mode": "message",
    "kernel_protocol_version": "5.5",
}


def _positive(env: dict[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(float(raw))
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number; expected a positive integer") from None
    if value <= 0:
        raise ValueError(f"{name}={raw!r} must be positive")
    return value


def apply_limits(env: dict[str, str] | None = None) -> dict[str, int]:
    """Apply the grading limits if ``NBGRADER_EXECUTION`` is set; return what was applied.

    Examples
    --------
    >>> apply_limits({})  # not grading: nothing is limited
    {}
    """
    env = dict(os.environ if env is None else env)
    if not env.get("NBGRADER_EXECUTION"):
        return {}
    import resource

    applied: dict[str, int] = {}
    memory_mb = _positive(env, MEMORY_ENV)
    if memory_mb is not None:
        limit = memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
        applied["RLIMIT_DATA"] = limit
    cpu_s = _positive(env, CPU_ENV)
    if cpu_s is not None:
        _, hard = resource.getrlimit(resource.RLIMIT_CPU)
        # soft limit sends SIGXCPU (fatal by default); the hard limit a little later, SIGKILL
        new_hard = cpu_s + 5 if hard == resource.RLIM_INFINITY else min(cpu_s + 5, hard)
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_s, new_hard), new_hard))
        applied["RLIMIT_CPU"] = cpu_s
    return applied


def _kernels_dir(prefix: str | Path | None = None) -> Path:
    return Path(prefix or sys.prefix) / "share" / "jupyter" / "kernels" / "python3"


def installed(prefix: str | Path | None = None) -> bool:
    """Whether the ``python3`` kernelspec under ``prefix`` starts this launcher."""
    spec = _kernels_dir(prefix) / "kernel.json"
    try:
        argv = json.loads(spec.read_text(encoding="utf-8")).get("argv", [])
    except (OSError, ValueError):
        return False
    return _MODULE in argv


def install(prefix: str | Path | None = None) -> Path:
    """Write the ``python3`` kernelspec under ``prefix`` (default: this environment).

    Keeps ipykernel's logos beside it; idempotent.
    """
    target = _kernels_dir(prefix)
    target.mkdir(parents=True, exist_ok=True)
    try:  # the logos ipykernel ships, so JupyterLab's launcher still shows them
        from ipykernel.kernelspec import RESOURCES

        for logo in Path(RESOURCES).glob("logo-*"):
            if not (target / logo.name).exists():
                (target / logo.name).write_bytes(logo.read_bytes())
    except ImportError:  # pragma: no cover - ipykernel is a dependency
        pass
    text = json.dumps(SPEC, indent=1) + "\n"
    spec = target / "kernel.json"
    if not spec.exists() or spec.read_text(encoding="utf-8") != text:
        spec.write_text(text, encoding="utf-8")
    return spec


def _exec_sandboxed(args: list[str]) -> None:
    """Replace this process with the sandbox running the kernel (limits are inherited)."""
    try:
        folder = sandbox.ipc_folder(args[args.index("-f") + 1])
        processes = _positive(dict(os.environ), sandbox.PROCESSES_ENV)
        if processes is not None:
            sandbox.cap_processes(processes)
        argv = sandbox.command([sys.executable, "-m", _MODULE, *args], workdir=os.getcwd(),
                               ipc_dir=folder)  # fmt: skip
    except (ValueError, IndexError, sandbox.SandboxUnavailable) as err:
        sys.exit(f"labkit grading kernel: cannot start the sandbox: {err}")
    os.execv(argv[0], argv)


def main(argv: list[str] | None = None) -> None:
    """``install`` writes the kernelspec; anything else starts the kernel (ipykernel's args)."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["install"]:
        prefix = args[1] if len(args) > 1 else None
        print(f"grading kernelspec: {install(prefix)}")
        return
    apply_limits()
    if os.environ.get("NBGRADER_EXECUTION"):
        # A learner's C-level prints (fd 1) must not reach the grader's stdout (`labkit grade
        # --json` prints exactly one object there); the kernel forwards cell output itself.
        os.dup2(2, 1)
        if os.environ.get(sandbox.MODE_ENV) == "on":
            _exec_sandboxed(args)
    # As ipykernel_launcher does: drop the empty entry ``-m`` may add (IPython adds its own).
    if sys.path and sys.path[0] == "":
        del sys.path[0]
    from ipykernel import kernelapp

    kernelapp.launch_new_instance(argv=args)


if __name__ == "__main__":
    main()
