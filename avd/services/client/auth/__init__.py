"""Authentication building blocks.

argon2 passwords, JWT access tokens (Ed25519, :mod:`.signing`) and refresh
tokens (HS256), TOTP 2FA, the stored login rate limit, Fernet encryption at
rest and the secret files of the data folder.
"""
