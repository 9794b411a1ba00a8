"""Is ``--app`` importable? Checked before any server or target starts, in the target's Python.

A missing module or a misspelt attribute would otherwise cost an embedded
server's start and end in uvicorn's traceback. The module is looked up
(``importlib.util.find_spec``, which runs at most its parent packages'
``__init__``), and the attribute is looked for among the names the module's
source binds at its top level, without running it: the app's own import-time
code may need the database, which does not exist yet. A module that binds
names dynamically (``from x import *``, a module ``__getattr__``) is given the
benefit of the doubt; uvicorn's import then decides.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from leakbench._settings import Target, TargetInterpreter
from leakbench.errors import UsageError

# Run in the target's interpreter: the standard library only (a matrix
# environment may not hold leakbench).
_CHECK = r"""
import ast, importlib.util, json, sys, traceback
module, attribute, app_dir = sys.argv[1], sys.argv[2], sys.argv[3]
if app_dir and app_dir not in sys.path:
    sys.path.insert(0, app_dir)
answer = {"found": False, "error": None, "bound": None, "names": [], "missing": None}
try:
    spec = importlib.util.find_spec(module)
except Exception as exc:
    answer["error"] = traceback.format_exception_only(type(exc), exc)[-1].strip()
    spec = None
if spec is not None:
    answer["found"] = True
    try:
        tree = ast.parse(open(spec.origin, "rb").read(), spec.origin)
    except Exception:
        tree = None
    if tree is not None:
        names, dynamic = set(), False
        for node in tree.body:
            targets = []
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name == "*":
                        dynamic = True
                    names.add((alias.asname or alias.name).split(".")[0])
            elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            else:
                # Names bound under if/try/with/for at the top level count too.
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Name) and isinstance(inner.ctx, ast.Store):
                        names.add(inner.id)
                    elif isinstance(inner, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        names.add(inner.name)
                    elif isinstance(inner, (ast.Import, ast.ImportFrom)):
                        for alias in inner.names:
                            dynamic = dynamic or alias.name == "*"
                            names.add((alias.asname or alias.name).split(".")[0])
            for target in targets:
                for inner in ast.walk(target):
                    if isinstance(inner, ast.Name):
                        names.add(inner.id)
        if "__getattr__" in names or "globals" in {
            n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
        }:
            dynamic = True
        answer["bound"] = None if dynamic else attribute in names
        answer["names"] = sorted(n for n in names if not n.startswith("_"))[:12]
        # Unconditional absolute imports at the top (not under try/if): one that is not
        # installed fails the import for sure.
        for node in tree.body:
            if isinstance(node, ast.Import):
                wanted = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                wanted = [node.module]
            else:
                continue
            for name in wanted:
                top = name.split(".")[0]
                try:
                    found = importlib.util.find_spec(top) is not None
                except Exception:
                    found = True  # cannot tell without running it: the start will
                if not found:
                    answer["missing"] = {"module": top, "line": node.lineno}
                    break
            if answer["missing"]:
                break
print(json.dumps(answer))
"""


def check_importable(target: Target, interpreter: TargetInterpreter, env: dict[str, str]) -> None:
    """Raise a UsageError naming what is missing when ``target``'s app cannot be imported."""
    if target.kind != "app":
        return
    module, _, attribute = target.app.rpartition(":")
    app_dir = str(target.app_dir or Path.cwd())
    try:
        done = subprocess.run(
            [interpreter.executable, "-c", _CHECK, module, attribute, app_dir],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
            cwd=app_dir,
            env=interpreter.environment(env),
        )
        answer = json.loads(done.stdout.strip().splitlines()[-1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return  # the check itself could not run: the target's start will tell
    if not answer["found"]:
        why = f" ({answer['error']})" if answer["error"] else ""
        raise UsageError(
            f"--app {target.name}: the module {module!r} cannot be found from {app_dir}{why}; "
            "check the module path, or run leakbench from the app's project folder."
        )
    missing = answer.get("missing")
    if isinstance(missing, dict):
        raise UsageError(
            f"--app {target.name}: line {missing['line']} of {module!r} imports "
            f"{missing['module']!r}, which {interpreter.executable} cannot find (No module "
            f"named {missing['module']!r}); install it in the environment the app runs in."
        )
    if answer["bound"] is False:
        names = ", ".join(answer["names"]) or "nothing public"
        raise UsageError(
            f"--app {target.name}: the module {module!r} defines no {attribute!r} "
            f"(its top-level names: {names}); name the FastAPI object, e.g. {module}:app."
        )
