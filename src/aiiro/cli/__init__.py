"""The `aiiro` command: serve, admin, and the Indigo client commands."""
