"""Split one parquet file into two disjoint random parts (e.g. a train and a held-out half).

Used to fine-tune on part of a dev set when no training file exists (QQP here):
    python examples/split_parquet.py qqp/validation-00000-of-00001.parquet a.parquet b.parquet --fraction 0.5
"""

from __future__ import annotations

import argparse

import numpy as np
import pyarrow.parquet as pq


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source")
    parser.add_argument("first", help="gets --fraction of the rows")
    parser.add_argument("second", help="gets the rest")
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    table = pq.read_table(args.source)
    order = np.random.default_rng(args.seed).permutation(table.num_rows)
    cut = int(round(args.fraction * table.num_rows))
    for rows, path in ((np.sort(order[:cut]), args.first), (np.sort(order[cut:]), args.second)):
        pq.write_table(table.take(rows), path)
        print(f"{path}: {len(rows)} rows")


if __name__ == "__main__":
    main()
