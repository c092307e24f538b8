"""Runs a command and prints, as JSON, its wall time in seconds and its peak resident memory in
MiB (the largest of the process and its children, as the kernel counted it)."""

import json
import resource
import subprocess
import sys
import time

start = time.monotonic()
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
seconds = time.monotonic() - start
if done.returncode != 0:
    sys.stderr.write(done.stdout + done.stderr)
    sys.exit(done.returncode)
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mib": peak_kib / 1024}))
