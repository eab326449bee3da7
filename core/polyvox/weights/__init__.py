"""Model weights as a kernel service: declared by engines, fetched, verified and removed here."""
