"""``leakbench matrix``: the same rows once per combination of package versions.

:mod:`~leakbench.matrix.axes` parses ``--versions NAME=V1,V2`` into the
combinations and says which targets each one can run;
:mod:`~leakbench.matrix.environments` builds (or reuses) one virtual
environment per combination with uv; :mod:`~leakbench.matrix.run` runs the
rows once per environment through :func:`leakbench.runner.run.run`, with the
targets on that environment's interpreter. leakbench itself stays in its own.
"""
