"""Background work on RQ: queues, and the embedded fallback when no Redis is configured."""
