"""Authentication building blocks.

argon2 passwords, JWT access/refresh tokens, TOTP 2FA, login rate limiting,
Fernet encryption at rest and the secret files of the data folder.
"""
