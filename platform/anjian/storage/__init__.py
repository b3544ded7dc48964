"""Object storage: a local folder (embedded default) or S3 (boto3)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse


def check(app) -> None:
    """Raise if the configured storage cannot be reached or written."""
    url = urlparse(app.config["ANJIAN_STORAGE_URL"])
    if url.scheme == "file":
        folder = Path(url.path)
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".readyz"
        probe.write_bytes(b"ok")
        probe.unlink()
        return
    if url.scheme == "s3":
        import boto3
        from botocore.config import Config

        client = boto3.client(
            "s3", endpoint_url=app.config.get("ANJIAN_S3_ENDPOINT_URL") or None,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          connect_timeout=2, read_timeout=5, retries={"max_attempts": 1}),
        )
        client.head_bucket(Bucket=url.netloc)
        return
    raise ValueError(f"unsupported storage URL scheme: {url.scheme}")
