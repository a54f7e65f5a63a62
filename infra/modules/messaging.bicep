// IoT Hub and the Event Hubs namespace it routes device telemetry to. The function app cannot read IoT Hub's built-in
// endpoint with an identity, so telemetry goes through an event hub we own, which it reads with its managed identity.
param location string
param tags object
param iotHubName string
param eventHubsNamespaceName string
param eventHubName string
param consumerGroupName string

@description('IoT Hub tier: S1, S2 or S3 (B tiers have no cloud-to-device messages or module twins, which IoT Edge needs).')
@allowed(['S1', 'S2', 'S3'])
param iotHubSku string

@minValue(1)
@maxValue(200)
param iotHubUnits int

@description('Event Hubs Standard: consumer groups and more than one day of retention.')
@minValue(1)
@maxValue(40)
param eventHubsCapacity int

@description('Partitions of the telemetry event hub: the most Ingest invocations that run at once.')
@minValue(1)
@maxValue(32)
param eventHubPartitions int

@description('Hours the telemetry event hub keeps events: how long ingest may be down without losing data.')
@minValue(1)
@maxValue(168)
param eventHubRetentionHours int

param iotHubIdentityName string
param privateNetworking bool

var eventHubsDataSender = '2b629674-e913-4c01-ae53-ef4638d8f975'

resource iotHubIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' existing = {
  name: iotHubIdentityName
}

resource namespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: eventHubsNamespaceName
  location: location
  tags: tags
  sku: { name: 'Standard', tier: 'Standard', capacity: eventHubsCapacity }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
    publicNetworkAccess: privateNetworking ? 'Disabled' : 'Enabled'
  }
}

resource telemetryHub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: namespace
  name: eventHubName
  properties: {
    partitionCount: eventHubPartitions
    retentionDescription: {
      cleanupPolicy: 'Delete'
      retentionTimeInHours: eventHubRetentionHours
    }
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: telemetryHub
  name: consumerGroupName
}

// Before the hub exists: IoT Hub checks its routing endpoints when it is created.
resource hubSendsToEventHub 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  scope: telemetryHub
  name: guid(telemetryHub.id, iotHubIdentity.id, eventHubsDataSender)
  properties: {
    principalId: iotHubIdentity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', eventHubsDataSender)
  }
}

resource iotHub 'Microsoft.Devices/IotHubs@2023-06-30' = {
  name: iotHubName
  location: location
  tags: tags
  sku: { name: iotHubSku, capacity: iotHubUnits }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${iotHubIdentity.id}': {} }
  }
  properties: {
    // Service access (registry, configurations) with Entra ID only; devices and gateways keep their own SAS keys.
    disableLocalAuth: true
    disableDeviceSAS: false
    disableModuleSAS: false
    minTlsVersion: '1.2'
    routing: {
      endpoints: {
        eventHubs: [
          {
            name: 'telemetry'
            authenticationType: 'identityBased'
            identity: { userAssignedIdentity: iotHubIdentity.id }
            endpointUri: 'sb://${namespace.name}.servicebus.windows.net'
            entityPath: telemetryHub.name
          }
        ]
        serviceBusQueues: []
        serviceBusTopics: []
        storageContainers: []
      }
      routes: [
        {
          name: 'telemetry-to-eventhubs'
          source: 'DeviceMessages'
          condition: 'true'
          endpointNames: ['telemetry']
          isEnabled: true
        }
      ]
      fallbackRoute: {
        name: '$fallback'
        source: 'DeviceMessages'
        condition: 'true'
        endpointNames: ['events']
        isEnabled: false
      }
    }
  }
  dependsOn: [hubSendsToEventHub]
}

output iotHubName string = iotHub.name
output iotHubHostName string = iotHub.properties.hostName
output eventHubsNamespaceName string = namespace.name
output eventHubsNamespaceId string = namespace.id
output eventHubName string = telemetryHub.name
output consumerGroupName string = consumerGroup.name
