// Optional private networking: a VNet with a subnet for the function app's VNet integration and one for private
// endpoints of storage (blob, queue, table), Event Hubs, Key Vault and PostgreSQL, each with its private DNS zone.
// IoT Hub stays public: gateways in plants connect to it over the internet.
param location string
param tags object
param vnetName string

@description('Address space of the VNet; the two subnets take the first two /24s.')
param addressPrefix string

param storageAccountName string
param eventHubsNamespaceName string
param keyVaultName string
param postgresServerName string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource eventHubsNamespace 'Microsoft.EventHub/namespaces@2024-01-01' existing = {
  name: eventHubsNamespaceName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' existing = {
  name: postgresServerName
}

var integrationSubnetName = 'functions'
var endpointSubnetName = 'private-endpoints'

// group id of the private link, its DNS zone, the resource.
var endpoints = [
  { name: 'blob', groupId: 'blob', zone: 'privatelink.blob.${environment().suffixes.storage}', resourceId: storage.id }
  { name: 'queue', groupId: 'queue', zone: 'privatelink.queue.${environment().suffixes.storage}', resourceId: storage.id }
  { name: 'table', groupId: 'table', zone: 'privatelink.table.${environment().suffixes.storage}', resourceId: storage.id }
  { name: 'eventhubs', groupId: 'namespace', zone: 'privatelink.servicebus.windows.net', resourceId: eventHubsNamespace.id }
  { name: 'vault', groupId: 'vault', zone: 'privatelink.vaultcore.azure.net', resourceId: vault.id }
  { name: 'postgres', groupId: 'postgresqlServer', zone: 'privatelink.postgres.database.azure.com', resourceId: postgres.id }
]

resource vnet 'Microsoft.Network/virtualNetworks@2024-05-01' = {
  name: vnetName
  location: location
  tags: tags
  properties: {
    addressSpace: { addressPrefixes: [addressPrefix] }
    subnets: [
      {
        name: integrationSubnetName
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 0)
          // Flex Consumption's VNet integration needs this delegation.
          delegations: [{ name: 'flex', properties: { serviceName: 'Microsoft.App/environments' } }]
        }
      }
      {
        name: endpointSubnetName
        properties: {
          addressPrefix: cidrSubnet(addressPrefix, 24, 1)
          privateEndpointNetworkPolicies: 'Disabled'
        }
      }
    ]
  }
}

resource integrationSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: integrationSubnetName
}

resource endpointSubnet 'Microsoft.Network/virtualNetworks/subnets@2024-05-01' existing = {
  parent: vnet
  name: endpointSubnetName
}

module privateEndpoints 'privateendpoint.bicep' = [for endpoint in endpoints: {
  name: 'pe-${endpoint.name}'
  params: {
    location: location
    tags: tags
    name: 'pe-${endpoint.name}-${vnet.name}'
    vnetId: vnet.id
    subnetId: endpointSubnet.id
    privateLinkServiceId: endpoint.resourceId
    groupId: endpoint.groupId
    dnsZoneName: endpoint.zone
  }
}]

output integrationSubnetId string = integrationSubnet.id
