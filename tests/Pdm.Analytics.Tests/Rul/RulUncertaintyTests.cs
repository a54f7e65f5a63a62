using Pdm.Analytics.Rul;

namespace Pdm.Analytics.Tests.Rul;

public sealed class RulUncertaintyTests
{
    [Fact]
    public void Probability_follows_the_residual_distribution_of_the_prediction_group()
    {
        // Predictions 20 are off by -5..+5, predictions 100 by -40..+40.
        var random = new Random(1);
        var predicted = new double[4000];
        var actual = new double[4000];
        for (var i = 0; i < predicted.Length; i++)
        {
            var low = i % 2 == 0;
            predicted[i] = low ? 20 : 100;
            actual[i] = predicted[i] + ((low ? 5 : 40) * ((2 * random.NextDouble()) - 1));
        }

        var uncertainty = RulUncertainty.Fit(predicted, actual, groups: 2);

        Assert.Equal(0.5, uncertainty.FailureProbability(20, 20), 1);
        Assert.Equal(1, uncertainty.FailureProbability(20, 26));
        Assert.Equal(0, uncertainty.FailureProbability(20, 14));
        Assert.Equal(0.25, uncertainty.FailureProbability(100, 80), 1);
        Assert.Equal(80, uncertainty.Quantile(100, 0.25), 0);
    }

    [Fact]
    public void Probability_never_decreases_with_the_horizon()
    {
        var random = new Random(2);
        var predicted = Enumerable.Range(0, 1000).Select(_ => 125 * random.NextDouble()).ToArray();
        var actual = predicted.Select(p => Math.Max(0, p + (30 * (random.NextDouble() - 0.4)))).ToArray();
        var uncertainty = RulUncertainty.Fit(predicted, actual);

        for (var p = 0.0; p <= 130; p += 5)
        {
            var previous = 0.0;
            for (var h = 0.0; h <= 200; h += 1)
            {
                var probability = uncertainty.FailureProbability(p, h);
                Assert.InRange(probability, previous, 1);
                previous = probability;
            }
        }
    }
}
