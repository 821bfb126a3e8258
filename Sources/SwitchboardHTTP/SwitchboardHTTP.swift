// SwitchboardHTTP: see docs/architecture.md
