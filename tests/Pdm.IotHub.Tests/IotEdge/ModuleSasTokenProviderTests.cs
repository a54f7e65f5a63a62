using System.Security.Cryptography;
using Pdm.IotHub.IotEdge;
using Pdm.IotHub;
using Pdm.Testing;

namespace Pdm.IotHub.Tests.IotEdge;

/// <summary>Module SAS tokens signed by a fake workload daemon that holds a known module key.</summary>
[Trait("Category", "Integration")]
public sealed class ModuleSasTokenProviderTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Start = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly string _directory = Path.Combine(Path.GetTempPath(), $"pdm-workload-{Guid.NewGuid():N}"[..26]);
    private FakeWorkloadDaemon _daemon = null!;
    private WorkloadClient _client = null!;
    private IotEdgeEnvironment _environment = null!;

    public Task InitializeAsync()
    {
        _daemon = FakeWorkloadDaemon.StartUnix(_directory, "pdm", "gen-1", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            TestCertificates.CaBundlePem(1));
        _client = new WorkloadClient(_daemon.Uri);
        _environment = new IotEdgeEnvironment
        {
            WorkloadUri = _daemon.Uri,
            IotHubHostName = "pdm-hub.azure-devices.net",
            GatewayHostName = "gateway-01",
            DeviceId = "gateway-01",
            ModuleId = "pdm",
            ModuleGenerationId = "gen-1",
        };
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _daemon.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(TimeSpan.FromSeconds(20)).Token;

    [Fact]
    public async Task Token_signed_by_the_workload_api_equals_one_signed_with_the_module_key()
    {
        var clock = new ManualTimeProvider(Start);
        var provider = new ModuleSasTokenProvider(_client, _environment, TimeSpan.FromHours(1), clock);

        var token = await provider.GetTokenAsync(Timeout());

        Assert.Equal("pdm-hub.azure-devices.net/devices/gateway-01/modules/pdm", provider.Audience);
        Assert.Equal(SasToken.Create(provider.Audience, _daemon.ModuleKey, Start.AddHours(1)), token);
        Assert.Equal(Start.AddHours(1), provider.ExpiresAt);
    }

    [Fact]
    public async Task Token_is_reused_until_80_percent_of_its_lifetime_then_renewed()
    {
        var clock = new ManualTimeProvider(Start);
        var provider = new ModuleSasTokenProvider(_client, _environment, TimeSpan.FromHours(1), clock);
        var first = await provider.GetTokenAsync(Timeout());

        clock.Advance(TimeSpan.FromMinutes(47));
        Assert.Equal(first, await provider.GetTokenAsync(Timeout()));
        Assert.Equal(1, _daemon.SignRequests);

        clock.Advance(TimeSpan.FromMinutes(1));
        var renewed = await provider.GetTokenAsync(Timeout());

        Assert.Equal(2, _daemon.SignRequests);
        Assert.Equal(SasToken.Create(provider.Audience, _daemon.ModuleKey, Start.AddMinutes(48).AddHours(1)), renewed);
        Assert.Equal(Start.AddMinutes(108), provider.ExpiresAt);
        Assert.Equal(renewed, await provider.GetTokenAsync(Timeout()));
        Assert.Equal(2, _daemon.SignRequests);
    }

    [Fact]
    public async Task Failed_signing_keeps_no_token_and_the_next_call_signs_again()
    {
        var clock = new ManualTimeProvider(Start);
        var provider = new ModuleSasTokenProvider(_client, _environment, TimeSpan.FromHours(1), clock);
        _daemon.FailWith = (403, """{"message":"caller is not module pdm"}""");

        var error = await Assert.ThrowsAsync<WorkloadException>(async () => await provider.GetTokenAsync(Timeout()));
        Assert.Equal(403, error.StatusCode);
        Assert.Null(provider.ExpiresAt);

        _daemon.FailWith = null;
        Assert.Equal(SasToken.Create(provider.Audience, _daemon.ModuleKey, Start.AddHours(1)), await provider.GetTokenAsync(Timeout()));
    }
}
