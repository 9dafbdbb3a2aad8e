"""gRPC adapters. Generated code under `colo.rpc.*.v1` comes from proto/ (`make proto`)."""
