"""Exchange connectivity: the local Binance-compatible simulator (and, later, live and paper)."""
