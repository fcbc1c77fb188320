"""Replication client: pushes this appliance's document updates to the relay and pulls the rest."""
