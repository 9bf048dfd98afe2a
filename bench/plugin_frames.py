#!/usr/bin/env python3
"""Self time of a plugin's functions in a perf profile of the gateway.

The plugin loader maps a copy of each plugin that it then deletes, so `perf report` cannot
name a plugin's functions: it lists bare offsets in the deleted copy. This looks each offset up
in the symbol table (`nm`) of the original library and adds the samples up per function.

    bench/plugin_frames.py PERF_DATA LIBRARY.so [rows=25]

LIBRARY.so must be the same build the profiled gateway loaded (e.g. libtollgate-claude.so).
"""
import bisect
import collections
import os
import re
import subprocess
import sys


def symbols(library):
    """(address, demangled name) of the library's functions, sorted by address."""
    out = subprocess.run(["nm", "--defined-only", library], capture_output=True, text=True, check=True).stdout
    table = []
    for line in out.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[1] in "tTwW":
            table.append((int(parts[0], 16), parts[2]))
    table.sort()
    return table


def plugin_samples(data, copy_name):
    """(percent, offset) of every self-sample line perf lists for the deleted copy."""
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--sort", "dso,sym", "-g", "none"],
                         capture_output=True, text=True, check=True).stdout
    pattern = re.compile(r"\s*([\d.]+)%\s+(.*?)\s+\[\.\]\s+0x([0-9a-f]+)")
    for line in out.splitlines():
        match = pattern.match(line)
        if match and copy_name in match.group(2):
            yield float(match.group(1)), int(match.group(3), 16)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    data, library = sys.argv[1], sys.argv[2]
    rows = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    for path in (data, library):
        if not os.path.isfile(path):
            sys.exit(f"plugin_frames: no such file: {path}")
    try:
        table = symbols(library)
        samples = list(plugin_samples(data, os.path.basename(library)))
    except (OSError, subprocess.CalledProcessError) as error:
        sys.exit(f"plugin_frames: {error} {getattr(error, 'stderr', '') or ''}".strip())
    addresses = [address for address, _ in table]
    # The copy is named after the library, e.g. ".libtollgate-claude.so.tollgate-123-2 (deleted)".
    copy_name = os.path.basename(library)
    per_function = collections.Counter()
    for percent, offset in samples:
        index = bisect.bisect_right(addresses, offset) - 1
        per_function[table[index][1] if index >= 0 else hex(offset)] += percent
    if not per_function:
        sys.exit(f"no samples of {copy_name} in {data} (was it loaded, and is this the same build?)")
    readable = demangled(list(per_function))
    print(f"{sum(per_function.values()):.2f} % of all samples in {copy_name}")
    for name, percent in per_function.most_common(rows):
        print(f"{percent:6.2f} %  {readable.get(name, name)[:160]}")


def demangled(names):
    """Swift names made readable with `swift demangle` when it is there; else as they are."""
    try:
        out = subprocess.run(["swift", "demangle", "--simplified"], input="\n".join(names), capture_output=True,
                             text=True, check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return {}
    return dict(zip(names, out)) if len(out) == len(names) else {}


if __name__ == "__main__":
    main()
