"""The output stage: the terminal table, the notes under it and the report files."""
