// PDM Serverless in one resource group: IoT Hub → Event Hubs → the function app (Flex Consumption, custom handler)
// → PostgreSQL Flexible Server with TimescaleDB; storage, Key Vault and monitoring around them. `azd up` deploys it;
// docs/deployment.md describes what is created and why.
targetScope = 'subscription'

@minLength(1)
@maxLength(48)
@description('azd environment name: names the resource group and tags every resource (azd-env-name).')
param environmentName string

@minLength(1)
@description('Region of every resource.')
param location string

@description('Object id of the deploying user or service principal (azd sets AZURE_PRINCIPAL_ID): PostgreSQL Entra administrator and Key Vault secrets officer.')
param principalId string

@allowed(['User', 'ServicePrincipal', 'Group'])
@description('Its kind (azd sets AZURE_PRINCIPAL_TYPE).')
param principalType string = 'User'

@description('Its sign-in name as PostgreSQL shows the administrator role (the preprovision hook sets AZURE_PRINCIPAL_NAME).')
param principalName string

@description('Public IPv4 address of the deploying machine, allowed through the PostgreSQL firewall for the postprovision hook; empty for none.')
param deployerIpAddress string = ''

@description('IoT Hub tier.')
@allowed(['S1', 'S2', 'S3'])
param iotHubSku string = 'S1'

@description('IoT Hub units (S1: 400,000 messages a day each).')
@minValue(1)
@maxValue(200)
param iotHubUnits int = 1

@description('Event Hubs Standard throughput units (1 MB/s or 1,000 events/s in each).')
@minValue(1)
@maxValue(40)
param eventHubsCapacity int = 1

@description('Partitions of the telemetry event hub: Ingest runs at most this many batches at once.')
@minValue(1)
@maxValue(32)
param eventHubPartitions int = 4

@description('Memory of one function app instance, MB.')
@allowed([512, 2048, 4096])
param functionInstanceMemoryMB int = 2048

@description('Most function app instances at once.')
@minValue(40)
@maxValue(1000)
param functionMaximumInstances int = 100

@description('Instances kept running for the HTTP functions (dashboard and API); 0 scales them from zero. A new instance spends its first half minute under load compiling (docs/performance.md), so one always ready instance spares the first users after a quiet spell; it is billed while idle, without the free grant.')
@minValue(0)
param functionAlwaysReadyHttpInstances int = 0

@allowed(['16', '17'])
param postgresVersion string = '17'

@description('PostgreSQL compute size.')
param postgresSkuName string = 'Standard_B1ms'

@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param postgresSkuTier string = 'Burstable'

@minValue(32)
param postgresStorageSizeGB int = 32

@description('PostgreSQL high availability (not on Burstable): a standby in the same or another zone.')
@allowed(['Disabled', 'SameZone', 'ZoneRedundant'])
param postgresHighAvailability string = 'Disabled'

@minValue(7)
@maxValue(35)
param postgresBackupRetentionDays int = 7

@allowed(['Disabled', 'Enabled'])
param postgresGeoRedundantBackup string = 'Disabled'

@description('Key Vault purge protection (cannot be undone; keeps the vault name reserved after azd down).')
param keyVaultPurgeProtection bool = false

@description('VNet integration for the function app and private endpoints for storage, Event Hubs, Key Vault and PostgreSQL.')
param privateNetworking bool = false

@description('Address space of the VNet when privateNetworking is on.')
param vnetAddressPrefix string = '10.40.0.0/16'

@description('Days Log Analytics keeps logs.')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 30

var token = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName, application: 'pdm-serverless' }
var functionAppName = 'func-pdm-${token}'
var databaseName = 'pdm'
// The function identity's PostgreSQL role: the name Grants.sql gives the application role its rights under.
var postgresAppRole = 'pdm_app'
var webhookSecretKeySecretName = 'webhook-secret-key'
var containers = { deadLetter: 'ingest-deadletter', rejects: 'ingest-rejects', models: 'models' }
var webhookDeliveryQueue = 'webhook-deliveries'
// Names are known before deployment (role assignment names and What-If depend on that), so modules take them from here.
var names = {
  functionIdentity: 'id-func-${token}'
  iotHubIdentity: 'id-iothub-${token}'
  applicationInsights: 'appi-${token}'
  storageAccount: 'st${token}'
  iotHub: 'iot-${token}'
  eventHubsNamespace: 'evhns-${token}'
  eventHub: 'telemetry'
  keyVault: 'kv-${token}'
  postgres: 'psql-${token}'
}

resource resourceGroup 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identities 'modules/identity.bicep' = {
  scope: resourceGroup
  params: {
    location: location
    tags: tags
    functionIdentityName: names.functionIdentity
    iotHubIdentityName: names.iotHubIdentity
  }
}

module monitoring 'modules/monitoring.bicep' = {
  scope: resourceGroup
  params: {
    location: location
    tags: tags
    logAnalyticsName: 'log-${token}'
    applicationInsightsName: names.applicationInsights
    retentionDays: logRetentionDays
  }
}

module storage 'modules/storage.bicep' = {
  scope: resourceGroup
  params: {
    location: location
    tags: tags
    storageAccountName: names.storageAccount
    deploymentContainerName: 'app-package-${take(functionAppName, 32)}'
    blobContainerNames: [containers.deadLetter, containers.rejects, containers.models]
    queueNames: [webhookDeliveryQueue]
    tableNames: ['deliveryattempts']
    privateNetworking: privateNetworking
  }
}

