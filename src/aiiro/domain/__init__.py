"""The rules of the Indigo platform, free of HTTP. Raises IndigoError subclasses that
api/ renders in Indigo's shapes."""
