namespace Pdm.Analytics.Rul;

/// <summary>Scores of remaining-life predictions at one point per unit.</summary>
public sealed record RulEvaluationResult
{
    public required double Rmse { get; init; }

    /// <summary>NASA/PHM08 asymmetric score: late predictions cost more than early ones (lower is better).</summary>
    public required double NasaScore { get; init; }

    public required IReadOnlyList<double> Predicted { get; init; }

    public required IReadOnlyList<double> Actual { get; init; }
}

public static class RulEvaluation
{
    public static double Rmse(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckLengths(predicted, actual);
        double sum = 0;
        for (var i = 0; i < predicted.Length; i++)
        {
            var d = predicted[i] - actual[i];
            sum += d * d;
        }

        return Math.Sqrt(sum / predicted.Length);
    }

    /// <summary>Sum of exp(-d/13) - 1 for early (d &lt; 0) and exp(d/10) - 1 for late predictions, d = predicted - actual.</summary>
    public static double NasaScore(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        CheckLengths(predicted, actual);
        double sum = 0;
        for (var i = 0; i < predicted.Length; i++)
        {
            var d = predicted[i] - actual[i];
            sum += d < 0 ? Math.Exp(-d / 13) - 1 : Math.Exp(d / 10) - 1;
        }

        return sum;
    }

    /// <summary>Predicts each unit's RUL after its last row and scores it against <paramref name="actualRul"/>.</summary>
    public static RulEvaluationResult EvaluateLast(RulModel model, IReadOnlyList<UnitSeries> units, IReadOnlyList<double> actualRul)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(units);
        ArgumentNullException.ThrowIfNull(actualRul);
        var predicted = units.Select(model.PredictLast).ToArray();
        var actual = actualRul.ToArray();
        return new RulEvaluationResult
        {
            Rmse = Rmse(predicted, actual),
            NasaScore = NasaScore(predicted, actual),
            Predicted = predicted,
            Actual = actual,
        };
    }

    private static void CheckLengths(ReadOnlySpan<double> predicted, ReadOnlySpan<double> actual)
    {
        if (predicted.Length != actual.Length || predicted.Length == 0)
        {
            throw new ArgumentException($"Need equally many predictions and actuals, at least one ({predicted.Length} vs {actual.Length}).", nameof(actual));
        }
    }
}
