"""Preparing a machine to be a compute host (`aiiro host setup`)."""
