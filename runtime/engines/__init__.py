"""Engine families behind protocols. Only these modules import the heavy backends, lazily."""
