"""Runs a Jupyter notebook's code cells in order, in one namespace, as a kernel would (without
Jupyter): a failing cell fails the run. Prints the value of each cell's last expression.

usage: run_notebook.py NOTEBOOK
"""
import ast
import json
import sys

notebook = json.load(open(sys.argv[1]))
namespace = {"__name__": "__main__"}
for i, cell in enumerate(notebook["cells"]):
    if cell["cell_type"] != "code":
        continue
    source = "".join(cell["source"])
    tree = ast.parse(source, filename=f"cell {i}")
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, f"cell {i}", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), f"cell {i}", "eval"), namespace)
        if value is not None:
            print(value)
