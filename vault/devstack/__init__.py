"""Development stand-ins, clearly not for production: a fake Cloud KMS that speaks the real
gRPC API (Cloud KMS has no emulator), used by the tests, the benchmark and ``make run-gcp``.
Nothing in the service imports this package."""
