namespace Pdm.Mqtt.Tests;

[CollectionDefinition(Name)]
public sealed class SharedMosquitto : ICollectionFixture<MosquittoFixture>
{
    public const string Name = "Mosquitto";
}
