"""Serving the demo to a room: an nginx TLS proxy in front of gunicorn (see room.py)."""
