"""Pages shared by both dashboards: log in, register, log out."""
