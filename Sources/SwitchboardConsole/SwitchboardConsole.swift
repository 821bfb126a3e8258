// SwitchboardConsole: see docs/architecture.md
