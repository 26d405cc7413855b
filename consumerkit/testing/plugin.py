"""consumerkit's pytest plugin (work in progress)."""
