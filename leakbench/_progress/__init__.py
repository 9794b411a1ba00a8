"""Progress while a run goes on: the observer protocol and its live, plain and metrics views."""
