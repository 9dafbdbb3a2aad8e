"""colo-batch's scheduling engine (pure; time is a parameter): framework, snapshot, plugins,
and the batch cycle that places many pending pods at once."""
