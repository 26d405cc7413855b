"""Testing kit for consumerkit users (work in progress)."""
