using Pdm.Analytics.Rul;

namespace Pdm.Analytics.Tests.Rul;

public sealed class RulEvaluationTests
{
    [Fact]
    public void Nasa_score_punishes_late_predictions_more_than_early_ones()
    {
        Assert.Equal(Math.E - 1, RulEvaluation.NasaScore([37.0], [50.0]), 12);
        Assert.Equal(Math.E - 1, RulEvaluation.NasaScore([60.0], [50.0]), 12);
        Assert.True(RulEvaluation.NasaScore([70.0], [50.0]) > RulEvaluation.NasaScore([30.0], [50.0]));
        Assert.Equal(0, RulEvaluation.NasaScore([50.0], [50.0]));
    }

    [Fact]
    public void Rmse_is_the_root_of_the_mean_squared_difference()
    {
        Assert.Equal(Math.Sqrt((9 + 16) / 2.0), RulEvaluation.Rmse([3.0, 0.0], [0.0, 4.0]), 12);
    }
}
