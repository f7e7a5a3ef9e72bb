"""The runtime: hardware probe, planner, model store, engines and scheduler. No HTTP, no UI."""
