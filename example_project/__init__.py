"""Example Django and Flask apps on Lambda, and a simulated fleet that runs them (``fleet``)."""
