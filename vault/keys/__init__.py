"""Key rotation: the ports a rewrap walks, the rewrap itself, and its commands."""
