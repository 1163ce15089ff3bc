"""The OpenAPI schema at `/api/schema/` is the truth: schemathesis, run in-process against the Django app (WSGI, no
server), finds no request the server answers differently from what the schema says.

Every phase schemathesis has runs (examples, coverage, fuzzing, stateful: the schema's links chain create → read →
update → delete, upload → confirm → errors → undo) with a fixed seed, as an admin, and fails on any of the checks
below. `make fuzz` runs the same test at 100+ examples per operation (FUZZ_EXAMPLES) on SQLite and PostgreSQL.

Not in the schema, so not fuzzed: Twilio's delivery callback (`/api/v1/sms/twilio/status/`), a signed webhook that
answers 403 to anything unsigned; it is tested in tests/sms. The SSE `events` stream is fuzzed with its time limit
set to zero, so it ends after its first answer instead of holding the run for IMPORT_SSE_MAX_SECONDS.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import connections
from schemathesis.engine import from_schema
from schemathesis.engine.events import FatalError, NonFatalError, ScenarioFinished

from primepre.accounts.tokens import issue_token

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
SEED = int(os.environ.get("FUZZ_SEED", "20261129"))
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "positive_data_acceptance",
    "negative_data_rejection",
    "use_after_free",
    "ensure_resource_availability",
]


@dataclass
class Run:
    cases: int = 0
    operations: set[str] = field(default_factory=set)
    failures: dict[tuple[str, str, str], str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "workers": 1,
            "generation": {"max-examples": EXAMPLES},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


# Refusals of well-formed requests that no OpenAPI schema can rule out, by their stable error code: the schema cannot
# say which password is right, which ids exist, what a valid phone number, region name or spreadsheet is, or that a
# text goes to `customer_ids` or a `filter` (one of the two). A 400 to a schema-valid request fails the test unless
# one of its reasons is here: then the request was refused for that reason whatever else it held.
NOT_IN_ANY_SCHEMA = {
    "invalid_credentials",  # POST /auth/token/: a wrong password
    "does_not_exist",  # an id in range that names no row
    "invalid_phone",  # customers: a number phonenumbers cannot place
    "unsupported_format",  # imports: bytes that are no spreadsheet
    "bad_field",  # imports: `columns` naming a field the sheet does not have
    "bad_mapping",  # imports/remap: a column past the file's last one, or a header it does not have
    "unknown_sheet",  # imports/remap: a sheet the workbook does not have
    "no_recipients",  # sms/send: neither `customer_ids` nor `filter`
    "unique",  # customers: the phone, mark or email of another customer
    "invalid_placeholder",  # sms/send: a `{name}` in the text that is not one the message can fill in per recipient
    "invalid_check_digit",  # shipments: a container number of the right shape whose ISO 6346 check digit fails
    "container_required",  # shipments/close: a sea shipment closed before anyone gave its container number
    # Limits of the platform rather than of a field, like the body size limit (413): a JSON body nested deeper than
    # API_JSON_MAX_DEPTH (the schema's free-form objects, e.g. sms/send's `filter`, allow any depth), and text
    # holding a NUL character, which PostgreSQL cannot store and every text field therefore refuses.
    "invalid_json",
    "null_characters_not_allowed",
}
# Under Django's generic code: the customer model's own checks (`full_clean`, after it normalises the text), and an
# import's options, which depend on the kind of sheet (`schema`: goods take a warehouse, customers a missing_mark).
NOT_IN_ANY_SCHEMA_FIELDS = {
    ("email", "invalid"),
    ("region", "invalid"),
    ("shipping_mark", "invalid"),
    *(
        (option, "invalid")
        for option in ("mode", "missing_mark", "send_welcome_sms", "warehouse", "default_method", "send_receipt_sms")
    ),
}


def _semantic_refusal(check: str, response: Any) -> bool:
    """A 400 to a schema-valid request with one of its reasons in NOT_IN_ANY_SCHEMA(_FIELDS)."""
    if check != "positive_data_acceptance" or response is None or response.status_code != 400:
        return False
    body = response.json()
    if body.get("code") in NOT_IN_ANY_SCHEMA:
        return True
    reasons = {(name, error["code"]) for name, errors in body.get("fields", {}).items() for error in errors}
    return any(code in NOT_IN_ANY_SCHEMA or (name, code) in NOT_IN_ANY_SCHEMA_FIELDS for name, code in reasons)


def _app() -> Callable[..., Iterable[bytes]]:
    """Django's WSGI app, each response read whole and closed, then the calling thread's database connection closed:
    schemathesis calls from its own thread, whose connection Django would keep open past the test (the PostgreSQL
    leg fails a test that leaves a session behind)."""
    django_app = get_wsgi_application()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        result = django_app(environ, start_response)
        try:
            return [b"".join(result)]
        finally:
            result.close()
            connections.close_all()

    return app


def run_schemathesis(user: Any) -> Run:
    """Every phase over every operation, as `user`; the failures (one per operation, check and kind), with the
    reproducing curl line schemathesis prints."""
    app = _app()
    schema_token = issue_token(user)[1]
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/", app, config=_config(), headers={"Authorization": f"Token {schema_token}"}
    )

    @schema.auth(refresh_interval=None)
    class FreshToken:
        """A new token for each request: the revoke endpoints are fuzzed too, and revoke the token they are sent."""

        def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
            return issue_token(user)[1]

        def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Token {data}"}

    run = Run()
    for event in from_schema(schema).execute():
        if isinstance(event, (FatalError, NonFatalError)):
            run.errors.append(f"{getattr(event, 'label', '')}: {getattr(event, 'value', None) or event.exception}")
        if not isinstance(event, ScenarioFinished) or not event.is_test_scenario:
            continue
        recorder = event.recorder
        run.cases += len(recorder.cases)
        run.operations.add(recorder.label)
        for case_id, nodes in recorder.checks.items():
            for node in nodes:
                if node.failure_info is None:
                    continue
                failure = node.failure_info.failure
                response = recorder.find_response(case_id=case_id)
                if _semantic_refusal(node.name, response):
                    continue
                answer = f"{response.status_code} {response.text[:300]}" if response is not None else "no response"
                run.failures.setdefault(
                    (recorder.label, node.name, failure.title),
                    f"{failure.message}\n  answered: {answer}\n  {node.failure_info.code_sample[:2000]}",
                )
    return run


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_server_answers_as_its_schema_says(admin_user: Any, settings: Any) -> None:
    settings.ALLOWED_HOSTS = ["localhost"]  # schemathesis's WSGI client calls the app as http://localhost
    settings.IMPORT_SSE_MAX_SECONDS = 0
    run = run_schemathesis(admin_user)
    documented = _documented_operations()
    report = "\n".join(f"{' / '.join(key)}: {text}" for key, text in run.failures.items())
    print(f"\nschemathesis: {run.cases} cases over {len(documented)} operations, {len(run.failures)} failures")
    print(report)
    assert not run.errors, run.errors
    assert not run.failures, report
    assert documented <= run.operations, f"not tested: {sorted(documented - run.operations)}"
    assert run.cases >= len(documented) * EXAMPLES


def _documented_operations() -> set[str]:
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return {f"{method.upper()} {path}" for path, item in paths.items() for method in item}


# --- What the fuzzer found, one regression test each (fast; the fuzz above is `slow`) ---------------------------------


@pytest.fixture
def schema(admin_api: Any) -> dict[str, Any]:
    return admin_api.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def _parameter(schema: dict[str, Any], path: str, name: str, method: str = "get") -> dict[str, Any]:
    return next(p for p in schema["paths"][path][method]["parameters"] if p["name"] == name)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query",
    ["page=0", "page=-1", "page=abc", "page_size=-0.33", "page_size=0", "page_size=501", "page_size="],
)
def test_page_and_page_size_outside_their_range_are_a_400_naming_them(admin_api: Any, query: str) -> None:
    response = admin_api.get(f"/api/v1/customers/?{query}")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == [query.split("=")[0]]


@pytest.mark.django_db
def test_pagination_parameters_state_their_range(schema: dict[str, Any]) -> None:
    assert _parameter(schema, "/api/v1/customers/", "page")["schema"]["minimum"] == 1
    page_size = _parameter(schema, "/api/v1/customers/", "page_size")["schema"]
    assert (page_size["minimum"], page_size["maximum"]) == (1, 500)


@pytest.mark.django_db
def test_id_filters_state_their_range(schema: dict[str, Any]) -> None:
    for path, name in [
        ("/api/v1/customers/", "import_job"),
        ("/api/v1/sms/", "customer"),
        ("/api/v1/goods/", "customer"),
    ]:
        assert _parameter(schema, path, name)["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/imports/?mode=&status=",
        "/api/v1/customers/?customer_type=",
        "/api/v1/customers/?created_before=",
        "/api/v1/goods/?unidentified=",
        "/api/v1/sms/?customer=",
    ],
)
def test_a_filter_given_without_a_value_is_a_400_not_every_row(admin_api: Any, url: str) -> None:
    response = admin_api.get(url)
    assert response.status_code == 400
    assert {error["code"] for errors in response.json()["fields"].values() for error in errors} == {"blank"}


@pytest.mark.django_db
def test_a_single_valued_filter_given_twice_is_a_400(admin_api: Any) -> None:
    response = admin_api.get("/api/v1/imports/?status=queued&status=failed")
    assert response.status_code == 400
    assert response.json()["fields"]["status"][0]["code"] == "repeated"
    assert admin_api.get("/api/v1/customers/?region=AA&region=AF").status_code == 200  # a multiple choice takes many


@pytest.mark.django_db
def test_a_text_filter_may_be_blank(admin_api: Any) -> None:
    assert admin_api.get("/api/v1/customers/?search=").status_code == 200


@pytest.mark.django_db
def test_unidentified_is_a_boolean_true_or_false(admin_api: Any, schema: dict[str, Any]) -> None:
    assert _parameter(schema, "/api/v1/goods/", "unidentified")["schema"] == {"type": "boolean"}
    assert admin_api.get("/api/v1/goods/?unidentified=true").status_code == 200
    assert admin_api.get("/api/v1/goods/?unidentified=false").status_code == 200
    response = admin_api.get("/api/v1/goods/?unidentified=perhaps")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["unidentified"]


@pytest.mark.django_db
def test_warehouse_filter_lists_the_warehouses(schema: dict[str, Any]) -> None:
    parameter = _parameter(schema, "/api/v1/goods/", "warehouse")
    assert parameter["schema"] == {"type": "array", "items": {"type": "string", "enum": ["GZ", "YW"]}}


@pytest.mark.django_db
def test_unknown_marks_refuse_an_ordering_outside_their_enum(admin_api: Any) -> None:
    assert admin_api.get("/api/v1/goods/unknown-marks/?ordering=-receipts").status_code == 200
    response = admin_api.get("/api/v1/goods/unknown-marks/?ordering=AAA")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["ordering"]


@pytest.mark.django_db
def test_a_jobs_errors_document_no_list_filters(schema: dict[str, Any]) -> None:
    names = {p["name"] for p in schema["paths"]["/api/v1/imports/{id}/errors/"]["get"]["parameters"]}
    assert names == {"id", "page", "page_size"}


@pytest.mark.django_db
@pytest.mark.parametrize("body", ["[null, null]", "{}", '{"customers": [[1, 2]]}', '{"customers": [1]}', '"x"'])
def test_a_json_upload_that_is_not_an_object_of_row_objects_is_a_400(admin_api: Any, body: str) -> None:
    response = admin_api.post("/api/v1/imports/", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] in {"invalid_json", "unsupported_format"}


@pytest.mark.django_db
def test_the_json_upload_is_documented_with_its_rows_required(schema: dict[str, Any]) -> None:
    body = schema["paths"]["/api/v1/imports/"]["post"]["requestBody"]
    assert body["required"] is True
    upload = schema["components"]["schemas"][body["content"]["application/json"]["schema"]["$ref"].rsplit("/")[-1]]
    assert "rows" in upload["required"] and upload["properties"]["rows"]["type"] == "array"
    assert "customers" not in upload["required"]  # the first frontend's name for `rows`, still read
    multipart = body["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/")[-1]
    assert schema["components"]["schemas"][multipart]["properties"]["file"]["format"] == "binary"


@pytest.mark.django_db
def test_an_event_stream_error_is_json(admin_api: Any) -> None:
    response = admin_api.get("/api/v1/imports/999/events/?format=event-stream")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


@pytest.mark.django_db
def test_sms_status_documents_what_it_returns(schema: dict[str, Any]) -> None:
    ok = schema["paths"]["/api/v1/sms/status/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    status = schema["components"]["schemas"][ok["$ref"].rsplit("/")[-1]]
    assert {"enabled", "counts", "recent_failures", "welcome_example"} <= set(status["required"])


@pytest.mark.django_db
def test_sms_send_without_recipients_has_its_own_code(admin_api: Any, schema: dict[str, Any]) -> None:
    response = admin_api.post("/api/v1/sms/send/", {"body": "Hello"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["customer_ids"][0]["code"] == "no_recipients"
    body = schema["paths"]["/api/v1/sms/send/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    send = schema["components"]["schemas"][body["$ref"].rsplit("/")[-1]]
    assert send["properties"]["customer_ids"]["minItems"] == 1


@pytest.mark.django_db
def test_blank_names_and_credentials_are_refused_as_documented(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name in ("first_name", "last_name", "phone", "shipping_mark"):
        assert components["CustomerRequest"]["properties"][name]["minLength"] == 1
    token = schema["paths"]["/api/v1/auth/token/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    token_request = components[token["$ref"].rsplit("/")[-1]]
    assert token_request["properties"]["username"]["minLength"] == token_request["properties"]["password"]["minLength"]
    assert token_request["properties"]["username"]["minLength"] == 1


@pytest.mark.django_db
def test_resolving_a_mark_documents_the_fields_each_action_needs(schema: dict[str, Any]) -> None:
    body = schema["paths"]["/api/v1/goods/unknown-marks/{mark_key}/resolve/"]["post"]["requestBody"]
    assert body["required"] is True
    shapes = schema["components"]["schemas"]["Resolve"]["oneOf"]
    required = {
        ref["$ref"].rsplit("/")[-1]: set(schema["components"]["schemas"][ref["$ref"].rsplit("/")[-1]]["required"])
        for ref in shapes
    }
    assert required == {
        "AssignMark": {"action", "customer"},
        "CreateForMark": {"action", "first_name", "last_name", "phone"},
        "LeaveMark": {"action"},
        "UnassignMark": {"action"},
    }


@pytest.mark.django_db
def test_every_operation_documents_its_errors_in_the_one_error_shape(schema: dict[str, Any]) -> None:
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message"} and {"fields", "request_id"} <= set(error["properties"])
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            assert {"401", "403"} <= set(responses), (method, path)
            if "{" in path:
                assert "404" in responses, (method, path)
            if "requestBody" in operation:
                assert {"400", "413", "415"} <= set(responses), (method, path)
            for code, response in responses.items():
                if code.startswith(("4", "5")):
                    assert response["content"]["application/json"]["schema"]["$ref"].endswith("/Error"), (code, path)


@pytest.mark.django_db
def test_state_conflicts_are_documented(schema: dict[str, Any]) -> None:
    for path in ["/api/v1/imports/{id}/confirm/", "/api/v1/imports/{id}/cancel/", "/api/v1/imports/{id}/undo/",
                 "/api/v1/sms/{id}/retry/", "/api/v1/sms/send/"]:  # fmt: skip
        assert "409" in schema["paths"][path]["post"]["responses"], path


@pytest.mark.django_db
def test_a_trimmed_text_field_documents_that_whitespace_alone_is_blank(admin_api: Any, schema: dict[str, Any]) -> None:
    assert schema["components"]["schemas"]["CustomerRequest"]["properties"]["last_name"]["pattern"] == r"\S"
    body = {"first_name": "Kofi", "last_name": "\r", "phone": "+233241234567", "shipping_mark": "PM4 KOFI"}
    response = admin_api.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 400 and response.json()["fields"]["last_name"][0]["code"] == "blank"
