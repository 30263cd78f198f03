"""The fake Cloud KMS lives in vault/devstack (the tests, the benchmark and ``make run-gcp``
share it); this name stays for the test suite's imports."""

from vault.devstack.fake_kms import FakeKms

__all__ = ["FakeKms"]
