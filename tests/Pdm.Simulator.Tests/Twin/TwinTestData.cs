using Pdm.Simulator.Twin;

namespace Pdm.Simulator.Tests.Twin;

internal static class TwinTestData
{
    public static readonly DateTimeOffset Start = new(2026, 3, 1, 6, 0, 0, TimeSpan.Zero);

    public static readonly TwinOptions Stress = new() { Mode = TwinMode.Stress };

    public static MachineProfile Machine(MachineKind kind, int number = 1) =>
        new() { MachineId = $"{kind}_{number:D3}", Name = $"{kind} {number}", Kind = kind };

    /// <summary>The machine's samples every <paramref name="interval"/> until its first broken one.</summary>
    public static List<TwinSample> RunToFailure(DegradingMachine machine, TimeSpan interval)
    {
        var samples = new List<TwinSample>();
        for (var step = 0; samples.Count == 0 || samples[^1].Truth.State != MachineState.Broken; step++)
        {
            samples.Add(machine.Step(Start + (interval * step)));
        }
        return samples;
    }

    public static double Value(TwinSample sample, string sensor) => sample.Values.Single(v => v.Sensor == sensor).Value;

    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        var mx = x.Average();
        var my = y.Average();
        double sxy = 0, sxx = 0, syy = 0;
        for (var i = 0; i < x.Count; i++)
        {
            sxy += (x[i] - mx) * (y[i] - my);
            sxx += (x[i] - mx) * (x[i] - mx);
            syy += (y[i] - my) * (y[i] - my);
        }
        return sxy / Math.Sqrt(sxx * syy);
    }
}
