"""Prints a results.json of bench.py as the markdown table and notes BENCHMARKS.md shows.

    python scripts/bench.d/table.py /tmp/rtlua-bench-<time>/results.json
"""
import json
import sys

from bench import fmt_vals


def main() -> None:
    data = json.load(open(sys.argv[1]))
    print("| scenario | unit | rtlua | python | ratio | target | status |")
    print("|---|---|---|---|---|---|---|")
    notes = []
    for r in data["rows"]:
        ratio = f"{r['ratio']:,.1f}×" if r.get("ratio") else "—"
        print(f"| {r['name']} | {r['unit']} | {fmt_vals(r['rtlua'], r['unit'])} | "
              f"{fmt_vals(r['python'], r['unit'])} | {ratio} | {r['target']} | {r['status']} |")
        notes += [f"- {r['name'].split(' ', 1)[0]}: {n}" for n in r["notes"]]
    if notes:
        print("\nNotes from the runs:\n" + "\n".join(notes))


if __name__ == "__main__":
    main()
