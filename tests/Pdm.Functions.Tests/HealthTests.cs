using System.Net;
using System.Text.Json;
using Pdm.Testing;

namespace Pdm.Functions.Tests;

/// <summary>/api/health against real servers: each dependency by name, and a stopped one reported within the timeout.</summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class HealthTests(ApiFixture fixture)
{
    [Fact]
    public async Task Database_blob_queue_and_table_are_each_reported_ok()
    {
        using var client = fixture.Factory.Client();

        var (status, body) = await HealthAsync(client);

        Assert.True(status == HttpStatusCode.OK, body.ToString());
        Assert.Equal("ok", body.GetProperty("status").GetString());
        foreach (var name in new[] { "database", "blob", "queue", "table" })
        {
            Assert.Equal("ok", body.GetProperty("checks").GetProperty(name).GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task Stopped_storage_is_reported_by_service_within_the_timeout_while_the_database_stays_ok()
    {
        var state = Directory.CreateTempSubdirectory("pdm-health-azurite-").FullName;
        try
        {
            await using var azurite = await TestAzurite.StartAsync(state);
            await using var factory = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
            {
                ["AzureWebJobsStorage"] = azurite.ConnectionString,
                ["Pdm__Health__Timeout"] = "00:00:02",
            });
            using var client = factory.Client();
            var (before, healthy) = await HealthAsync(client);
            Assert.True(before == HttpStatusCode.OK, healthy.ToString());
            Assert.Equal("ok", healthy.GetProperty("checks").GetProperty("queue").GetProperty("status").GetString());

            await azurite.StopAsync();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var (after, degraded) = await HealthAsync(client);

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"health took {clock.Elapsed}");
            Assert.Equal(HttpStatusCode.OK, after);
            Assert.Equal("degraded", degraded.GetProperty("status").GetString());
            var checks = degraded.GetProperty("checks");
            Assert.Equal("ok", checks.GetProperty("database").GetProperty("status").GetString());
            foreach (var name in new[] { "blob", "queue", "table" })
            {
                Assert.Contains(checks.GetProperty(name).GetProperty("status").GetString(), new[] { "unavailable", "timeout" });
                Assert.False(string.IsNullOrEmpty(checks.GetProperty(name).GetProperty("detail").GetString()));
            }
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task A_database_that_does_not_answer_is_a_503_naming_it()
    {
        var closedPort = Pdm.LocalStack.FreePort.Pick();
        await using var factory = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
        {
            ["Pdm__Database"] = $"Host=127.0.0.1;Port={closedPort};Username=pdm_app;Password=x;Database=pdm;Timeout=2",
            ["Pdm__Health__Timeout"] = "00:00:03",
        });
        using var client = factory.Client();

        var (status, body) = await HealthAsync(client);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Equal("unavailable", body.GetProperty("database").GetString());
        var database = body.GetProperty("checks").GetProperty("database");
        Assert.Contains(database.GetProperty("status").GetString(), new[] { "unavailable", "timeout" });
        Assert.Equal("ok", body.GetProperty("checks").GetProperty("blob").GetProperty("status").GetString());
    }

    private static async Task<(HttpStatusCode, JsonElement)> HealthAsync(HttpClient client)
    {
        using var response = await client.GetAsync("api/health");
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }
}
