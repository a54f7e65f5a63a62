// PostgreSQL Flexible Server with TimescaleDB (allow-listed and preloaded) and Entra ID authentication only. The
// deploying principal is the Entra administrator; the postprovision hook makes the function identity the database
// role pdm_app (see docs/deployment.md).
param location string
param tags object
param serverName string
param databaseName string

@allowed(['16', '17'])
param postgresVersion string

@description('Compute, e.g. Standard_B1ms (Burstable) or Standard_D2ds_v5 (GeneralPurpose).')
param skuName string

@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param skuTier string

@minValue(32)
param storageSizeGB int

@allowed(['Disabled', 'SameZone', 'ZoneRedundant'])
param highAvailability string

@minValue(7)
@maxValue(35)
param backupRetentionDays int

@allowed(['Disabled', 'Enabled'])
param geoRedundantBackup string

@description('Object id of the Entra administrator (the deploying user or service principal).')
param administratorPrincipalId string

@description('Its user principal name or display name, as PostgreSQL shows the role.')
param administratorPrincipalName string

@allowed(['User', 'ServicePrincipal', 'Group'])
param administratorPrincipalType string

@description('Public address allowed to reach the server besides Azure services (the deploying machine, for the hooks); empty for none.')
param deployerIpAddress string

param privateNetworking bool

resource server 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: serverName
  location: location
  tags: tags
  sku: { name: skuName, tier: skuTier }
  properties: {
    version: postgresVersion
    storage: { storageSizeGB: storageSizeGB, autoGrow: 'Enabled' }
    backup: { backupRetentionDays: backupRetentionDays, geoRedundantBackup: geoRedundantBackup }
    highAvailability: { mode: highAvailability }
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenant().tenantId
    }
    network: { publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled' }
  }
}

// Server parameters are changed one at a time: the server rejects concurrent updates.
resource allowExtensions 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = {
  parent: server
  name: 'azure.extensions'
  properties: { value: 'timescaledb', source: 'user-override' }
}

// Static: takes effect after a restart, which the postprovision hook does when the server says one is pending.
resource preloadLibraries 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = {
  parent: server
  name: 'shared_preload_libraries'
  properties: { value: 'pg_stat_statements,timescaledb', source: 'user-override' }
  dependsOn: [allowExtensions]
}

resource requireTls 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = {
  parent: server
  name: 'require_secure_transport'
  properties: { value: 'on', source: 'user-override' }
  dependsOn: [preloadLibraries]
}

resource administrator 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: server
  name: administratorPrincipalId
  properties: {
    principalName: administratorPrincipalName
    principalType: administratorPrincipalType
    tenantId: tenant().tenantId
  }
  dependsOn: [requireTls]
}

resource database 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: server
  name: databaseName
  properties: { charset: 'UTF8', collation: 'en_US.utf8' }
  dependsOn: [administrator]
}

// Flex Consumption without VNet integration has no fixed outbound addresses: allow Azure's (the 0.0.0.0 rule).
resource allowAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = if (!privateNetworking) {
  parent: server
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: { startIpAddress: '0.0.0.0', endIpAddress: '0.0.0.0' }
  dependsOn: [database]
}

resource allowDeployer 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = if (!privateNetworking && !empty(deployerIpAddress)) {
  parent: server
  name: 'deployer'
  properties: { startIpAddress: deployerIpAddress, endIpAddress: deployerIpAddress }
  dependsOn: [allowAzure]
}

output serverName string = server.name
output serverId string = server.id
output hostName string = server.properties.fullyQualifiedDomainName
output databaseName string = database.name
