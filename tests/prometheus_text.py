"""Reading Prometheus text exposition in tests, strictly."""

from __future__ import annotations

import re

_SAMPLE_LINE = re.compile(r"^(\w+)\{(.*)\} (\S+)$")


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Prometheus text to {(name, labels): value}, failing on any malformed line."""
    values = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) \w+ .+$", line), line
            continue
        match = _SAMPLE_LINE.match(line)
        assert match, line
        labels = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match[2]))
        values[match[1], labels] = float(match[3])
    return values


def key(name: str, **labels: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return name, frozenset(labels.items())
