"""items-service: a small FastAPI + SQLModel backend shaped like the full-stack template's."""
