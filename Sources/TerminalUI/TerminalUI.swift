// TerminalUI: see docs/architecture.md
