"""The client dashboard: market, positions, history, funds, bot, keys, security."""
