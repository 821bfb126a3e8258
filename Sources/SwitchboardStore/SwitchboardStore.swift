// SwitchboardStore: see docs/architecture.md
