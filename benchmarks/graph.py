"""``python benchmarks/graph.py [--quick] [--json] [--nodes N]``: same as ``crmos bench graph``."""

import argparse

from crmos.bench.graph import run

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--quick", action="store_true", help="1M nodes instead of 5M (about 85 s)")
parser.add_argument("--json", action="store_true", help="last line: one JSON object")
parser.add_argument("--nodes", type=int, default=None, help="graph size")
args = parser.parse_args()
run(quick=args.quick, as_json=args.json, nodes=args.nodes)
