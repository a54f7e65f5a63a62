using System.Globalization;
using Pdm.Telemetry;

namespace Pdm.Simulator;

/// <summary>
/// Quick, realistic telemetry for benchmarks and tests. Machine <c>m</c> is <c>BENCH_M00001</c>.. (another prefix
/// gives another gateway's machines), its sensors are
/// the first <c>sensorsPerMachine</c> catalog sensors, and message <c>i</c> carries every machine at
/// <c>start + i seconds</c>, so every (machine, sensor, timestamp) key is unique. Values wander around a per-machine
/// level inside each sensor's nominal range. The same arguments give the same data.
/// </summary>
public static class BatchFactory
{
    /// <summary>Most sensors one machine can have: every simulated catalog sensor once.</summary>
    public static int MaxSensorsPerMachine => SimulatedSensors.All.Count;

    public static IReadOnlyList<IReadOnlyList<MachineSample>> CreateSampleBatches(
        int messageCount, int machinesPerMessage, int sensorsPerMachine, DateTimeOffset start, int seed,
        string machinePrefix = "BENCH_M")
    {
        ArgumentOutOfRangeException.ThrowIfNegative(messageCount);
        ArgumentOutOfRangeException.ThrowIfLessThan(machinesPerMessage, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(sensorsPerMachine, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(sensorsPerMachine, MaxSensorsPerMachine);

        var random = new Random(seed);
        var sensors = SimulatedSensors.All.Take(sensorsPerMachine).ToArray();
        var machineIds = new string[machinesPerMessage];
        var levels = new double[machinesPerMessage, sensorsPerMachine];
        for (var m = 0; m < machinesPerMessage; m++)
        {
            machineIds[m] = string.Create(CultureInfo.InvariantCulture, $"{machinePrefix}{m + 1:D5}");
            for (var s = 0; s < sensorsPerMachine; s++)
            {
                levels[m, s] = sensors[s].NominalMin + ((sensors[s].NominalMax - sensors[s].NominalMin) * random.NextDouble());
            }
        }

        // Whole milliseconds, as the v1 body carries them.
        start = start.AddTicks(-(start.Ticks % TimeSpan.TicksPerMillisecond));
        var batches = new IReadOnlyList<MachineSample>[messageCount];
        for (var i = 0; i < messageCount; i++)
        {
            var timestamp = start.AddSeconds(i);
            var samples = new MachineSample[machinesPerMessage];
            for (var m = 0; m < machinesPerMessage; m++)
            {
                var values = new SensorValue[sensorsPerMachine];
                for (var s = 0; s < sensorsPerMachine; s++)
                {
                    var span = sensors[s].NominalMax - sensors[s].NominalMin;
                    var value = levels[m, s] + (span * 0.02 * ((2 * random.NextDouble()) - 1));
                    values[s] = new SensorValue(sensors[s].Sensor, Math.Round(value, 3));
                }
                samples[m] = new MachineSample { MachineId = machineIds[m], Timestamp = timestamp, Sequence = i, Values = values };
            }
            batches[i] = samples;
        }
        return batches;
    }
}
