"""``tui-bench plans`` and ``tui-bench models``: what can be run on this machine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from tui_bench.cli.common import models_dir_option, table


@click.command()
@click.option(
    "--dir", "plans_dir", type=click.Path(path_type=Path), help="Folder to list (default: plans/)."
)
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
def plans(plans_dir: Path | None, fmt: str) -> int:
    """List the plan catalog: id, description, models, prompts, threshold."""
    import json

    from tui_bench.core.catalog import list_plans, plans_dirs

    dirs = [plans_dir] if plans_dir else plans_dirs()
    entries = [e.as_dict() for e in list_plans(dirs)]
    if fmt == "json":
        click.echo(json.dumps(entries, indent=2))
        return 0
    if not entries:
        click.echo("no plans found in " + ", ".join(str(d) for d in dirs))
        return 0
    rows = []
    for e in entries:
        if e["error"]:
            rows.append([e["id"], "INVALID: " + e["error"], "", "", ""])
        else:
            rows.append(
                [
                    e["id"],
                    e["description"][:60],
                    ",".join(e["models"]),
                    e["prompts"],
                    f"{100 * e['threshold']:.0f}%",
                ]
            )
    click.echo(table(["id", "description", "models", "prompts", "threshold"], rows))
    return 0


@click.command()
@models_dir_option
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--no-stores", is_flag=True, help="Skip the Hugging Face, LM Studio and Ollama stores."
)
def models(models_dir: tuple[Path, ...], fmt: str, no_stores: bool) -> int:
    """List GGUF models: builtins, models folders, HF cache, LM Studio, Ollama."""
    import json

    from tui_bench.core import models as registry

    entries = registry.discover(registry.models_dirs(list(models_dir)), stores=not no_stores)
    described = [registry.describe(e) for e in entries]
    engine = _engine_capability()
    if fmt == "json":
        click.echo(json.dumps({"engine": engine, "models": described}, indent=2, default=str))
        return 0
    click.echo(engine["text"])
    click.echo()
    rows = [
        [
            d.get("id"),
            d.get("size"),
            d.get("architecture"),
            d.get("quantization"),
            d.get("params"),
            d.get("context_length"),
            d.get("status"),
        ]
        for d in described
    ]
    click.echo(table(["id", "size", "arch", "quant", "params", "ctx", "status"], rows))
    return 0


def _engine_capability() -> dict[str, Any]:
    from tui_bench.core.hostinfo import package_version

    version = package_version("llama-cpp-python")
    if version is None:
        return {
            "llama_cpp_python": None,
            "gpu_offload": False,
            "text": "llama-cpp-python is not installed",
        }
    try:
        import llama_cpp.llama_cpp as ll

        offload = bool(ll.llama_supports_gpu_offload())
        system_info = ll.llama_print_system_info().decode(errors="replace")
    except Exception as exc:  # pragma: no cover - broken install
        return {
            "llama_cpp_python": version,
            "gpu_offload": False,
            "text": f"llama-cpp-python {version}: cannot load ({exc})",
        }
    from tui_bench.core.backends.llama_devices import offload_status
    from tui_bench.core.doctor.system import parse_system_info

    # a GPU build that sees no GPU is not a CPU-only build: another fix
    status = offload_status(offload, parse_system_info(system_info)[0])
    text = f"engine: llama-cpp-python {version}, " + (
        "built with GPU offload"
        if offload
        else f"{status.label}: n_gpu_layers has no effect; {status.advice}"
    )
    return {"llama_cpp_python": version, "gpu_offload": offload, "text": text}
