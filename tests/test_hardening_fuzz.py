"""A bounded, reproducible schema-based fuzz run of the local metadata service: no request gets a 500.

Schemathesis reads the service's published OpenAPI document and generates requests for every
operation, both conforming (positive) and violating (negative) the declared schemas; the seed is
fixed (`derandomize`) so a failure reproduces, and the example count bounds the run to seconds.
"""

import time

import requests
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, openapi

from .rest_service import metadata_service

EXAMPLES_PER_OPERATION_AND_MODE = 50  # per operation and mode: about 10 s in all, every operation reached
TIME_BOUND_SECONDS = 60


def test_fuzzing_the_published_contract_finds_no_server_error(tmp_path):
    with metadata_service(tmp_path, max_body_mb=1) as svc:
        schema = openapi.from_url(f"{svc.url}/openapi.json")
        operations = [result.ok() for result in schema.get_all_operations()]
        assert {op.label for op in operations} >= {"GET /config", "POST /aspects", "GET /aspects/{urn}", "GET /entitiesV2/{urn}"}
        sent, server_errors = 0, []
        started = time.monotonic()
        with requests.Session() as session:
            for operation in operations:
                for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                    @settings(max_examples=EXAMPLES_PER_OPERATION_AND_MODE, derandomize=True, deadline=None, database=None,
                              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
                    @given(case=operation.as_strategy(generation_mode=mode))
                    def fuzz(case):
                        nonlocal sent
                        response = case.call(base_url=svc.url, session=session, timeout=30)
                        sent += 1
                        if response.status_code >= 500:
                            server_errors.append(f"{response.status_code} {case.as_curl_command()}"[:500])

                    try:
                        fuzz()
                    except Unsatisfiable:  # nothing to violate: GET /config has no parameters
                        assert mode is GenerationMode.NEGATIVE
        elapsed = time.monotonic() - started
        assert svc.proc.poll() is None, "the service died under fuzzing"
    print(f"fuzzed {sent} requests over {len(operations)} operations in {elapsed:.1f} s: {len(server_errors)} server errors")
    assert sent >= len(operations) * 25
    assert server_errors == [], "\n".join(server_errors[:20])
    assert elapsed < TIME_BOUND_SECONDS
