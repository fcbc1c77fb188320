"""msgspec structs for what crosses edge <-> cloud: document layouts and sync messages."""
