using Pdm.Testing;

namespace Pdm.Ingest.Tests;

[CollectionDefinition(Name)]
public sealed class RegistryGroup : ICollectionFixture<RegistryFixture>
{
    public const string Name = "registry";
}
