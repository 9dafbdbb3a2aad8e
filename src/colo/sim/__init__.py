"""The simulator: the same control-plane code against a simulated cluster replaying real traces."""
