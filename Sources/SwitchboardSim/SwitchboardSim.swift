// SwitchboardSim: see docs/architecture.md
