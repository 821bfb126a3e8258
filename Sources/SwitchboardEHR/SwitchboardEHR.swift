// SwitchboardEHR: see docs/architecture.md
