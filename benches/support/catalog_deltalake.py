"""The catalog benchmark's peer: Python deltalake appending one row at a time to a Delta table of
the same size and schema as lakemeta's meta.products (a copy of its rows, written by deltalake
in one file), as a registry built on deltalake alone would. Prints one JSON object: commits per
second, median milliseconds per commit, and bytes written per commit (data file and log entry).

usage: catalog_deltalake.py PRODUCTS_TABLE WORKDIR COMMITS
"""
import json
import os
import statistics
import sys
import time

import pyarrow as pa
from deltalake import DeltaTable, write_deltalake

source, workdir, commits = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = DeltaTable(source).to_pyarrow_table()
target = os.path.join(workdir, "products_copy")
write_deltalake(target, rows, mode="overwrite")


def size(path):
    return sum(
        os.path.getsize(os.path.join(d, f)) for d, _, files in os.walk(path) for f in files
    )


one = rows.slice(0, 1)
names = one.column_names
times = []
before = size(target)
for i in range(commits):
    row = one.set_column(names.index("name"), "name", pa.array([f"appended_{i:06}"]))
    t = time.perf_counter()
    write_deltalake(target, row, mode="append")
    times.append(time.perf_counter() - t)
written = size(target) - before
print(
    json.dumps(
        {
            "rows": rows.num_rows,
            "commits": commits,
            "commits_per_s": commits / sum(times),
            "median_ms": statistics.median(times) * 1000,
            "bytes_per_commit": written / commits,
        }
    )
)
