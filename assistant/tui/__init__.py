"""The Textual TUI: screens per area, widgets by area, one stylesheet, a service layer for I/O."""
