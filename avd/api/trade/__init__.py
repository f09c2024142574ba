"""The TradeEngine REST service: execute, list, close and amend trades; risk status."""
