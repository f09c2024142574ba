"""The admin dashboard: clients, journal, global parameters, system health."""
