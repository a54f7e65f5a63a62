#!/usr/bin/env sh
# azd preprovision hook: what main.parameters.json needs that azd does not set itself. AZURE_PRINCIPAL_NAME is the
# PostgreSQL Entra administrator's role name (the signed-in user's UPN, or a service principal's display name);
# PDM_DEPLOYER_IP lets the postprovision hook through the PostgreSQL firewall. Both can be set beforehand with
# `azd env set`.
set -eu
command -v az >/dev/null || { echo "preprovision: the Azure CLI (az) is required: it signs in to PostgreSQL and Key Vault" >&2; exit 1; }
if [ -z "${AZURE_PRINCIPAL_NAME:-}" ]; then
  if [ "${AZURE_PRINCIPAL_TYPE:-User}" = "User" ]; then
    name="$(az ad signed-in-user show --query userPrincipalName -o tsv)"
  else
    name="$(az ad sp show --id "$AZURE_PRINCIPAL_ID" --query displayName -o tsv)"
  fi
  azd env set AZURE_PRINCIPAL_NAME "$name"
fi
if [ -z "${PDM_DEPLOYER_IP:-}" ] && [ "${PDM_PRIVATE_NETWORKING:-false}" != "true" ]; then
  if ip="$(curl -fsS --max-time 10 https://api.ipify.org)"; then
    azd env set PDM_DEPLOYER_IP "$ip"
  else
    echo "preprovision: could not find this machine's public address; set it with azd env set PDM_DEPLOYER_IP <ip>" >&2
  fi
fi
