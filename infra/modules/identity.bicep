// User-assigned identities: one for the function app (storage, Event Hubs, IoT Hub registry, Key Vault, PostgreSQL),
// one for IoT Hub's routing into Event Hubs. User-assigned so their role assignments exist before the resources that
// use them are created.
param location string
param tags object
param functionIdentityName string
param iotHubIdentityName string

resource functionIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: functionIdentityName
  location: location
  tags: tags
}

resource iotHubIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: iotHubIdentityName
  location: location
  tags: tags
}

output functionIdentityName string = functionIdentity.name
output functionIdentityId string = functionIdentity.id
output functionIdentityPrincipalId string = functionIdentity.properties.principalId
output functionIdentityClientId string = functionIdentity.properties.clientId
output iotHubIdentityName string = iotHubIdentity.name
output iotHubIdentityId string = iotHubIdentity.id
output iotHubIdentityPrincipalId string = iotHubIdentity.properties.principalId
