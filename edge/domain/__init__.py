"""Pure business rules: no I/O, no clock reads, no id generation (time and ids are passed in)."""
