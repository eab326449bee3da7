"""A render from plan to audio: planning, the model pool, the scheduler, assembly and results."""