module messaging 'modules/messaging.bicep' = {
  scope: resourceGroup
  params: {
    location: location
    tags: tags
    iotHubName: names.iotHub
    eventHubsNamespaceName: names.eventHubsNamespace
    eventHubName: names.eventHub
    consumerGroupName: 'ingest'
    iotHubSku: iotHubSku
    iotHubUnits: iotHubUnits
    eventHubsCapacity: eventHubsCapacity
    eventHubPartitions: eventHubPartitions
    eventHubRetentionHours: 72
    iotHubIdentityName: names.iotHubIdentity
    privateNetworking: privateNetworking
  }
  dependsOn: [identities]
}

module postgres 'modules/postgres.bicep' = {
  scope: resourceGroup
  params: {
    location: location
    tags: tags
    serverName: names.postgres
    databaseName: databaseName
    postgresVersion: postgresVersion
    skuName: postgresSkuName
    skuTier: postgresSkuTier
    storageSizeGB: postgresStorageSizeGB
    highAvailability: postgresHighAvailability
    backupRetentionDays: postgresBackupRetentionDays
    geoRedundantBackup: postgresGeoRedundantBackup
    administratorPrincipalId: principalId
    administratorPrincipalName: principalName
    administratorPrincipalType: principalType
    deployerIpAddress: deployerIpAddress
    privateNetworking: privateNetworking
  }
}

module keyVault 'modules/keyvault.bicep' = {
  scope: resourceGroup
  params: {
    location: location
    tags: tags
    keyVaultName: names.keyVault
    purgeProtection: keyVaultPurgeProtection
    privateNetworking: privateNetworking
  }
}

module network 'modules/network.bicep' = if (privateNetworking) {
  scope: resourceGroup
  params: {
    location: location
    tags: tags
    vnetName: 'vnet-${token}'
    addressPrefix: vnetAddressPrefix
    storageAccountName: names.storageAccount
    eventHubsNamespaceName: names.eventHubsNamespace
    keyVaultName: names.keyVault
    postgresServerName: names.postgres
  }
  dependsOn: [storage, messaging, keyVault, postgres]
}

module roles 'modules/roles.bicep' = {
  scope: resourceGroup
  params: {
    functionIdentityName: names.functionIdentity
    storageAccountName: names.storageAccount
    eventHubsNamespaceName: names.eventHubsNamespace
    eventHubName: names.eventHub
    iotHubName: names.iotHub
    keyVaultName: names.keyVault
    applicationInsightsName: names.applicationInsights
    deployerPrincipalId: principalId
    deployerPrincipalType: principalType
  }
  dependsOn: [identities, storage, messaging, keyVault, monitoring]
}

module functionApp 'modules/functionapp.bicep' = {
  scope: resourceGroup
  params: {
    location: location
    tags: tags
    planName: 'plan-${token}'
    functionAppName: functionAppName
    serviceName: 'functions'
    instanceMemoryMB: functionInstanceMemoryMB
    maximumInstanceCount: functionMaximumInstances
    alwaysReadyHttpInstances: functionAlwaysReadyHttpInstances
    identityId: identities.outputs.functionIdentityId
    identityClientId: identities.outputs.functionIdentityClientId
    applicationInsightsName: names.applicationInsights
    storageBlobEndpoint: storage.outputs.blobEndpoint
    storageQueueEndpoint: storage.outputs.queueEndpoint
    storageTableEndpoint: storage.outputs.tableEndpoint
    deploymentContainerUrl: storage.outputs.deploymentContainerUrl
    eventHubsNamespaceName: messaging.outputs.eventHubsNamespaceName
    eventHubName: messaging.outputs.eventHubName
    consumerGroupName: messaging.outputs.consumerGroupName
    iotHubHostName: messaging.outputs.iotHubHostName
    postgresHostName: postgres.outputs.hostName
    postgresDatabaseName: postgres.outputs.databaseName
    postgresAppRole: postgresAppRole
    keyVaultUri: keyVault.outputs.keyVaultUri
    webhookSecretKeySecretName: webhookSecretKeySecretName
    deadLetterContainer: containers.deadLetter
    rejectContainer: containers.rejects
    modelContainer: containers.models
    webhookDeliveryQueue: webhookDeliveryQueue
    integrationSubnetId: privateNetworking ? network!.outputs.integrationSubnetId : ''
  }
  // The host starts with the identity's roles in place (storage for its leases, Event Hubs for the trigger).
  dependsOn: [roles, monitoring]
}

// For azd (written to .azure/<env>/.env) and the postprovision hook. Names and addresses only: no key, no
// connection string with a secret (tests/Pdm.Infra.Tests checks).
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = resourceGroup.name
output FUNCTION_APP_NAME string = functionApp.outputs.functionAppName
output FUNCTION_APP_URL string = 'https://${functionApp.outputs.functionAppHostName}'
output FUNCTIONS_IDENTITY_NAME string = identities.outputs.functionIdentityName
output FUNCTIONS_IDENTITY_PRINCIPAL_ID string = identities.outputs.functionIdentityPrincipalId
output POSTGRES_SERVER_NAME string = postgres.outputs.serverName
output POSTGRES_HOST string = postgres.outputs.hostName
output POSTGRES_DATABASE string = postgres.outputs.databaseName
output POSTGRES_APP_ROLE string = postgresAppRole
output KEY_VAULT_NAME string = keyVault.outputs.keyVaultName
output WEBHOOK_SECRET_KEY_SECRET_NAME string = webhookSecretKeySecretName
output IOTHUB_NAME string = messaging.outputs.iotHubName
output IOTHUB_HOST_NAME string = messaging.outputs.iotHubHostName
output STORAGE_ACCOUNT_NAME string = storage.outputs.storageAccountName
output EVENTHUBS_NAMESPACE string = messaging.outputs.eventHubsNamespaceName
