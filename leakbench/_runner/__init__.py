"""The run stage: run(config) -> RunResult, one row at a time, attach mode, versions."""
