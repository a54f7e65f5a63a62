// The function app: Flex Consumption, Linux, runtime `custom` (the self-contained handler), the user-assigned identity
// for everything it reaches, and an app setting for every setting the handler reads (tests/Pdm.Infra.Tests checks
// them against the code).
param location string
param tags object
param planName string
param functionAppName string

@description('azd finds the app to deploy to by this tag: the service name in azure.yaml.')
param serviceName string

@allowed([512, 2048, 4096])
param instanceMemoryMB int

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int

@description('Always ready instances of the http group; 0 for none.')
@minValue(0)
param alwaysReadyHttpInstances int

param identityId string
param identityClientId string
param applicationInsightsName string
param storageBlobEndpoint string
param storageQueueEndpoint string
param storageTableEndpoint string
param deploymentContainerUrl string
param eventHubsNamespaceName string
param eventHubName string
param consumerGroupName string
param iotHubHostName string
param postgresHostName string
param postgresDatabaseName string

@description('PostgreSQL role of the function identity (made by the postprovision hook; Grants.sql gives it its rights).')
param postgresAppRole string

param keyVaultUri string

@description('Key Vault secret holding the webhook secret encryption key.')
param webhookSecretKeySecretName string

param deadLetterContainer string
param rejectContainer string
param modelContainer string
param webhookDeliveryQueue string

@description('Subnet delegated to Microsoft.App/environments for VNet integration; empty without private networking.')
param integrationSubnetId string

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: { name: 'FC1', tier: 'FlexConsumption' }
  properties: { reserved: true }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: functionAppName
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identityId
    virtualNetworkSubnetId: empty(integrationSubnetId) ? null : integrationSubnetId
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: deploymentContainerUrl
          authentication: { type: 'UserAssignedIdentity', userAssignedIdentityResourceId: identityId }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
        alwaysReady: alwaysReadyHttpInstances == 0 ? [] : [{ name: 'http', instanceCount: alwaysReadyHttpInstances }]
      }
      runtime: { name: 'custom', version: '1.0' }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      healthCheckPath: '/api/health'
      appSettings: [
        // The host's own storage and the app's blobs, queue and table, with the identity.
        { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
        { name: 'AzureWebJobsStorage__clientId', value: identityClientId }
        { name: 'AzureWebJobsStorage__blobServiceUri', value: storageBlobEndpoint }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: storageQueueEndpoint }
        { name: 'AzureWebJobsStorage__tableServiceUri', value: storageTableEndpoint }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: applicationInsights.properties.ConnectionString }
        { name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING', value: 'ClientId=${identityClientId};Authorization=AAD' }
        // Ingest's trigger: the event hub IoT Hub routes telemetry to, read with the identity.
        { name: 'IotHubEvents__fullyQualifiedNamespace', value: '${eventHubsNamespaceName}.servicebus.windows.net' }
        { name: 'IotHubEvents__credential', value: 'managedidentity' }
        { name: 'IotHubEvents__clientId', value: identityClientId }
        { name: 'IOTHUB_EH_NAME', value: eventHubName }
        { name: 'IOTHUB_CONSUMER_GROUP', value: consumerGroupName }
        // PostgreSQL with an Entra token of the identity as the password (no password in the string).
        {
          name: 'Pdm__Database'
          value: 'Host=${postgresHostName};Port=5432;Database=${postgresDatabaseName};Username=${postgresAppRole};SSL Mode=VerifyFull'
        }
        { name: 'Pdm__DatabaseCredential', value: 'managedidentity' }
        { name: 'Pdm__DatabaseClientId', value: identityClientId }
        { name: 'Pdm__DeadLetterContainer', value: deadLetterContainer }
        { name: 'Pdm__Ingest__RejectContainer', value: rejectContainer }
        { name: 'Pdm__ModelContainer', value: modelContainer }
        // Device registration through IoT Hub's registry API with the identity.
        { name: 'Pdm__IotHubHostName', value: iotHubHostName }
        { name: 'Pdm__MqttEndpoint', value: '${iotHubHostName}:8883' }
        {
          name: 'Pdm__WebhookSecretKey'
          value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${webhookSecretKeySecretName})'
        }
        { name: 'WEBHOOK_DELIVERY_QUEUE', value: webhookDeliveryQueue }
        // Timers (NCRONTAB, six fields, UTC).
        { name: 'DEADLETTER_REPLAY_SCHEDULE', value: '0 */1 * * * *' }
        { name: 'PREDICT_SCHEDULE', value: '0 */1 * * * *' }
        { name: 'ALERT_TICK_SCHEDULE', value: '0 */1 * * * *' }
        // A backstop: Ingest and Predict publish right after their commits.
        { name: 'PUBLISH_ALERTS_SCHEDULE', value: '0 */1 * * * *' }
        // The dashboard's rollups and the retention of old partitions (their timers arrive with the dashboard reads).
        { name: 'ROLLUP_SCHEDULE', value: '0 */1 * * * *' }
        { name: 'RETENTION_SCHEDULE', value: '0 17 3 * * *' }
      ]
    }
  }
}

output functionAppName string = functionApp.name
output functionAppHostName string = functionApp.properties.defaultHostName
