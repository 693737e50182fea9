"""Honest answers: calibrated confidence, "unknown" (open set) and "idle" (motion)."""
