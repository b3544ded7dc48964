"""The session's real services answer: PostgreSQL, Redis and S3 (moto)."""

from __future__ import annotations

import uuid

import pytest

from tests.services import to_libpq_url


def test_postgres_answers(postgres_admin_url: str) -> None:
    import psycopg

    assert postgres_admin_url.startswith("postgresql+psycopg://")
    with psycopg.connect(to_libpq_url(postgres_admin_url), connect_timeout=10) as conn:
        version = conn.execute("select version()").fetchone()[0]
        database, encoding = conn.execute(
            "select current_database(), pg_encoding_to_char(encoding) "
            "from pg_database where datname = current_database()"
        ).fetchone()
    assert version.startswith("PostgreSQL ")
    assert database == "anjian_test"
    assert encoding == "UTF8"


def test_postgres_url_works_with_sqlalchemy(postgres_admin_url: str) -> None:
    sqlalchemy = pytest.importorskip("sqlalchemy")

    engine = sqlalchemy.create_engine(postgres_admin_url)
    try:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text("create temporary table t (name text)"))
            conn.execute(sqlalchemy.text("insert into t values ('安监')"))
            assert conn.execute(sqlalchemy.text("select name from t")).scalar_one() == "安监"
    finally:
        engine.dispose()


def test_redis_answers(redis_url: str) -> None:
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        assert client.ping() is True
        key = f"test-services:{uuid.uuid4().hex}"
        client.set(key, "值", ex=60)
        assert client.get(key).decode() == "值"
        client.delete(key)
    finally:
        client.close()


def test_s3_put_and_get(s3_endpoint: dict[str, str]) -> None:
    import boto3
    from botocore.config import Config

    assert set(s3_endpoint) == {"endpoint_url", "access_key", "secret_key", "region"}
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint["endpoint_url"],
        aws_access_key_id=s3_endpoint["access_key"],
        aws_secret_access_key=s3_endpoint["secret_key"],
        region_name=s3_endpoint["region"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    try:
        bucket = f"test-services-{uuid.uuid4().hex[:12]}"
        s3.create_bucket(Bucket=bucket)
        body = "检查报告".encode()
        s3.put_object(
            Bucket=bucket, Key="reports/1.txt", Body=body, ContentType="text/plain; charset=utf-8"
        )
        got = s3.get_object(Bucket=bucket, Key="reports/1.txt")
        assert got["Body"].read() == body
        assert got["ContentType"] == "text/plain; charset=utf-8"
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert bucket in names
    finally:
        s3.close()
