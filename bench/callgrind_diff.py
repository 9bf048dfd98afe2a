#!/usr/bin/env python3
"""Where two builds' instructions differ, function by function, per request.

    bench/callgrind_diff.py BEFORE.callgrind REQUESTS_BEFORE AFTER.callgrind REQUESTS_AFTER [top=40]

The profiles are what `PROFILES=dir bench/instructions.sh DIR ...` keeps (tollgate.callgrind);
the request counts are the ones it prints. Each function's self cost (instructions spent in its
own code, not its callees') is divided by the run's requests, and the functions whose cost moved
most are listed: before, after, the difference, the (mangled) name.
"""
import collections
import re
import sys


def self_costs(path: str, requests: float) -> dict[str, float]:
    names: dict[str, str] = {}
    costs: collections.Counter[str] = collections.Counter()
    function, in_call = None, False
    def name(text: str) -> str:  # callgrind names a function once, then by its number
        ident = re.match(r"\((\d+)\)(?:\s+(.*))?", text.strip())
        if not ident:
            return text.strip()
        if ident.group(2):
            names[ident.group(1)] = ident.group(2)
        return names.get(ident.group(1), text.strip())

    for line in open(path, errors="replace"):
        if line.startswith("fn="):
            function = name(line[3:])
        elif line.startswith("cfn="):
            name(line[4:])
        elif line.startswith("calls="):
            in_call = True  # the next cost line is the call's inclusive cost, not self
        elif line[:1].isdigit() or line[:1] in "+-*":
            fields = line.split()
            if len(fields) >= 2 and not in_call and function:
                costs[function] += int(fields[1])
            in_call = False
    return {name: cost / requests for name, cost in costs.items()}


def main() -> None:
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    before = self_costs(sys.argv[1], float(sys.argv[2]))
    after = self_costs(sys.argv[3], float(sys.argv[4]))
    top = int(sys.argv[5]) if len(sys.argv) > 5 else 40
    moved = sorted(before.keys() | after.keys(), key=lambda name: -abs(after.get(name, 0) - before.get(name, 0)))
    print(f"{'before':>9} {'after':>9} {'moved':>8}  function (self instructions a request)")
    for name in moved[:top]:
        b, a = before.get(name, 0), after.get(name, 0)
        print(f"{b:9.0f} {a:9.0f} {a - b:+8.0f}  {name[:160]}")
    print(f"{sum(before.values()):9.0f} {sum(after.values()):9.0f} {sum(after.values()) - sum(before.values()):+8.0f}  (all)")


main()
