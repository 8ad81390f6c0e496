"""HTTP for the Indigo API: one module per area; render.py alone knows Indigo's shapes."""
