"""The REST services (Starlette apps) and what they share."""
