#!/bin/sh
# PostgreSQL's first start (docker-entrypoint-initdb.d): the schema owner that migrations
# run as, the app role (LOGIN, no superuser, no BYPASSRLS, owns nothing) and the database.
# `anjian db upgrade` then creates the tables as anjian_owner and grants anjian_app its rights.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
    -v owner_password="$ANJIAN_OWNER_DB_PASSWORD" -v app_password="$ANJIAN_APP_DB_PASSWORD" <<'SQL'
CREATE ROLE anjian_owner LOGIN PASSWORD :'owner_password';
CREATE ROLE anjian_app LOGIN PASSWORD :'app_password'
    NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
CREATE DATABASE anjian OWNER anjian_owner ENCODING 'UTF8' TEMPLATE template0;
SQL
