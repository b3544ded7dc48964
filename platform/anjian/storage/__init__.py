"""Object storage: a local folder (embedded default) or S3 (boto3).

``backends`` has the interface and both backends (keys, upload checks, download
tokens); ``service`` gives the app's backend (``storage_for(app)``); ``api`` serves
the local folder's downloads.
"""
