"""``leakbench matrix``: the same rows once per combination of package versions.

:mod:`~leakbench._settings.matrix` parses ``--versions NAME=V1,V2`` into the
combinations and says which targets each one can run;
:mod:`~leakbench._matrix.environments` builds (or reuses) one virtual
environment per combination with uv; :mod:`~leakbench._matrix.pipeline` runs the
rows once per environment through :func:`leakbench._runner.pipeline.run`, with the
targets on that environment's interpreter. leakbench itself stays in its own.
"""
