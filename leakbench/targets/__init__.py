"""The target stage: starting the app under test, its probe, and what it is given."""
