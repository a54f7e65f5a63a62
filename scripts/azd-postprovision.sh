#!/usr/bin/env sh
# azd postprovision hook: after the Bicep, before the code is deployed.
#  1. restarts PostgreSQL when shared_preload_libraries (TimescaleDB) waits for a restart;
#  2. as the Entra administrator (the deploying principal, token from az): makes the function identity the role
#     pdm_app, the NOLOGIN owner role pdm_owner, the timescaledb extension;
#  3. applies the migrations as pdm_owner (`pdm db migrate`), which also grants pdm_app its rights;
#  4. generates the webhook secret encryption key into Key Vault once;
#  5. once per environment: creates the first tenant (`pdm tenant create`) and prints its admin key and the dashboard URL.
# The values come from azd's environment (main.bicep's outputs). PostgreSQL must be reachable from this machine: with
# privateNetworking, run `azd hooks run postprovision` from inside the VNet.
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
for name in AZURE_RESOURCE_GROUP POSTGRES_SERVER_NAME POSTGRES_HOST POSTGRES_DATABASE POSTGRES_APP_ROLE \
    FUNCTIONS_IDENTITY_PRINCIPAL_ID AZURE_PRINCIPAL_NAME KEY_VAULT_NAME WEBHOOK_SECRET_KEY_SECRET_NAME FUNCTION_APP_URL; do
  eval "value=\${$name:-}"
  [ -n "$value" ] || { echo "postprovision: $name is not set in the azd environment" >&2; exit 1; }
done
command -v psql >/dev/null || { echo "postprovision: psql (PostgreSQL client) is required" >&2; exit 1; }

pending="$(az postgres flexible-server parameter show -g "$AZURE_RESOURCE_GROUP" -s "$POSTGRES_SERVER_NAME" \
  -n shared_preload_libraries --query isConfigPendingRestart -o tsv)"
if [ "$pending" = "true" ]; then
  echo "postprovision: restarting PostgreSQL to load TimescaleDB"
  az postgres flexible-server restart -g "$AZURE_RESOURCE_GROUP" -n "$POSTGRES_SERVER_NAME" -o none
fi

# The Entra token is the password (about an hour); Npgsql and psql both read PGPASSWORD.
PGPASSWORD="$(az account get-access-token --resource-type oss-rdbms --query accessToken -o tsv)"
export PGPASSWORD
admin="$AZURE_PRINCIPAL_NAME"

psql "host=$POSTGRES_HOST dbname=postgres user=$admin sslmode=require" -q -v ON_ERROR_STOP=1 \
  -v app_role="$POSTGRES_APP_ROLE" -v oid="$FUNCTIONS_IDENTITY_PRINCIPAL_ID" <<'SQL'
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_role') AS app_role_missing \gset
\if :app_role_missing
SELECT * FROM pgaadauth_create_principal_with_oid(:'app_role', :'oid', 'service', false, false);
\endif
SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pdm_owner') AS owner_missing \gset
\if :owner_missing
CREATE ROLE pdm_owner NOLOGIN;
\endif
GRANT pdm_owner TO CURRENT_USER WITH INHERIT TRUE, SET TRUE;
SQL

psql "host=$POSTGRES_HOST dbname=$POSTGRES_DATABASE user=$admin sslmode=require" -q -v ON_ERROR_STOP=1 \
  -v app_role="$POSTGRES_APP_ROLE" -v db="$POSTGRES_DATABASE" <<'SQL'
GRANT CREATE, CONNECT, TEMPORARY ON DATABASE :"db" TO pdm_owner;
GRANT CONNECT, TEMPORARY ON DATABASE :"db" TO :"app_role";
CREATE EXTENSION IF NOT EXISTS timescaledb;
SQL

# The schema belongs to pdm_owner, whoever deploys next (the startup option sets the session's role).
owner="Host=$POSTGRES_HOST;Database=$POSTGRES_DATABASE;Username=$admin;SSL Mode=VerifyFull;Options=-c role=pdm_owner"
pdm() { dotnet run --project "$root/src/Pdm.Cli/Pdm.Cli.csproj" -c Release -v q -- "$@"; }
pdm db migrate --connection "$owner"

if [ -z "$(az keyvault secret list --vault-name "$KEY_VAULT_NAME" --query "[?name=='$WEBHOOK_SECRET_KEY_SECRET_NAME'].id" -o tsv)" ]; then
  echo "postprovision: generating the webhook secret encryption key in Key Vault"
  openssl rand -base64 32 | az keyvault secret set --vault-name "$KEY_VAULT_NAME" -n "$WEBHOOK_SECRET_KEY_SECRET_NAME" \
    --file /dev/stdin -o none
fi

dashboard="$FUNCTION_APP_URL/api/dashboard/"
if [ -z "${PDM_FIRST_TENANT_ID:-}" ]; then
  tenant="${PDM_FIRST_TENANT:-$AZURE_ENV_NAME}"
  created="$(pdm tenant create --name "$tenant" --connection "$owner" --json)"
  tenant_id="$(printf '%s' "$created" | sed -n 's/.*"tenant_id":"\([^"]*\)".*/\1/p')"
  key="$(printf '%s' "$created" | sed -n 's/.*"key":"\([^"]*\)".*/\1/p')"
  azd env set PDM_FIRST_TENANT_ID "$tenant_id"
  echo
  echo "Tenant '$tenant' ($tenant_id) is ready."
  echo "Its admin key, shown once: $key"
  echo "Dashboard: $dashboard (after azd deploy)"
else
  echo "Dashboard: $dashboard (the first tenant's admin key was shown when it was created)"
fi
