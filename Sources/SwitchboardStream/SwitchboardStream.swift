// SwitchboardStream: see docs/architecture.md
