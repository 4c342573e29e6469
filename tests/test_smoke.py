from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.demo import load_demo_data


def test_main_pages_answer_with_demo_data(
    client: TestClient, db: Session, settings: Settings
) -> None:
    load_demo_data(db, settings)
    db.commit()
    for url in [
        "/",
        "/opportunities",
        "/opportunities/1",
        "/api/v1/opportunities",
        "/api/v1/openapi.json",
        "/healthz",
        "/readyz",
        "/teams",
        "/teams/forms",
    ]:
        assert client.get(url).status_code == 200, url
