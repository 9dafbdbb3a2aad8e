"""The node agent's decisions (pure; time is a parameter): what to report, when."""
