"""The control panel: server-rendered pages under /panel that call the same domain
services as the Indigo API, with a small script for live status and the console."""
