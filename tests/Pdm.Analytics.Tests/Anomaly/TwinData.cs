using Pdm.Analytics.Data;
using Pdm.Simulator;
using Pdm.Simulator.Twin;

namespace Pdm.Analytics.Tests.Anomaly;

/// <summary>Centrifugal pumps of the digital twin, run to failure (accelerated, one sample a second, seeded).</summary>
internal static class TwinData
{
    public static readonly string[] Sensors =
        [.. MachineProfile.SensorsOf(MachineKind.CentrifugalPump).Select(s => s.Sensor)];

    public static RunToFailureOptions Options(ChaosOptions? chaos = null) => new()
    {
        Machines = 20,
        Kinds = [MachineKind.CentrifugalPump],
        Twin = new TwinOptions { Mode = TwinMode.Accelerated },
        Interval = TimeSpan.FromSeconds(1),
        Seed = 11,
        Chaos = chaos,
    };

    /// <summary>Machine <paramref name="machine"/> from new until broken.</summary>
    public static TwinSample[] Run(int machine, ChaosOptions? chaos = null) =>
        [.. RunToFailureExporter.Run(Options(chaos), machine)];

    /// <summary>
    /// The first <paramref name="samples"/> of a pump that does not wear (a mean life of ten years), one sample a
    /// minute: the slow load and ambient cycles of a healthy machine, which a 512-sample window then spans.
    /// </summary>
    public static TwinSample[] Steady(int machine, int samples, ChaosOptions? chaos = null) =>
    [
        .. RunToFailureExporter.Run(Options(chaos) with
        {
            Twin = new TwinOptions { Mode = TwinMode.Nominal, MeanTimeToFailure = TimeSpan.FromDays(3650) },
            Interval = TimeSpan.FromMinutes(1),
        }, machine).Take(samples),
    ];

    /// <summary>The sample's values in <see cref="Sensors"/> order; a dropped sensor is NaN.</summary>
    public static double[] Values(TwinSample sample)
    {
        var row = new double[Sensors.Length];
        for (var i = 0; i < row.Length; i++)
        {
            row[i] = double.NaN;
            foreach (var value in sample.Values)
            {
                if (value.Sensor == Sensors[i])
                {
                    row[i] = value.Value;
                }
            }
        }
        return row;
    }

    public static double Time(TwinSample sample) => sample.Truth.Elapsed.TotalSeconds;

    /// <summary>The healthy samples of the given machines, one stretch per machine (time restarts at each).</summary>
    public static SensorTable Healthy(IEnumerable<int> machines)
    {
        var samples = machines.SelectMany(m => Run(m).Where(s => s.Truth.State == MachineState.Healthy)).ToList();
        return new SensorTable(Sensors, [.. samples.Select(Time)], [.. samples.SelectMany(Values)]);
    }
}
