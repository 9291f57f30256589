"""The test harnesses, one module each: real local services (PostgreSQL, Redis, moto, a fake
ECS agent), the Terraform reader, the template's sample repositories and answer sets.

conftest.py turns them into fixtures; tests import their types and helpers from here.
"""
