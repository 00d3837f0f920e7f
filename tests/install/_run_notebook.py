"""Run inside the Binder venv: execute one notebook, print its cells' errors as JSON.

Usage: python _run_notebook.py NOTEBOOK OUT.json. Errors are recorded, not raised (an exercise's
stub raises NotImplementedError by design); the kernel's peak memory comes back too.
"""

import json
import resource
import sys
import time

import nbformat
from nbclient import NotebookClient


def main(path: str, out: str) -> None:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True).execute()
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        errors = [
            {"ename": o.get("ename", ""), "evalue": o.get("evalue", ""),
             "traceback": "\n".join(o.get("traceback", []))}
            for o in cell.outputs
            if o.get("output_type") == "error"
        ]  # fmt: skip
        cells.append({"index": index, "id": cell.get("id"), "errors": errors})
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    result = {"cells": cells, "seconds": time.perf_counter() - start, "kernel_peak_mib": peak_mib}
    with open(out, "w") as f:
        json.dump(result, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
