using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Pdm.Edge;
using Pdm.Edge.Cloud;
using Pdm.Simulator;
using Pdm.Simulator.Plc;

namespace Pdm.Functions.Tests;

/// <summary>
/// Machine → Modbus → edge module → MQTT → dev host → PostgreSQL, with the broker stopped under load and the module
/// restarted while it is away.
/// </summary>
[Collection(PipelineTestGroup.Name)]
[Trait("Category", "Integration")]
public sealed class EdgePipelineTests(PipelineFixture pipeline) : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private readonly string _dataDirectory = Directory.CreateTempSubdirectory("pdm-edge-").FullName;

    [Fact]
    public async Task A_broker_outage_and_a_module_restart_lose_no_reading_and_store_none_twice()
    {
        var tenant = await pipeline.CreateTenantAsync("edge");
        var gatewayId = $"edge-{Guid.NewGuid():N}"[..16];
        using var api = pipeline.Api(tenant.Key);
        var gateway = await PipelineFixture.ReadAsync<DeviceDto>(await api.PostAsJsonAsync("api/v1/devices", new { deviceId = gatewayId }));

        using var plcs = PlcFleet.StartTcp(new FleetSimulator(FleetDefinition.CreateDefault(seed: 11, pumpCount: 1)));
        using var stopPlcs = new CancellationTokenSource();
        var plcLoop = plcs.RunAsync(PollInterval, TimeProvider.System, stopPlcs.Token);
        var configFile = Path.Combine(_dataDirectory, "edge-config.json");
        await File.WriteAllTextAsync(configFile, plcs.EdgeConfigurationJson(gatewayId, PollInterval));
        var settings = new EdgeOptions { DataDirectory = _dataDirectory, ConfigurationFile = configFile, StatusInterval = TimeSpan.FromSeconds(1) };
        var cloud = new CloudSettings
        {
            Mode = CloudMode.Local, LocalPort = pipeline.Endpoints.MqttPort, LocalDeviceId = gatewayId, LocalPassword = gateway.PrimaryKey,
        };
        await using var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var http = services.GetRequiredService<IHttpClientFactory>();

        var module = await EdgeRuntime.StartAsync(settings, cloud, http, NullLoggerFactory.Instance);
        await WaitUntilAsync(async () => await CountStoredAsync(tenant.Id) >= 6 * 10, "readings before the outage");

        await pipeline.Servers.Mosquitto.StopAsync(CancellationToken.None);
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(4));
            var queuedBeforeRestart = module.Queue.Count;
            Assert.True(queuedBeforeRestart > 0, "readings queue up while the broker is away");
            await module.DisposeAsync();
            module = await EdgeRuntime.StartAsync(settings, cloud, http, NullLoggerFactory.Instance);
            Assert.True(module.Queue.Count >= queuedBeforeRestart, "the restarted module finds what was queued");
            await Task.Delay(TimeSpan.FromSeconds(4));
        }
        finally
        {
            await pipeline.Servers.Mosquitto.StartAsync(CancellationToken.None);
        }

        await Task.Delay(TimeSpan.FromSeconds(2));
        // Stop the machines, so the set of readings is final, then let the queue drain.
        plcs.Dispose();
        await stopPlcs.CancelAsync();
        await plcLoop;
        await WaitUntilAsync(() => Task.FromResult(module.Queue.Count == 0 && module.Sources.All(s => s.State == Edge.SourceState.Failing)),
            "the queue drained and every PLC gone");
        Assert.Equal(0, module.Queue.DroppedRecords);
        var polled = module.LastSequences;
        await module.DisposeAsync();

        // Every reading the module took (sequence numbers 1..n per machine) is stored, once.
        var stored = await WaitForSequencesAsync(tenant.Id, polled);
        Assert.Equal(polled.Keys.Order(), stored.Select(s => s.Machine));
        Assert.All(stored, s => Assert.True(s.Max > 30, $"{s.Machine}: only {s.Max} readings"));
    }

    private sealed record MachineSequences(string Machine, long Min, long Max, long Distinct, long Rows, long Sensors);

    private async Task<List<MachineSequences>> WaitForSequencesAsync(Guid tenant, IReadOnlyDictionary<string, long> polled)
    {
        List<MachineSequences> machines = [];
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (DateTimeOffset.UtcNow < deadline)
        {
            machines = await SequencesAsync(tenant);
            if (machines.Count == polled.Count && machines.All(m => m.Distinct >= polled[m.Machine]))
            {
                break;
            }
            await Task.Delay(500);
        }
        Assert.All(machines, m =>
        {
            Assert.Equal(1, m.Min);
            Assert.Equal(polled[m.Machine], m.Max);
            Assert.True(m.Distinct == m.Max, $"{m.Machine}: {m.Distinct} distinct sequence numbers of 1..{m.Max}");
            Assert.True(m.Rows == m.Distinct * m.Sensors, $"{m.Machine}: {m.Rows} rows for {m.Distinct} readings of {m.Sensors} sensors");
        });
        return machines;
    }

    private async Task<List<MachineSequences>> SequencesAsync(Guid tenant)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            select machine_id, min(seq), max(seq), count(distinct seq), count(*), count(distinct sensor)
            from pdm.readings where tenant_id = $1 group by machine_id order by machine_id
            """, connection);
        command.Parameters.AddWithValue(tenant);
        await using var reader = await command.ExecuteReaderAsync();
        var machines = new List<MachineSequences>();
        while (await reader.ReadAsync())
        {
            machines.Add(new MachineSequences(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.GetInt64(4), reader.GetInt64(5)));
        }
        return machines;
    }

    private async Task<long> CountStoredAsync(Guid tenant)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand("select count(distinct (machine_id, seq)) from pdm.readings where tenant_id = $1", connection);
        command.Parameters.AddWithValue(tenant);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    // The superuser reads across row-level security; the test checks what is stored, not what the API shows.
    private async Task<NpgsqlConnection> OpenAsync()
    {
        var builder = new NpgsqlConnectionStringBuilder(pipeline.Endpoints.PostgresSuperuserConnectionString) { Database = pipeline.Database.Name };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (!await condition())
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, $"Timed out waiting for {what}.");
            await Task.Delay(200);
        }
    }

    public void Dispose() => Directory.Delete(_dataDirectory, recursive: true);
}
