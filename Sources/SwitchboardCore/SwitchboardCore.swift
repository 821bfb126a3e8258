// SwitchboardCore: see docs/architecture.md
