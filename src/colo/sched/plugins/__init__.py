"""colo-batch's plugins, one module per thing decided."""
