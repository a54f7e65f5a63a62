using Pdm.Analytics.Rul;
using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Tests.Rul;

/// <summary>
/// Run-to-failure units with a known degradation: two sensors drift (one up, one down) as
/// wear accelerates over the last ~100 cycles, one is noise, one is constant.
/// </summary>
internal static class SyntheticFleet
{
    public static List<UnitSeries> Generate(int units, int seed)
    {
        var random = new Random(seed);
        var fleet = new List<UnitSeries>();
        for (var u = 0; u < units; u++)
        {
            var life = 120 + random.Next(140);
            var offset = random.NextDouble() - 0.5;
            var time = new double[life];
            var values = new FeatureMatrix(life, 4);
            for (var t = 0; t < life; t++)
            {
                var wear = Math.Pow(Math.Max(0, (t - (life - 100.0)) / 100), 2) * 5;
                time[t] = t + 1;
                values[t, 0] = 10 + offset + wear + (0.3 * Noise(random));
                values[t, 1] = 5 - offset - (0.6 * wear) + (0.3 * Noise(random));
                values[t, 2] = Noise(random);
                values[t, 3] = 42;
            }

            fleet.Add(new UnitSeries("u" + u, time, values));
        }

        return fleet;
    }

    private static double Noise(Random random) => (random.NextDouble() + random.NextDouble() + random.NextDouble() - 1.5) * 2;

    /// <summary>Small and quick: the tests check behaviour, not accuracy records.</summary>
    public static RulModelOptions FastOptions { get; } = new()
    {
        Cap = 100,
        Folds = 3,
        Features = new RulFeatureOptions { Windows = [5, 15] },
        Gbt = new RulModelOptions().Gbt with { MaxIterations = 150, LearningRate = 0.1, EarlyStoppingRounds = 20 },
    };
}
