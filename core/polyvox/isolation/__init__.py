"""Engines in their own environments: a worker process per environment, reached through one
`EngineHost` seam (see docs/engines-isolation.md)."""
