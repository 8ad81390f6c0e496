"""The control panel's routes (aiiro.web), picked up by api/app.py like the API areas."""

from aiiro.web.router import router

__all__ = ["router"]
