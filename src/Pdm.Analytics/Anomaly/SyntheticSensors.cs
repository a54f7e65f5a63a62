namespace Pdm.Analytics.Anomaly;

/// <summary>
/// Normal-looking correlated sensor data for benchmarks and tests: two slow AR(1) factors (think load and ambient)
/// drive every sensor through fixed loadings, plus sensor noise. Vibration stays in ISO zone A/B of group 2.
/// </summary>
internal static class SyntheticSensors
{
    private static readonly string[] KnownNames =
        ["temperature", "pressure", "vibration", "current", "speed", "flow", "motor_temperature", "power"];

    public static string[] Names(int sensors) =>
        [.. Enumerable.Range(0, sensors).Select(i => i < KnownNames.Length ? KnownNames[i] : $"sensor_{i}")];

    /// <summary>
    /// Rows x sensors, row-major, one sample per second. <paramref name="machine"/> fixes the sensors' levels,
    /// scales and loadings; <paramref name="seed"/> the noise, so two seeds are two stretches of one machine.
    /// </summary>
    public static double[] Generate(int rows, int sensors, ulong seed, ulong machine = 1)
    {
        var shape = new SplitMix64(machine);
        var loadings = new double[sensors * 2];
        var levels = new double[sensors];
        var scales = new double[sensors];
        for (var i = 0; i < sensors; i++)
        {
            loadings[2 * i] = 0.5 + shape.NextDouble();
            loadings[(2 * i) + 1] = shape.NextDouble() - 0.5;
            levels[i] = 10 + (90 * shape.NextDouble());
            scales[i] = 0.5 + (2 * shape.NextDouble());
        }
        var vibration = Array.IndexOf(Names(sensors), "vibration");
        if (vibration >= 0)
        {
            levels[vibration] = 1.0;
            scales[vibration] = 0.1;
        }
        var random = new SplitMix64(seed);
        var values = new double[rows * sensors];
        double load = 0, ambient = 0;
        for (var r = 0; r < rows; r++)
        {
            load = (0.98 * load) + (0.2 * random.NextGaussian());
            ambient = (0.995 * ambient) + (0.1 * random.NextGaussian());
            for (var i = 0; i < sensors; i++)
            {
                var signal = (loadings[2 * i] * load) + (loadings[(2 * i) + 1] * ambient) + (0.3 * random.NextGaussian());
                values[(r * sensors) + i] = levels[i] + (scales[i] * signal);
            }
        }
        return values;
    }

    public static double[] Times(int rows) => [.. Enumerable.Range(0, rows).Select(r => (double)r)];
}
