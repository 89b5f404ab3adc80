"""Flash size of the engine with a chosen operator set: what MICROTF_OPS saves.

Each engine file (src/*.c and ops/<kernel>.c) is compiled -Os for the CPU with its cross compiler
and measured with its ``size``; the engine with some operators is the core plus those kernels.
``python -m microtf_host.boards size`` prints it; ``make firmware`` does so when MICROTF_OPS is set.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .errors import MicrotfError
from .paths import ENGINE, ROOT


def all_ops() -> list[str]:
    return sorted(p.stem for p in (ENGINE / "ops").glob("*.c"))


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


# Compiler prefix and flags per CPU; the xtensa compilers come with ESP-IDF (after export.sh).
CPUS = {
    "cortex-m4": ("arm-none-eabi-", ["-mcpu=cortex-m4", "-mthumb", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"]),
    "cortex-m0plus": ("arm-none-eabi-", ["-mcpu=cortex-m0plus", "-mthumb"]),
    "esp32": ("xtensa-esp32-elf-", ["-mlongcalls"]),
    "esp32s3": ("xtensa-esp32s3-elf-", ["-mlongcalls"]),
    "host": ("", []),
}
# The CPU of each board, for the size report of `make firmware`.
BOARD_CPU = {
    "esp32": "esp32",
    "esp32s3": "esp32s3",
    "rp2": "cortex-m0plus",
    "unix": "host",
    "qemu_m4": "cortex-m4",
}


def object_text_sizes(cpu: str = "cortex-m4") -> dict[str, int]:
    """.text bytes of each engine file (src/<f>.c as "src/<f>", ops/<k>.c as "<k>") built -Os for ``cpu``."""
    prefix, cpu_flags = CPUS[cpu]
    cc, size = shutil.which(prefix + "gcc"), shutil.which(prefix + "size")
    if cc is None or size is None:
        raise MicrotfError(f"{prefix}gcc and {prefix}size are needed to measure the engine")
    sources = {f"src/{p.stem}": p for p in sorted((ENGINE / "src").glob("*.c"))}
    sources.update({op: ENGINE / "ops" / f"{op}.c" for op in all_ops()})
    flags = ["-std=c99", "-Os", "-ffunction-sections", "-fdata-sections", "-ffp-contract=off",
             f"-I{ENGINE / 'include'}", f"-I{ENGINE / 'src'}", f"-I{ENGINE}", *cpu_flags]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="microtf-size-") as tmp:
        objects = {name: Path(tmp) / (name.replace("/", "_") + ".o") for name in sources}

        def compile_one(name: str) -> subprocess.CompletedProcess:
            cmd = [cc, *flags, "-c", str(sources[name]), "-o", str(objects[name])]
            return subprocess.run(cmd, capture_output=True, text=True, check=False)

        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for name, proc in zip(sources, pool.map(compile_one, sources), strict=True):
                if proc.returncode != 0:
                    raise MicrotfError(f"{_rel(sources[name])} does not compile: {proc.stderr.strip()[:400]}")
        names = list(objects)
        proc = subprocess.run(
            [size, *(str(objects[n]) for n in names)], capture_output=True, text=True, check=True
        )
    rows = proc.stdout.strip().splitlines()[1:]
    return {name: int(row.split()[0]) for name, row in zip(names, rows, strict=True)}


def engine_text_size(
    ops: list[str] | None, cpu: str = "cortex-m4", sizes: dict[str, int] | None = None
) -> int:
    """Bytes of .text of the engine (every src/*.c plus ``ops``, None = all) built -Os for ``cpu``."""
    sizes = sizes if sizes is not None else object_text_sizes(cpu)
    chosen = set(ops if ops is not None else all_ops())
    return sum(v for k, v in sizes.items() if k.startswith("src/") or k in chosen)
