extern alias functions;

using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Pdm.LocalStack;
using Pdm.Storage;
using Pdm.Testing;
using Pdm.Webhooks;

namespace Pdm.Functions.Tests;

/// <summary>
/// The function app in-process on a real Kestrel (loopback, free port), configured as the dev host configures it:
/// the settings <see cref="LocalEnvironment.FunctionAppSettings"/> gives, plus any overrides (names as environment
/// variables, e.g. <c>Pdm__Api__FailedAuthPerAddress</c>). Kestrel, not the test server, so body size limits,
/// connection addresses and streaming behave as they do behind the Functions host.
/// </summary>
public sealed class ApiFactory : WebApplicationFactory<functions::Program>
{
    private readonly Dictionary<string, string> _settings;
    private readonly Action<IWebHostBuilder>? _configure;

    /// <param name="configure">More host configuration, e.g. a logger provider that records what the app logs.</param>
    public ApiFactory(StackEndpoints endpoints, LocalDatabase database, IReadOnlyDictionary<string, string>? overrides = null,
        Action<IWebHostBuilder>? configure = null)
    {
        _configure = configure;
        _settings = new Dictionary<string, string>(LocalEnvironment.FunctionAppSettings(endpoints, database));
        foreach (var (name, value) in overrides ?? new Dictionary<string, string>())
        {
            _settings[name] = value;
        }
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
    }

    /// <summary>Where Kestrel listens (starts the server on first use).</summary>
    public Uri BaseAddress
    {
        get
        {
            StartServer();
            var address = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
            return new Uri(address.TrimEnd('/') + "/");
        }
    }

    /// <summary>A client of the real server, with the key as a bearer token when given.</summary>
    public HttpClient Client(string? key = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (key is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (name, value) in _settings)
        {
            builder.UseSetting(name.Replace("__", ":", StringComparison.Ordinal), value);
        }
        // Webhook URLs are checked against DNS when saved: test names resolve to what the tests need.
        builder.ConfigureTestServices(services => services.AddSingleton<IWebhookHostResolver>(TestHostResolver.Instance));
        _configure?.Invoke(builder);
    }
}

/// <summary>
/// Host names of the webhook tests: <c>*.public.test</c> resolves to a public address, <c>*.private.test</c> to a
/// private one, <c>*.metadata.test</c> to the cloud metadata address; any other name goes to the system resolver.
/// </summary>
public sealed class TestHostResolver : IWebhookHostResolver
{
    public static readonly TestHostResolver Instance = new();

    public Task<IPAddress[]> ResolveAsync(string host, CancellationToken cancellationToken) =>
        host.EndsWith(".public.test", StringComparison.OrdinalIgnoreCase) ? Task.FromResult(new[] { IPAddress.Parse("93.184.215.14") })
        : host.EndsWith(".private.test", StringComparison.OrdinalIgnoreCase) ? Task.FromResult(new[] { IPAddress.Parse("93.184.215.14"), IPAddress.Parse("10.20.30.40") })
        : host.EndsWith(".metadata.test", StringComparison.OrdinalIgnoreCase) ? Task.FromResult(new[] { IPAddress.Parse("169.254.169.254") })
        : Dns.GetHostAddressesAsync(host, cancellationToken);
}

/// <summary>
/// One database and the app on it, with a key of every role: a platform-admin key, and admin, viewer
/// and operator keys of tenant A, and an admin key of tenant B (for cross-tenant checks). Rate limits
/// are raised so a test's many requests from 127.0.0.1 are not refused; tests of the limits build their own factory
/// with <see cref="CreateFactory"/>.
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    private readonly StackFixture _stack = new();
    private readonly List<ApiFactory> _factories = [];

    public static readonly IReadOnlyDictionary<string, string> GenerousLimits = new Dictionary<string, string>
    {
        ["Pdm__Api__FailedAuthPerAddress"] = "100000",
        ["Pdm__Api__RequestsPerKey"] = "1000000",
        ["Pdm__Api__RequestsPerAddress"] = "1000000",
    };

    public LocalDatabase Database { get; private set; } = null!;
    public ApiFactory Factory { get; private set; } = null!;
    public string PlatformAdminKey { get; private set; } = "";
    public Guid TenantA { get; private set; }
    public Guid TenantB { get; private set; }

    /// <summary>Keys by name: "platform-admin", "admin", "viewer", "operator", "other-tenant-admin".</summary>
    public IReadOnlyDictionary<string, string> Keys { get; private set; } = new Dictionary<string, string>();

    public async Task InitializeAsync()
    {
        await _stack.InitializeAsync();
        Database = await _stack.CreateDatabaseAsync();
        var owner = PdmStores.Create(Database.AppConnectionString);
        (_, PlatformAdminKey) = await owner.ApiKeys.CreateApiKeyAsync(null, "api-tests", ApiKeyRole.PlatformAdmin, CancellationToken.None);
        TenantA = (await owner.Tenants.CreateTenantAsync($"api-a-{Guid.NewGuid():N}"[..20], CancellationToken.None)).Id;
        TenantB = (await owner.Tenants.CreateTenantAsync($"api-b-{Guid.NewGuid():N}"[..20], CancellationToken.None)).Id;
        var keys = new Dictionary<string, string> { ["platform-admin"] = PlatformAdminKey };
        foreach (var role in new[] { ApiKeyRole.Admin, ApiKeyRole.Viewer, ApiKeyRole.Operator })
        {
            keys[ApiKeyRoles.Name(role)] = (await owner.ApiKeys.CreateApiKeyAsync(TenantA, "api-tests", role, CancellationToken.None)).Plaintext;
        }
        keys["other-tenant-admin"] = (await owner.ApiKeys.CreateApiKeyAsync(TenantB, "api-tests", ApiKeyRole.Admin, CancellationToken.None)).Plaintext;
        Keys = keys;
        Factory = CreateFactory(GenerousLimits);
    }

    /// <summary>Another instance of the app on the same database, with these settings over the local ones.</summary>
    public ApiFactory CreateFactory(IReadOnlyDictionary<string, string>? overrides = null, Action<IWebHostBuilder>? configure = null)
    {
        var factory = new ApiFactory(_stack.Endpoints, Database, overrides, configure);
        _factories.Add(factory);
        return factory;
    }

    public static async Task<T> ReadAsync<T>(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode} {response.RequestMessage?.RequestUri}: {body}");
        return (await response.Content.ReadFromJsonAsync<T>(Json.Web))!;
    }

    public async Task DisposeAsync()
    {
        foreach (var factory in _factories)
        {
            await factory.DisposeAsync();
        }
        await _stack.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ApiTestGroup : ICollectionFixture<ApiFixture>
{
    public const string Name = "api";
}
