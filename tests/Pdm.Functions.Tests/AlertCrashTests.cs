using System.Text.Json;
using Pdm.DevHost;
using Pdm.DevHost.Events;
using Pdm.LocalStack;
using Pdm.Notifications.Tests.Delivery;
using Pdm.Storage;
using Pdm.Telemetry;
using Pdm.Testing;
using Pdm.Webhooks;

namespace Pdm.Functions.Tests;

/// <summary>
/// The handler process is killed between the database commit of an alert and its publish (the fault setting
/// <c>Pdm__Faults__CrashAfterAlertCommit</c> makes it die exactly there). The host restarts it and redelivers the batch,
/// as the Functions host does; the PublishAlerts timer publishes what the dead process committed, and the receiver gets
/// the alert exactly once.
/// </summary>
[Collection(PipelineTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class AlertCrashTests(PipelineFixture pipeline)
{
    private const string RuleSet = """
        {"version":1,"rules":[{"id":"overheat","kind":"sensor_limits","severity":"HIGH","sensor":"temperature","high":100}],"overrides":[]}
        """;

    [Fact]
    public async Task A_handler_killed_between_the_commit_and_the_publish_loses_no_alert_and_sends_it_once()
    {
        var database = await pipeline.Servers.PrepareDatabaseAsync($"pdm_crash_{Guid.NewGuid():N}"[..24], CancellationToken.None);
        await using var stores = PdmStores.Create(database.AppConnectionString);
        var tenant = await stores.Tenants.CreateTenantAsync("crash", CancellationToken.None);
        const string device = "crash-gw";
        await stores.Devices.RegisterDeviceAsync(tenant.Id, device, CancellationToken.None);
        Assert.False((await stores.Alerts.SaveRuleSetAsync(tenant.Id, RuleSet, 0, "test", CancellationToken.None)).IsConflict);
        await using var receiver = await TestReceiver.StartAsync();
        var created = await stores.Subscriptions.CreateAsync(tenant.Id,
            new WebhookSubscriptionSettings { Url = receiver.Url("crash"), AllowLoopback = true }, [0], CancellationToken.None);
        var protector = new AesGcmWebhookSecretProtector(new WebhookSecretKeyOptions { WebhookSecretKey = LocalEnvironment.LocalWebhookSecretKey(database.Name) });
        await stores.Subscriptions.RotateSecretAsync(tenant.Id, created.Id, protector.Protect(WebhookSecret.Generate(), created.Id.ToString("D")),
            DateTimeOffset.UtcNow.AddMinutes(-1), CancellationToken.None);

        await using var host = await FunctionsDevHost.StartAsync(new DevHostOptions
        {
            FunctionAppDirectory = RepoPaths.FunctionApp,
            Environment = new Dictionary<string, string>(LocalEnvironment.FunctionAppSettings(pipeline.Endpoints, database))
            {
                ["Pdm__Faults__CrashAfterAlertCommit"] = "true",
                ["Pdm__Webhooks__AllowHttp"] = "true",
                ["Pdm__Webhooks__AllowLoopback"] = "true",
                ["PUBLISH_ALERTS_SCHEDULE"] = "*/2 * * * * *",
                ["WEBHOOK_DELIVERY_QUEUE"] = $"crash-{Guid.NewGuid():N}"[..20],
                ["PREDICT_SCHEDULE"] = "0 0 0 1 1 *",
                ["ALERT_TICK_SCHEDULE"] = "0 0 0 1 1 *",
                ["DEADLETTER_REPLAY_SCHEDULE"] = "0 0 0 1 1 *",
            },
        }, Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, CancellationToken.None);
        var hot = new DeviceEvent
        {
            DeviceId = device,
            Body = TelemetryEncoder.Encode([new MachineSample
            {
                MachineId = "CRASH_PUMP", Timestamp = DateTimeOffset.UtcNow, Sequence = 1, Values = [new SensorValue("temperature", 150)],
            }]),
        };

        // The handler dies inside this invocation; the host restarts it and retries the batch (Ingest/function.json's
        // retry), which stores it again (duplicates) and raises no second alert event, so the retry succeeds.
        var outcome = await host.InvokeEventHubAsync("Ingest", "0", [hot], CancellationToken.None);
        Assert.True(outcome.Succeeded, outcome.Error);
        Assert.True(host.Stats.HandlerRestarts >= 1, "the handler was not killed");

        var deadline = DateTimeOffset.UtcNow.AddSeconds(45);
        while (receiver.Accepted("crash").Count == 0 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(100);
        }
        await Task.Delay(3000); // a second copy would arrive meanwhile

        var accepted = Assert.Single(receiver.Accepted("crash"));
        using var body = JsonDocument.Parse(accepted.Body);
        Assert.Equal("alert.opened", body.RootElement.GetProperty("type").GetString());
        Assert.Equal("CRASH_PUMP", body.RootElement.GetProperty("data").GetProperty("alert").GetProperty("subjectId").GetString());
        Assert.Single((await stores.Alerts.ListAlertsAsync(tenant.Id, new AlertQuery(), CancellationToken.None)).Alerts);
        Assert.Equal(1, await stores.Readings.CountReadingsAsync(tenant.Id, CancellationToken.None));
    }
}
