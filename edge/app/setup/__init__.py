"""First start of an appliance with no store: a setup page that enrolls it with the relay."""
