"""Static checks of a learner's code for tampering with what the tests rely on.

A notebook's tests run in the same interpreter as the learner's code, so no test cell can defend
itself against code that rewrites the modules, builtins or interpreter hooks it uses
(``math.isclose = lambda *a, **k: True``, ``builtins.abs = ...``, an IPython input transformer
that blanks every later cell, a solution that reads the expected value out of the test's frame).
The grader therefore reads the learner-editable code *before trusting its results*: :func:`scan`
parses every such cell and reports the constructs that only make sense as tampering. The
autograde step (:class:`labkit.grading._preprocessors.FlagTampering`) scores every test cell that
runs after a flagged cell 0 and says why in the feedback.

The rules, and why each exists, are written down for lab authors in
``solutions/TESTS_THAT_CANNOT_BE_FOOLED.md``.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass

__all__ = ["Finding", "scan", "scan_source"]

# Names bound by `import` are module objects; attribute writes to them change what every later
# cell (tests included) sees. Configuration namespaces that honest code sets are allowed.
_ALLOWED_WRITES = (
    "torch.backends.",
    "os.environ",
    "matplotlib.rcParams",
    "mpl.rcParams",
    "plt.rcParams",
    "pd.options.",
    "pandas.options.",
    "np.random.seed",
)
_FRAME_ATTRS = {"f_back", "f_locals", "f_globals", "tb_frame", "gi_frame", "cr_frame", "f_code"}
_BANNED_CALLS = {
    "get_ipython": "drives the IPython shell the tests run in",
    "__import__": "imports by computed name (hides what is imported)",
    "exec": "runs code built at run time",
    "eval": "evaluates code built at run time",
    "compile": "compiles code built at run time",
    "globals": None,  # allowed: the learner's own namespace
}
_BANNED_ATTRS = {
    ("sys", "settrace"): "installs a trace function over the tests",
    ("sys", "setprofile"): "installs a profile hook over the tests",
    ("sys", "_getframe"): "reads the caller's frame (the test's variables)",
    ("sys", "modules"): "replaces modules the tests import",
    ("sys", "addaudithook"): "hooks the interpreter",
    ("sys", "displayhook"): "rewrites how cell results are reported",
    ("sys", "excepthook"): "rewrites how failures are reported",
    ("threading", "settrace"): "installs a trace function over the tests",
    ("inspect", "currentframe"): "reads the caller's frame (the test's variables)",
    ("inspect", "stack"): "reads the caller's frame (the test's variables)",
    ("inspect", "getouterframes"): "reads the caller's frame (the test's variables)",
    ("inspect", "trace"): "reads frames",
    ("gc", "get_referrers"): "reaches into other cells' objects",
    ("gc", "get_objects"): "reaches into other cells' objects",
    ("signal", "signal"): "changes how the grader can interrupt the kernel",
    ("importlib", "reload"): "reloads modules the tests import",
}
_BANNED_MODULES = {
    "builtins": "changes builtins the tests use",
    "ctypes": "can rewrite any object in memory",
    "IPython": "drives the IPython shell the tests run in",
    "ipykernel": "drives the kernel the tests run in",
}
_HISTORY_NAMES = {"In", "Out", "_ih", "_oh", "_i", "_ii", "_iii", "__builtins__", "__builtin__"}
_BUILTIN_NAMES = {n for n in dir(builtins) if not n.startswith("_")} - {"copyright", "credits"}


@dataclass(frozen=True)
class Finding:
    """One suspicious construct: the cell it is in, the line, and why it is not allowed."""

    cell: str
    line: int
    code: str
    reason: str

    def __str__(self) -> str:
        return f"{self.cell} line {self.line}: `{self.code}` {self.reason}"


def _dotted(node: ast.AST) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _modules_bound(tree: ast.AST) -> dict[str, str]:
    """Local name → module (or object) path for every import in the code."""
    bound: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                name = alias.asname or alias.name.split(".")[0]
                bound[name] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


class _Visitor(ast.NodeVisitor):
    def __init__(self, cell: str, source: str, modules: dict[str, str]) -> None:
        self.cell, self.lines, self.modules = cell, source.splitlines(), modules
        self.findings: list[Finding] = []
        self._depth = 0  # inside a def/class body: names bound there are local

    def _add(self, node: ast.AST, reason: str) -> None:
        line = getattr(node, "lineno", 0)
        code = self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""
        self.findings.append(Finding(self.cell, line, code[:120], reason))

    def _resolved(self, dotted: str) -> str:
        root, _, rest = dotted.partition(".")
        base = self.modules.get(root, root)
        return f"{base}.{rest}" if rest else base

    # --- writes -------------------------------------------------------------------------
    def _check_target(self, target: ast.AST) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            for elt in target.elts:
                self._check_target(elt)
            return
        if isinstance(target, ast.Starred):
            self._check_target(target.value)
            return
        if isinstance(target, ast.Name):
            if self._depth == 0 and target.id in _BUILTIN_NAMES:
                self._add(target, f"rebinds the builtin {target.id!r} the tests may use")
            return
        if isinstance(target, ast.Subscript):
            base = _dotted(target.value) or ""
            if base in ("__builtins__", "sys.modules") or base.endswith(".__dict__"):
                self._add(target, "writes into a namespace the tests import from")
            return
        dotted = _dotted(target)
        if dotted is None:
            return
        root = dotted.split(".")[0]
        if root not in self.modules:
            return
        full, written = self._resolved(dotted), dotted
        if any(written.startswith(a) or full.startswith(a) for a in _ALLOWED_WRITES):
            return
        self._add(target, f"replaces {full!r}, which later cells (the tests) may rely on")

    def visit_Assign(self, node: ast.Assign) -> None:
        for target in node.targets:
            self._check_target(target)
        self.generic_visit(node)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self._check_target(node.target)
        self.generic_visit(node)

    def visit_Delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if not isinstance(target, ast.Name):
                self._check_target(target)
        self.generic_visit(node)

    def _scoped(self, node: ast.AST, name: str | None) -> None:
        if self._depth == 0 and name in _BUILTIN_NAMES:
            self._add(node, f"rebinds the builtin {name!r} the tests may use")
        self._depth += 1
        self.generic_visit(node)
        self._depth -= 1

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scoped(node, node.name)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scoped(node, node.name)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._scoped(node, node.name)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scoped(node, None)

    # --- imports ------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top in _BANNED_MODULES:
                self._add(node, f"imports {top!r}: {_BANNED_MODULES[top]}")
            if self._depth == 0 and alias.asname in _BUILTIN_NAMES:
                self._add(node, f"rebinds the builtin {alias.asname!r} the tests may use")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        top = (node.module or "").split(".")[0]
        if top in _BANNED_MODULES:
            self._add(node, f"imports from {top!r}: {_BANNED_MODULES[top]}")
        for alias in node.names:
            name = alias.asname or alias.name
            if self._depth == 0 and name in _BUILTIN_NAMES:
                self._add(node, f"rebinds the builtin {name!r} the tests may use")
            if (node.module, alias.name) in _BANNED_ATTRS:
                self._add(node, _BANNED_ATTRS[(node.module, alias.name)])

    # --- reads and calls ----------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if node.id in _HISTORY_NAMES:
            self._add(node, "reads the shell's input/output history or builtins namespace")
        elif isinstance(node.ctx, ast.Load) and _BANNED_CALLS.get(node.id):
            self._add(node, _BANNED_CALLS[node.id])

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in _FRAME_ATTRS:
            self._add(node, "reads an execution frame (the test's variables)")
        dotted = _dotted(node)
        if dotted is not None:
            parts = self._resolved(dotted).split(".")
            key = (".".join(parts[:-1]), parts[-1])
            if key in _BANNED_ATTRS:
                self._add(node, _BANNED_ATTRS[key])
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = _dotted(node.func)
        if func in ("setattr", "delattr") and node.args:
            owner = _dotted(node.args[0])
            if owner is not None and owner.split(".")[0] in self.modules:
                self._add(node, f"{func} on the module {self._resolved(owner)!r}")
            elif owner in ("__builtins__",):
                self._add(node, f"{func} on builtins")
        if func in ("vars",) and node.args:
            owner = _dotted(node.args[0])
            if owner is not None and owner.split(".")[0] in self.modules:
                self._add(node, f"reaches into the namespace of {self._resolved(owner)!r}")
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str) and "ipynb" in node.value:
            self._add(node, "opens a notebook file (the tests' source)")


def scan_source(source: str, cell: str = "cell", modules: dict[str, str] | None = None) -> list:
    """Findings for one cell's code; ``modules`` adds names imported by earlier cells.

    Examples
    --------
    >>> [f.reason for f in scan_source("import math\\nmath.isclose = lambda *a, **k: True")]
    ["replaces 'math.isclose', which later cells (the tests) may rely on"]
    >>> scan_source("def f(xs):\\n    total = sum(xs)\\n    return total / len(xs)")
    []
    """
    magic = _risky_magic(source, cell)
    try:
        tree = ast.parse(_strip_magics(source))
    except SyntaxError:
        return magic  # it fails when run; the tests after it fail on their own
    known = dict(modules or {})
    known.update(_modules_bound(tree))
    visitor = _Visitor(cell, source, known)
    visitor.visit(tree)
    return magic + visitor.findings


# Magics that run code the scan cannot read (another file, a shell, a script).
_RISKY_MAGICS = ("%run", "%load", "%%writefile", "%%file", "%%bash", "%%sh", "%%script", "%%python")


def _risky_magic(source: str, cell: str) -> list[Finding]:
    found = []
    for number, line in enumerate(source.splitlines(), start=1):
        word = line.strip().split(" ", 1)[0]
        if word in _RISKY_MAGICS:
            found.append(
                Finding(
                    cell, number, line.strip()[:120], f"{word} runs code the grader cannot read"
                )
            )
    return found


def _strip_magics(source: str) -> str:
    # IPython line magics and shell escapes are not Python; `%timeit f()` is honest code.
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()
    )


def _is_test(cell: dict) -> bool:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def scan(nb: dict) -> list[tuple[int, Finding]]:
    """``(cell index, finding)`` for every learner-editable code cell of notebook ``nb``.

    Locked cells and test cells are skipped: autograde restores them from the course source, so
    what runs there is the course's code. Imports made by earlier cells count (``import math``
    in one cell, ``math.isclose = ...`` in the next).
    """
    modules: dict[str, str] = {}
    found: list[tuple[int, Finding]] = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = "".join(cell.get("source", ""))
        meta = cell.get("metadata", {}).get("nbgrader", {})
        try:
            tree = ast.parse(_strip_magics(source))
        except SyntaxError:
            tree = None
        if meta.get("locked") or _is_test(cell):
            if tree is not None:
                modules.update(_modules_bound(tree))
            continue
        name = meta.get("grade_id") or f"cell {index + 1}"
        found += [(index, f) for f in scan_source(source, name, modules)]
        if tree is not None:
            modules.update(_modules_bound(tree))
    return found
