"""Pieces the dashboards' pages share: chart option builders, formatters."""
