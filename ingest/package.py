"""Build the deployable Lambda zips: ``s3_to_kinesis.zip`` and ``firehose_transform.zip``.

Each zip holds the handler module and the closure of wafad modules it imports (found by reading the import
statements, module and function level), so nothing the Lambda does not need is shipped, and the build fails
if that closure imports a third-party package the Lambda runtime lacks (pydantic, opensearch-py, ...).
boto3/botocore come with the runtime. The optional accelerators (orjson, msgspec, pybase64) are bundled when
installed here; they are compiled, so they load only on a matching runtime (this machine: see the manifest;
Lambda ``python3.11`` on ``x86_64`` matches a CPython 3.11 manylinux x86_64 wheel). Where they do not load,
the code falls back to the standard library. Zips are reproducible: sorted entries, fixed timestamps.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import sys
import sysconfig
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROJECT_PACKAGES = ("lambdas", "ingest", "wafad")
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3"})
OPTIONAL_NATIVE = ("orjson", "msgspec", "pybase64")
HANDLERS = {
    "s3_to_kinesis": "lambdas.s3_to_kinesis",
    "firehose_transform": "lambdas.firehose_transform",
}
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class PackagingError(RuntimeError):
    """The handler's import closure needs something the Lambda runtime does not have."""


@dataclass
class LambdaZip:
    name: str
    path: Path
    handler: str
    modules: list[str]
    bundled: dict[str, str] = field(default_factory=dict)  # native package -> version
    size: int = 0


def _module_file(module: str) -> Path:
    parts = module.split(".")
    pkg_init = ROOT.joinpath(*parts, "__init__.py")
    return pkg_init if pkg_init.exists() else ROOT.joinpath(*parts[:-1], f"{parts[-1]}.py")


def _imports(path: Path) -> list[tuple[str, bool]]:
    """(module, guarded) for every import in the file; guarded = inside ``try: ... except ImportError``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    guarded_nodes: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
            isinstance(h.type, ast.Name) and h.type.id in ("ImportError", "ModuleNotFoundError") for h in node.handlers
        ):
            for inner in node.body:
                guarded_nodes.update(id(n) for n in ast.walk(inner))
    out: list[tuple[str, bool]] = []
    guarded_tops = {  # a package imported under an ImportError guard may be imported again unguarded after it
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import) and id(node) in guarded_nodes
        for alias in node.names
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.extend((alias.name, id(node) in guarded_nodes) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            guarded = id(node) in guarded_nodes or node.module.split(".")[0] in guarded_tops
            out.append((node.module, guarded))
            for alias in node.names:  # "from ingest import jsoncodec" imports a module
                candidate = f"{node.module}.{alias.name}"
                if candidate.split(".")[0] in PROJECT_PACKAGES and _module_file(candidate).exists():
                    out.append((candidate, id(node) in guarded_nodes))
    return out


def import_closure(module: str) -> tuple[list[str], set[str]]:
    """The project modules ``module`` needs (with their packages' ``__init__``) and the optional natives used."""
    seen: set[str] = set()
    natives: set[str] = set()
    stack = [module]
    stdlib = set(sys.stdlib_module_names)
    while stack:
        mod = stack.pop()
        if mod in seen:
            continue
        seen.add(mod)
        parts = mod.split(".")
        for i in range(1, len(parts)):  # parent packages' __init__
            stack.append(".".join(parts[:i]))
        for imported, guarded in _imports(_module_file(mod)):
            top = imported.split(".")[0]
            if top in PROJECT_PACKAGES:
                if _module_file(imported).exists():
                    stack.append(imported)
                else:
                    stack.append(".".join(imported.split(".")[:-1]))
            elif top in stdlib or top == "__future__" or top in RUNTIME_PROVIDED:
                continue
            elif top in OPTIONAL_NATIVE and guarded:
                natives.add(top)
            else:
                raise PackagingError(
                    f"{mod} imports {imported!r}, which the Lambda runtime does not provide "
                    f"(only the standard library, boto3/botocore and guarded optional {', '.join(OPTIONAL_NATIVE)})"
                )
    return sorted(seen), natives


def _add_file(zf: zipfile.ZipFile, src: Path, arcname: str) -> None:
    info = zipfile.ZipInfo(arcname, date_time=_FIXED_TIME)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, src.read_bytes())


def _native_dir(name: str) -> tuple[Path, str] | None:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    from importlib.metadata import PackageNotFoundError, version

    try:
        ver = version(name)
    except PackageNotFoundError:
        ver = "unknown"
    return Path(next(iter(spec.submodule_search_locations))), ver


def build_zip(name: str, out_dir: Path, *, bundle_native: bool = True) -> LambdaZip:
    module = HANDLERS[name]
    modules, natives = import_closure(module)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.zip"
    result = LambdaZip(name, path, f"{module}.handler", modules)
    entries: list[tuple[Path, str]] = []
    for mod in modules:
        src = _module_file(mod)
        entries.append((src, str(src.relative_to(ROOT))))
    if bundle_native:
        for native in sorted(natives):
            found = _native_dir(native)
            if found is None:
                continue
            pkg_dir, ver = found
            result.bundled[native] = ver
            for src in sorted(pkg_dir.rglob("*")):
                if src.is_file() and "__pycache__" not in src.parts:
                    entries.append((src, f"{native}/{src.relative_to(pkg_dir)}"))
    manifest = {
        "handler": result.handler,
        "modules": modules,
        "bundled": result.bundled,
        "built_for": {
            "python": f"{sys.version_info.major}.{sys.version_info.minor}",
            "platform": sysconfig.get_platform(),
        },
        "runtime": "python3.11",
    }
    tmp = path.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for src, arc in sorted(entries, key=lambda e: e[1]):
            _add_file(zf, src, arc)
        info = zipfile.ZipInfo("wafad-lambda.json", date_time=_FIXED_TIME)
        info.external_attr = 0o644 << 16
        zf.writestr(info, json.dumps(manifest, indent=1, sort_keys=True))
    tmp.replace(path)
    result.size = path.stat().st_size
    return result


def build_all(out_dir: Path, *, bundle_native: bool = True) -> list[LambdaZip]:
    """Both zips into ``out_dir``."""
    return [build_zip(name, out_dir, bundle_native=bundle_native) for name in HANDLERS]
