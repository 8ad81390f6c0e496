"""Base images for the libvirt driver: the store, the built-in tiny image, the CLI."""
