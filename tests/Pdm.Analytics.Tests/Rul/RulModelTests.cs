using Pdm.Analytics.Rul;

namespace Pdm.Analytics.Tests.Rul;

public sealed class RulModelTests
{
    private static readonly string[] Columns = ["rising", "falling", "noise", "constant"];

    [Fact]
    public void Model_predicts_remaining_life_of_unseen_units()
    {
        var model = RulModel.Fit(SyntheticFleet.Generate(40, seed: 1), SyntheticFleet.FastOptions, seed: 1, Columns);
        var unseen = SyntheticFleet.Generate(20, seed: 99);

        // Cut each unseen unit 60 rows before failure, in the window where wear is visible.
        var cut = unseen.Select(u => u.Truncate(u.Length - 60)).ToList();
        var result = RulEvaluation.EvaluateLast(model, cut, [.. cut.Select(_ => 60.0)]);

        Assert.True(result.Rmse < 15, $"RMSE {result.Rmse}");
        Assert.True(model.Validation.OutOfFoldRmse < 15, $"OOF RMSE {model.Validation.OutOfFoldRmse}");
        Assert.All(model.Validation.FoldIterations, i => Assert.InRange(i, 1, 150));
    }

    [Fact]
    public void Prediction_at_a_row_equals_the_prediction_made_when_that_row_was_the_last()
    {
        var model = RulModel.Fit(SyntheticFleet.Generate(15, seed: 2), SyntheticFleet.FastOptions, seed: 1, Columns);
        var unit = SyntheticFleet.Generate(1, seed: 3)[0];
        var all = model.Predict(unit);

        foreach (var rows in new[] { 1, 10, 50, unit.Length })
        {
            Assert.Equal(all[rows - 1], model.PredictLast(unit.Truncate(rows)));
        }

        Assert.All(all, p => Assert.InRange(p, 0, model.Cap));
    }

    [Fact]
    public void Same_seed_gives_identical_bytes_and_another_seed_differs()
    {
        var fleet = SyntheticFleet.Generate(15, seed: 4);

        var first = Bytes(RulModel.Fit(fleet, SyntheticFleet.FastOptions, seed: 7, Columns));
        var second = Bytes(RulModel.Fit(fleet, SyntheticFleet.FastOptions, seed: 7, Columns));
        var other = Bytes(RulModel.Fit(fleet, SyntheticFleet.FastOptions, seed: 8, Columns));

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public void Round_trip_keeps_predictions_probabilities_and_bytes()
    {
        var model = RulModel.Fit(SyntheticFleet.Generate(15, seed: 5), SyntheticFleet.FastOptions with { BlendLinear = true }, seed: 1, Columns);
        var bytes = Bytes(model);

        var copy = RulModel.Read(new MemoryStream(bytes));

        var unit = SyntheticFleet.Generate(1, seed: 6)[0];
        Assert.Equal(model.Predict(unit), copy.Predict(unit));
        Assert.Equal(model.FailureProbability(30, 24), copy.FailureProbability(30, 24));
        Assert.Equal(model.Validation.FoldIterations, copy.Validation.FoldIterations);
        Assert.Equal(model.Features.FeatureNames, copy.Features.FeatureNames);
        Assert.Equal(bytes, Bytes(copy));
        Assert.Throws<InvalidDataException>(() => RulModel.Read(new MemoryStream(bytes[..^9])));
    }

    [Fact]
    public void Failure_probability_grows_with_the_horizon_and_falls_with_the_predicted_life()
    {
        var model = RulModel.Fit(SyntheticFleet.Generate(30, seed: 8), SyntheticFleet.FastOptions, seed: 1, Columns);

        foreach (var predicted in new[] { 0.0, 10, 40, 80, 100 })
        {
            var previous = 0.0;
            for (var horizon = -10.0; horizon <= 400; horizon += 2)
            {
                var p = model.FailureProbability(predicted, horizon);
                Assert.InRange(p, previous, 1);
                previous = p;
            }

            Assert.Equal(0, model.FailureProbability(predicted, -10));
            Assert.Equal(1, model.FailureProbability(predicted, 1000));
        }

        Assert.True(model.FailureProbability(10, 24) > model.FailureProbability(80, 24));
    }

    [Fact]
    public void Invalid_options_are_rejected_with_the_reason()
    {
        var fleet = SyntheticFleet.Generate(4, seed: 9);

        var message = Assert.Throws<ArgumentException>(() => RulModel.Fit(fleet, SyntheticFleet.FastOptions with { Cap = 0, Folds = 5 }, 1)).Message;

        Assert.Contains("Cap 0 must be positive", message, StringComparison.Ordinal);
        Assert.Contains("4 units cannot fill 5 folds", message, StringComparison.Ordinal);
    }

    private static byte[] Bytes(RulModel model)
    {
        using var stream = new MemoryStream();
        model.Write(stream);
        return stream.ToArray();
    }
}
