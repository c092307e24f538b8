"""Drives `lakemeta sql` through a real pseudo-terminal (pexpect): multi-line statements, tab
completion, backslash commands, Ctrl-C cancelling a running query, Ctrl-D exiting, the history
file. Usage: repl_pty.py LAKEMETA_BINARY WAREHOUSE HISTORY_FILE. Exits non-zero on failure."""
import sys
import time

import pexpect

binary, warehouse, history = sys.argv[1:4]
child = pexpect.spawn(
    binary,
    ["-w", warehouse, "sql"],
    # alice of orders-team reads the orders products (payments_fact is tagged financial)
    env={"LAKEMETA_HISTORY": history, "TERM": "xterm", "USER": "alice", "PATH": "/usr/bin:/bin"},
    encoding="utf-8",
    timeout=20,
    dimensions=(40, 200),
)
child.logfile_read = sys.stdout
PROMPT = "lakemeta> "

child.expect(r"\\\? for help")
child.expect_exact(PROMPT)

# a statement over two lines
child.send("SELECT count(*) AS n\r")
child.expect_exact("-> ")
child.send("FROM orders.orders_fact;\r")
child.expect(r"\| 2000 +\|")
child.expect_exact(PROMPT)

# tab completion of a table name
child.send("SELECT count(*) AS m FROM orders.payments_f\t")
child.expect_exact("orders.payments_fact")
child.send(";\r")
child.expect(r"\| 1800 +\|")
child.expect_exact(PROMPT)

# backslash commands
child.send("\\timing\r")
child.expect_exact("timing is on")
child.send("SELECT 1 AS one;\r")
child.expect(r"Time: [0-9.]+ ms")
child.expect_exact(PROMPT)
child.send("\\format csv\r")
child.expect_exact("output format is Csv")
child.send("\\d orders.orders_fact\r")
child.expect_exact("order_status,Utf8")
child.expect_exact(PROMPT)

# Ctrl-C cancels a long query and keeps the REPL
child.send("SELECT count(*) FROM generate_series(1, 100000000000);\r")
time.sleep(1.0)  # let the query start running
child.sendintr()
child.expect_exact("interrupted by Ctrl-C; nothing was written")
child.expect_exact(PROMPT)
child.send("SELECT 42 AS answer;\r")
child.expect("answer\r\n42")
child.expect_exact(PROMPT)

# Ctrl-D exits
child.sendeof()
child.expect(pexpect.EOF)
child.close()
if child.exitstatus != 2:  # a statement failed (the cancelled one): exit code says so
    sys.exit(f"exit status {child.exitstatus}, expected 2 after a cancelled statement")
with open(history) as f:
    if "SELECT 42 AS answer;" not in f.read():
        sys.exit("history file lacks the last statement")
print("\nrepl pty test passed")
