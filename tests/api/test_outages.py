"""Found by the soak (issue 12): while PostgreSQL restarted, uploads and every keyed request were 500s. A store
that does not answer is an outage, not a bug: 503 with ``Retry-After``, so clients (and the soak's) send again."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from sightsound.config import Settings
from sightsound_api.main import create_app
from sightsound_ops.stack import free_port


def test_a_database_that_does_not_answer_is_a_503_with_retry_after(settings: Settings,
                                                                     auth_headers: dict[str, str]) -> None:
    gone = make_url(settings.database_url).set(port=free_port()).render_as_string(hide_password=False)
    with TestClient(create_app(settings.model_copy(update={"database_url": gone})), headers=auth_headers,
                    raise_server_exceptions=False) as client:
        response = client.get("/v1/datasets")
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) >= 1
    assert "PostgreSQL does not answer" in response.json()["detail"]
