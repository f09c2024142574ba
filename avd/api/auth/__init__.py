"""Authentication: argon2 passwords, JWT access/refresh tokens, TOTP 2FA,
login rate limiting, and the guards that routes use."""
