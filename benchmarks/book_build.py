"""Time a cold and a cached strict build of the book.

Builds into a temporary output folder (``jupyter-book build --path-output``),
so the working tree's ``_build/`` and its execution cache are left alone:

1. cold:   empty output folder, every notebook executes;
2. cached: ``--all`` into the same folder, so Sphinx re-reads and re-writes
   every page but notebook outputs come from the jupyter-cache;
3. no-op:  the same build again with nothing changed (for reference).

Prints the times, their ratio and the targets side by side; exits 1 if a build
fails or a target is missed (``--no-fail`` only reports).

    .venv/bin/python benchmarks/book_build.py [--in-place] [--no-fail]

``--in-place`` removes ``./_build`` and builds there instead (the cache it
leaves behind is then the normal one).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_COLD_S = 180.0
TARGET_CACHED_S = 20.0


def _jupyter_book() -> str:
    local = Path(sys.executable).parent / "jupyter-book"
    return str(local) if local.exists() else "jupyter-book"


def _build(output: Path | None, extra: list[str]) -> float:
    cmd = [_jupyter_book(), "build", str(ROOT), "-W", "-n", "--keep-going", *extra]
    if output is not None:
        cmd += ["--path-output", str(output)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stdout.write(proc.stdout[-6000:])
        sys.stderr.write(proc.stderr[-6000:])
        html = (output or ROOT) / "_build" / "html" / "reports"
        for log in sorted(html.glob("**/*.log")) if html.is_dir() else []:
            print(f"--- {log}\n{log.read_text(errors='replace')[-4000:]}")
        raise SystemExit(f"build failed (exit {proc.returncode}): {' '.join(cmd)}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--in-place", action="store_true", help="remove ./_build and build there")
    parser.add_argument("--no-fail", action="store_true", help="report missed targets without failing")
    args = parser.parse_args()

    tmp = None
    if args.in_place:
        shutil.rmtree(ROOT / "_build", ignore_errors=True)
        output = None
        where = ROOT / "_build"
    else:
        tmp = tempfile.TemporaryDirectory(prefix="costmodel-book-bench-")
        output = Path(tmp.name)
        where = output / "_build"
    try:
        print(f"building {ROOT} into {where} on {os.cpu_count()} CPU(s) ...", flush=True)
        cold = _build(output, [])
        cached = _build(output, ["--all"])
        noop = _build(output, [])
    finally:
        if tmp is not None:
            tmp.cleanup()

    rows = [
        ("cold (empty cache, all notebooks execute)", cold, TARGET_COLD_S),
        ("cached (--all: re-render, outputs from cache)", cached, TARGET_CACHED_S),
        ("no-op (nothing changed)", noop, None),
    ]
    print()
    print(f"{'build':<48} {'measured':>10} {'target':>10}  ok")
    ok = True
    for name, secs, target in rows:
        hit = target is None or secs < target
        ok &= hit
        tgt = f"< {target:.0f} s" if target is not None else "-"
        print(f"{name:<48} {secs:>8.1f} s {tgt:>10}  {'yes' if hit else 'NO'}")
    print(f"{'cold / cached':<48} {cold / cached:>9.1f}x")
    print(f"(targets assume 2 cores; this machine has {os.cpu_count()})")
    return 0 if ok or args.no_fail else 1


if __name__ == "__main__":
    raise SystemExit(main())
