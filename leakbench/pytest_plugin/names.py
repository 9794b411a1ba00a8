"""The plugin's option, ini and marker names: shared by its hooks, importing nothing."""

SETTLE_INI = "leakbench_settle"
EVERY_TEST_INI = "leakbench"
ALLOW_MARKER = "leakbench_allow"
ALLOW_FIXTURES_INI = "leakbench_allow_fixtures"
