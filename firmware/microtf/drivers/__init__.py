"""Sensor drivers in micropython-lib style (one module per chip, imported lazily)."""
