using System.Text.RegularExpressions;
using Pdm.Modbus;
using Pdm.Simulator.Plc;
using Pdm.Testing;

namespace Pdm.Simulator.Tests;

[Trait("Category", "Integration")]
public sealed partial class PlcFleetTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 21, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Every_machine_answers_over_Modbus_TCP_with_the_values_of_the_last_step()
    {
        using var plcs = PlcFleet.StartTcp(new FleetSimulator(FleetDefinition.CreateDefault(seed: 3, pumpCount: 2)));
        plcs.Update(Start);
        var samples = plcs.Update(Start.AddSeconds(1));

        for (var i = 0; i < plcs.Machines.Count; i++)
        {
            var machine = plcs.Machines[i];
            using var client = new ModbusClient(machine.Endpoint, unitId: 1);
            client.Connect();
            var reader = new ModbusDeviceReader(client, ModbusReadPlan.Create(machine.RegisterMap).Plan!);
            var readings = new List<ModbusReading>();
            reader.Read(readings);

            var expected = samples[i].Values.ToDictionary(v => v.Sensor, v => (double)(float)v.Value);
            Assert.Equal(expected, readings.ToDictionary(r => r.Sensor, r => r.Value));
        }
    }

    [Fact]
    public async Task A_machine_answers_over_Modbus_RTU_on_a_serial_line()
    {
        await using var line = await SocatPair.StartAsync();
        var fleet = new FleetSimulator([MachineModels.Create(FleetDefinition.Pump(1), seed: 5)]);
        using var plcs = PlcFleet.Start(fleet, _ => ModbusServer.StartRtu(new ModbusRtuEndpoint(line.PortA, 115200, 'N'), unitId: 3));
        var sample = plcs.Update(Start)[0];

        using var client = new ModbusClient(new ModbusRtuEndpoint(line.PortB, 115200, 'N'), unitId: 3);
        client.Connect();
        var readings = new List<ModbusReading>();
        new ModbusDeviceReader(client, ModbusReadPlan.Create(plcs.Machines[0].RegisterMap).Plan!).Read(readings);

        Assert.Equal(sample.Values.Select(v => (double)(float)v.Value), readings.Select(r => r.Value));
    }

    [Fact]
    public void The_documented_register_map_is_the_one_the_simulator_serves()
    {
        var page = File.ReadAllText(Path.Combine(RepoPaths.Root, "docs", "plc-simulator.md"));
        var documented = MapRow().Matches(page).ToDictionary(
            m => m.Groups["machine"].Value,
            m => SensorCell().Matches(m.Groups["cells"].Value).Select(c => c.Groups[1].Value).ToList());

        foreach (var kind in Enum.GetValues<MachineKind>())
        {
            var profile = FleetDefinition.CreateDefault(pumpCount: 1).Machines.Single(m => m.Kind == kind);
            var machine = profile.Kind == MachineKind.CentrifugalPump ? "PUMP_nnn" : profile.MachineId;
            var map = PlcFleet.RegisterMapOf(profile);
            Assert.Equal(documented[machine], [.. map.Select(p => p.Sensor)]);
            Assert.All(map, (p, i) =>
            {
                Assert.Equal(ModbusTable.InputRegisters, p.Table);
                Assert.Equal(2 * i, p.Address);
                Assert.Equal(ModbusDataType.Float32, p.Type);
                Assert.Equal(WordOrder.HighFirst, p.WordOrder);
            });
        }
    }

    // A table row such as: | CNC mill (`EG_M001`) | `temperature` °C | ...
    [GeneratedRegex(@"^\|[^|(]+\(`(?<machine>[A-Za-z0-9_]+)`\)(?<cells>.*)$", RegexOptions.Multiline)]
    private static partial Regex MapRow();

    [GeneratedRegex(@"\| `([a-z_0-9]+)`")]
    private static partial Regex SensorCell();
}
