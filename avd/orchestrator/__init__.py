"""The uvloop runtime: event hub, timers, collector and the services' wiring."""
