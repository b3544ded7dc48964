"""``Idempotency-Key`` for writes: a repeat returns the first answer, never a second effect."""
