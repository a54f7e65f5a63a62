using System.Text;
using Azure.Storage.Blobs;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pdm.Alerts.Lifecycle;
using Pdm.Alerts.Persistence;
using Pdm.Ingest.Scoring;
using Pdm.Storage;
using Pdm.Telemetry;
using Pdm.Testing;

namespace Pdm.Ingest.Tests;

/// <summary>
/// Each machine's vibration is judged by its own ISO 10816 class (its own, its kind's in the tenant, the kind's
/// built-in one, else group2-rigid), in the stored score and in the iso_zone rule, through ingest on real PostgreSQL.
/// </summary>
[Collection(RegistryGroup.Name)]
[Trait("Category", "Integration")]
public sealed class IsoClassTests(RegistryFixture fixture) : IDisposable
{
    // C is HIGH, D escalates to CRITICAL; no window, so the first sample in a zone decides.
    private const string VibrationRules = """
        {
          "version": 1,
          "rules": [
            { "id": "vibration", "kind": "iso_zone", "severity": "HIGH", "zone": "C",
              "escalate": { "zone": "D", "severity": "CRITICAL" } }
          ],
          "overrides": []
        }
        """;

    private static readonly DateTimeOffset Recent = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).AddHours(-2);

    private readonly IngestMetrics _metrics = new(TimeProvider.System);

    public void Dispose() => _metrics.Dispose();

    [Fact]
    public async Task Each_machine_is_judged_by_its_class_in_the_stored_score_and_the_iso_zone_alert()
    {
        var tenant = (await fixture.OwnerDatabase.Tenants.CreateTenantAsync($"t-{Guid.NewGuid():N}", CancellationToken.None)).Id;
        var device = (await fixture.AppDatabase.Devices.RegisterDeviceAsync(tenant, $"dev-{Guid.NewGuid():N}"[..20], CancellationToken.None)).DeviceId;
        Assert.False((await fixture.AppDatabase.Alerts.SaveRuleSetAsync(tenant, VibrationRules, 0, "test", CancellationToken.None)).IsConflict);
        var machines = fixture.AppDatabase.Machines;
        // Built-in kind: a CNC mill is group 1 rigid (C from 4.5, D from 7.1); group 2 rigid would call 5 mm/s D.
        await machines.UpsertMachineAsync(tenant, "MILL", "Mill 1", "CncMill", CancellationToken.None);
        // The tenant's class for its own kind: class III (C from 4.5, D from 11.2).
        await machines.UpsertMachineAsync(tenant, "FAN", "Fan 1", "roof-fan", CancellationToken.None);
        var kind = await machines.SetKindIsoClassAsync(tenant, "roof-fan", "class3", CancellationToken.None);
        Assert.Equal(("class3", "tenant"), (kind.IsoClass, kind.IsoClassSource));
        // The machine's own class beats its kind's built-in one: class IV (C from 7.1, D from 18).
        await machines.UpsertMachineAsync(tenant, "PUMP", "Pump 1", "CentrifugalPump", CancellationToken.None);
        await machines.UpdateMachineAsync(tenant, "PUMP", new MachineChanges { IsoClass = "class4" }, _ => true, CancellationToken.None);
        // No kind, no class: group 2 rigid (C from 2.8, D from 4.5).
        await machines.UpsertMachineAsync(tenant, "PLAIN", null, null, CancellationToken.None);
        var vibration = new Dictionary<string, double> { ["MILL"] = 5.0, ["FAN"] = 5.0, ["PUMP"] = 8.0, ["PLAIN"] = 5.0 };

        var processor = new IngestProcessor(fixture.AppDatabase.Readings, fixture.AppDatabase.Rejects, fixture.AppDatabase.Devices,
            new BlobDeadLetterStore(Container("dl")), new BlobRejectedPayloadStore(Container("rj")),
            new AnomalyScoring(fixture.AppDatabase.Scores, null, new AnomalyWarmupOptions(), NullLogger<AnomalyScoring>.Instance),
            new IngestOptions { RetryDelays = [] }, _metrics, NullLogger<IngestProcessor>.Instance, TimeProvider.System,
            new AlertEvaluations(new AlertPolicy(), NullLogger<AlertEvaluations>.Instance));
        List<MachineSample> samples = [.. vibration.SelectMany(m => Enumerable.Range(0, 5).Select(i => new MachineSample
        {
            MachineId = m.Key, Timestamp = Recent.AddSeconds(i), Sequence = i,
            Values = [new SensorValue("vibration", m.Value + (0.01 * i)), new SensorValue("temperature", 40 + i)],
        }))];
        var outcome = await processor.ProcessAsync([new IncomingEvent
        {
            Body = Encoding.UTF8.GetString(TelemetryEncoder.Encode(samples)), DeviceId = device, EnqueuedTime = Recent, MessageId = "1",
        }], CancellationToken.None);
        Assert.Null(outcome.DeadLetter ?? outcome.Quarantined);

        var expected = new Dictionary<string, (string Zone, string Severity)>
        {
            ["MILL"] = ("C", "HIGH"), ["FAN"] = ("C", "HIGH"), ["PUMP"] = ("C", "HIGH"), ["PLAIN"] = ("D", "CRITICAL"),
        };
        foreach (var (machine, (zone, severity)) in expected)
        {
            Assert.Equal([zone], await StoredZonesAsync(tenant, machine));
            var alert = Assert.Single((await fixture.AppDatabase.Alerts.ListAlertsAsync(tenant, new AlertQuery
            {
                Subject = AlertSubject.Machine(machine), RuleId = "vibration", Statuses = ["open"],
            }, CancellationToken.None)).Alerts);
            Assert.True(severity == alert.Severity, $"{machine}: {alert.Severity}, expected {severity}");
        }
    }

    private BlobContainerClient Container(string prefix) =>
        fixture.Storage.Blobs.GetBlobContainerClient($"{prefix}-iso-{Guid.NewGuid():N}");

    private async Task<List<string?>> StoredZonesAsync(Guid tenant, string machine)
    {
        await using var connection = new NpgsqlConnection(fixture.OwnerConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT DISTINCT iso_zone FROM pdm.anomaly_scores WHERE tenant_id = $1 AND machine_id = $2", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = tenant });
        command.Parameters.Add(new NpgsqlParameter { Value = machine });
        await using var reader = await command.ExecuteReaderAsync();
        var zones = new List<string?>();
        while (await reader.ReadAsync())
        {
            zones.Add(reader.IsDBNull(0) ? null : reader.GetString(0));
        }
        return zones;
    }
}
