"""The MarketContext REST service."""
