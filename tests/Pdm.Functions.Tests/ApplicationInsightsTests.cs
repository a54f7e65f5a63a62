using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Pdm.LocalStack;
using Pdm.Testing;

namespace Pdm.Functions.Tests;

/// <summary>
/// APPLICATIONINSIGHTS_CONNECTION_STRING turns on the Azure Monitor distro in the function app; its ingestion endpoint
/// here is a loopback listener, so what would reach Application Insights is read back: the Ingest span carries the IoT
/// Hub message id (the correlation id), and logs are sent too.
/// </summary>
[Collection(ApiTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class ApplicationInsightsTests(ApiFixture fixture)
{
    [Fact]
    public void Without_the_setting_no_tracer_is_registered()
    {
        Assert.Null(fixture.Factory.Services.GetService<TracerProvider>());
    }

    [Fact]
    public async Task With_the_setting_logs_and_traces_reach_the_ingestion_endpoint_with_the_message_id()
    {
        await using var ingestion = new IngestionRecorder();
        var factory = fixture.CreateFactory(new Dictionary<string, string>(ApiFixture.GenerousLimits)
        {
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] =
                $"InstrumentationKey={Guid.NewGuid()};IngestionEndpoint={ingestion.Endpoint.AbsoluteUri}",
        });
        Assert.NotNull(factory.Services.GetService<TracerProvider>());
        var device = AuthorizationTable.Unique("appi");
        using (var admin = factory.Client(fixture.Keys["admin"]))
        {
            using var registered = await admin.PostAsJsonAsync("api/v1/devices", new { deviceId = device });
            Assert.True(registered.IsSuccessStatusCode, await registered.Content.ReadAsStringAsync());
        }
        var messageId = Guid.NewGuid().ToString("N");

        using (var host = factory.Client())
        {
            using var response = await host.PostAsync("Ingest", IngestInvocations.Create(
                [new HubEvent(device, IngestInvocations.Telemetry(AuthorizationTable.Unique("APPI_M")), messageId)]));
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }
        // The exporter sends every few seconds; wait for the batch's span rather than for one flush.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!ingestion.Items.Any(IsIngestBatch) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }
        await factory.DisposeAsync();

        var items = ingestion.Items.ToList();
        var batch = JsonNode.Parse(Assert.Single(items, IsIngestBatch))!;
        Assert.Equal(messageId, batch["data"]!["baseData"]!["properties"]!["messaging.message.id"]!.GetValue<string>());
        Assert.Equal(messageId, batch["data"]!["baseData"]!["properties"]!["pdm.message_ids"]!.GetValue<string>());
        // Logs go the same way (the host's own Information lines, with the service name as the cloud role).
        Assert.Contains(items, i => i.Contains("\"MessageData\"", StringComparison.Ordinal) && i.Contains("\"ai.cloud.role\":\"pdm-functions\"", StringComparison.Ordinal));

        bool IsIngestBatch(string item) => item.Contains("\"RequestData\"", StringComparison.Ordinal)
            && item.Contains("\"name\":\"ingest batch\"", StringComparison.Ordinal) && item.Contains(messageId, StringComparison.Ordinal);
    }

    /// <summary>Application Insights' track endpoint on loopback: accepts every batch (gzip, one JSON item a line) and keeps the items.</summary>
    private sealed class IngestionRecorder : IAsyncDisposable
    {
        private readonly LoopbackHttpServer _server;

        public IngestionRecorder() =>
            _server = new LoopbackHttpServer(async context =>
            {
                foreach (var line in (await LoopbackHttpServer.ReadBodyAsync(context.Request)).Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    Items.Enqueue(line);
                }
                var count = Items.Count;
                await LoopbackHttpServer.WriteJsonAsync(context.Response, 200, $"{{\"itemsReceived\":{count},\"itemsAccepted\":{count},\"errors\":[]}}");
            });

        public Uri Endpoint => _server.Endpoint;
        public ConcurrentQueue<string> Items { get; } = new();

        public ValueTask DisposeAsync() => _server.DisposeAsync();
    }
}
