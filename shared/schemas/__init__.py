"""msgspec structs for everything that crosses edge <-> cloud: document layouts and sync messages."""
