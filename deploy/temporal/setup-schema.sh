#!/bin/sh
# Creates (or upgrades) Temporal's two PostgreSQL databases. Run by `temporal-schema`
# before the server starts; safe to run again (create skips existing databases).
set -eu
sql() { temporal-sql-tool --plugin postgres12 --ep postgresql -p 5432 -u "$POSTGRES_USER" --pw "$POSTGRES_PWD" "$@"; }

until nc -z -w 5 postgresql 5432; do echo "waiting for postgresql"; sleep 2; done
for db in temporal temporal_visibility; do
  sql --db "$db" create || true  # exists already on a restart
done
sql --db temporal setup-schema -v 0.0 || true
sql --db temporal update-schema -d /etc/temporal/schema/postgresql/v12/temporal/versioned
sql --db temporal_visibility setup-schema -v 0.0 || true
sql --db temporal_visibility update-schema -d /etc/temporal/schema/postgresql/v12/visibility/versioned
echo "temporal schema ready"
