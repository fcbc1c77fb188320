"""Day reports: X (the day so far) and Z (close and seal the day)."""
