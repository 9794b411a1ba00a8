"""PostgreSQL servers (embedded or external) and the databases leakbench owns on them."""
