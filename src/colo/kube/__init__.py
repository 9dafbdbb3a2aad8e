"""The asyncio Kubernetes adapter: raw-JSON transport and informers."""
