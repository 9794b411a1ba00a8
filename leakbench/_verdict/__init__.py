"""The verdict stage: pure analysis of a row's samples, capacity and thresholds. No I/O."""
