"""``python benchmarks/graph_infer.py [--quick] [--json]``: same as ``crmos bench graph-infer``."""

import argparse

from crmos.bench.graph_infer import run

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--quick", action="store_true", help="5,000 rule-heavy events (a minute)")
parser.add_argument("--json", action="store_true", help="last line: one JSON object")
args = parser.parse_args()
run(quick=args.quick, as_json=args.json)
