using System.Text.Json;
using Pdm.Modbus;
using Pdm.Telemetry;

namespace Pdm.Simulator.Plc;

/// <summary>One simulated machine behind its own Modbus slave, as a PLC on the plant network would be.</summary>
public sealed record PlcMachine(MachineProfile Profile, ModbusServer Server, IReadOnlyList<ModbusPoint> RegisterMap)
{
    public ModbusEndpoint Endpoint => Server.Endpoint;
}

/// <summary>
/// The simulated fleet exposed as Modbus slaves: one server per machine, its sensor values refreshed on every
/// <see cref="Update"/>. The register map is documented in docs/plc-simulator.md: input register 2·i holds sensor
/// i of the machine's profile as a float32, high word first.
/// </summary>
public sealed class PlcFleet : IDisposable
{
    private readonly FleetSimulator _fleet;

    private PlcFleet(FleetSimulator fleet, IReadOnlyList<PlcMachine> machines)
    {
        _fleet = fleet;
        Machines = machines;
    }

    public IReadOnlyList<PlcMachine> Machines { get; }

    /// <summary>Every machine as a Modbus TCP slave on <paramref name="host"/>, each on a port the system picks.</summary>
    public static PlcFleet StartTcp(FleetSimulator fleet, string host = "127.0.0.1") =>
        Start(fleet, _ => ModbusServer.StartTcp(host, 0));

    /// <summary>Every machine behind a server the caller starts, for example a Modbus RTU slave on its own serial line.</summary>
    public static PlcFleet Start(FleetSimulator fleet, Func<MachineProfile, ModbusServer> serve)
    {
        ArgumentNullException.ThrowIfNull(fleet);
        ArgumentNullException.ThrowIfNull(serve);
        var machines = new List<PlcMachine>(fleet.Machines.Count);
        try
        {
            foreach (var profile in fleet.Machines)
            {
                machines.Add(new PlcMachine(profile, serve(profile), RegisterMapOf(profile)));
            }
        }
        catch
        {
            machines.ForEach(m => m.Server.Dispose());
            throw;
        }
        return new PlcFleet(fleet, machines);
    }

    /// <summary>The documented register map of a machine kind: sensor i at input registers 2·i and 2·i+1, float32, high word first.</summary>
    public static IReadOnlyList<ModbusPoint> RegisterMapOf(MachineProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        return [.. profile.Sensors.Select((channel, i) => new ModbusPoint
        {
            Sensor = channel.Sensor,
            Table = ModbusTable.InputRegisters,
            Address = 2 * i,
            Type = ModbusDataType.Float32,
        })];
    }

    /// <summary>
    /// The edge module's configuration document (docs/edge-configuration.md) that polls every machine of this fleet
    /// at <paramref name="pollInterval"/>: one Modbus device per machine, named <c>plc-&lt;machine id&gt;</c>.
    /// </summary>
    public string EdgeConfigurationJson(string gatewayId, TimeSpan pollInterval) =>
        EdgeConfigurationJson(gatewayId, pollInterval, Machines.Select(m => (m.Profile.MachineId, m.Endpoint, m.RegisterMap)));

    /// <summary>The edge configuration document for any set of Modbus devices, one machine each.</summary>
    public static string EdgeConfigurationJson(string gatewayId, TimeSpan pollInterval,
        IEnumerable<(string MachineId, ModbusEndpoint Endpoint, IReadOnlyList<ModbusPoint> Points)> devices)
    {
        ArgumentNullException.ThrowIfNull(devices);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteNumber("schemaVersion", 1);
            json.WriteString("gatewayId", gatewayId);
            json.WriteStartObject("defaults");
            json.WriteNumber("pollIntervalMs", (long)pollInterval.TotalMilliseconds);
            json.WriteEndObject();
            json.WriteStartArray("modbus");
            foreach (var (machineId, endpoint, points) in devices)
            {
                json.WriteStartObject();
                json.WriteString("name", $"plc-{machineId}");
                json.WriteString("machineId", machineId);
                WriteEndpoint(json, endpoint);
                json.WriteNumber("unitId", 1);
                json.WriteStartArray("registers");
                foreach (var point in points)
                {
                    json.WriteStartObject();
                    json.WriteString("sensor", point.Sensor);
                    json.WriteString("table", point.Table switch
                    {
                        ModbusTable.HoldingRegisters => "holding",
                        ModbusTable.InputRegisters => "input",
                        ModbusTable.Coils => "coil",
                        _ => "discrete",
                    });
                    json.WriteNumber("address", point.Address);
                    json.WriteString("type", point.Type.ToString().ToLowerInvariant());
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteEndpoint(Utf8JsonWriter json, ModbusEndpoint endpoint)
    {
        switch (endpoint)
        {
            case ModbusTcpEndpoint tcp:
                json.WriteStartObject("tcp");
                json.WriteString("host", tcp.Host);
                json.WriteNumber("port", tcp.Port);
                json.WriteEndObject();
                break;
            case ModbusRtuEndpoint rtu:
                json.WriteStartObject("rtu");
                json.WriteString("serialPort", rtu.SerialPort);
                json.WriteNumber("baudRate", rtu.BaudRate);
                json.WriteString("parity", rtu.Parity switch { 'E' => "even", 'O' => "odd", _ => "none" });
                json.WriteNumber("dataBits", rtu.DataBits);
                json.WriteNumber("stopBits", rtu.StopBits);
                json.WriteEndObject();
                break;
        }
    }

    /// <summary>Advances every machine to <paramref name="now"/> and writes its values into its registers.</summary>
    public IReadOnlyList<MachineSample> Update(DateTimeOffset now)
    {
        var samples = _fleet.Tick(now);
        for (var i = 0; i < samples.Count; i++)
        {
            var machine = Machines[i];
            var values = samples[i].Values;
            for (var j = 0; j < values.Count; j++)
            {
                machine.Server.Write(machine.RegisterMap[j], values[j].Value);
            }
        }
        return samples;
    }

    /// <summary>Updates every <paramref name="interval"/> until cancelled, like PLCs refreshing their process image.</summary>
    public async Task RunAsync(TimeSpan interval, TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        using var timer = new PeriodicTimer(interval, timeProvider);
        Update(timeProvider.GetUtcNow());
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                Update(timeProvider.GetUtcNow());
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Asked to stop.
        }
    }

    public void Dispose()
    {
        foreach (var machine in Machines)
        {
            machine.Server.Dispose();
        }
    }
}
