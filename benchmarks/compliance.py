"""``python benchmarks/compliance.py [--quick] [--json]``: as ``crmos bench compliance``."""

import argparse

from crmos.bench.compliance import run

parser = argparse.ArgumentParser(description=__doc__)
parser.add_argument("--quick", action="store_true", help="a run of under a minute")
parser.add_argument("--json", action="store_true", help="last line: one JSON object")
args = parser.parse_args()
run(quick=args.quick, as_json=args.json)
