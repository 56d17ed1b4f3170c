"""Parameters: the pydantic models of every model parameter (unit, source, range) and the
named parameter sets.  The bottom layer: it imports nothing else of geroconvert."""
