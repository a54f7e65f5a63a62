using Pdm.Analytics.Rul;
using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Tests.Rul;

public sealed class RulFeatureBuilderTests
{
    private static readonly string[] Columns = ["rising", "falling", "noise", "constant"];

    [Fact]
    public void Constant_columns_are_dropped_and_names_say_what_each_feature_is()
    {
        var fleet = SyntheticFleet.Generate(5, seed: 1);

        var builder = RulFeatureBuilder.Fit(fleet, new RulFeatureOptions { Windows = [5, 10] }, Columns);

        Assert.Equal([0, 1, 2], builder.KeptColumns);
        Assert.DoesNotContain(builder.FeatureNames, n => n.StartsWith("constant", StringComparison.Ordinal));
        Assert.Equal(["rising", "rising.mean5", "rising.slope5", "rising.mean10", "rising.slope10", "rising.drift"], builder.FeatureNames.Take(6));
        Assert.Equal("age", builder.FeatureNames[^1]);
        Assert.Equal(builder.FeatureNames.Count, builder.Transform(fleet[0]).Columns);
    }

    [Fact]
    public void Features_of_a_row_depend_only_on_that_row_and_earlier_ones()
    {
        var fleet = SyntheticFleet.Generate(5, seed: 2);
        var builder = RulFeatureBuilder.Fit(fleet, new RulFeatureOptions(), Columns);
        var full = builder.Transform(fleet[0]);

        foreach (var rows in new[] { 1, 2, 7, 31, fleet[0].Length - 1 })
        {
            var truncated = builder.Transform(fleet[0].Truncate(rows));
            for (var r = 0; r < rows; r++)
            {
                Assert.True(full.Row(r).SequenceEqual(truncated.Row(r)), $"row {r} of {rows}");
            }
        }
    }

    [Fact]
    public void Window_mean_and_slope_of_a_straight_line_are_its_midpoint_and_gradient()
    {
        // value = 3 + 2 t on an uneven clock: the slope is per time unit, not per row.
        double[] time = [.. Enumerable.Range(0, 40).Select(i => i * 1.5)];
        var values = new FeatureMatrix(40, 1);
        for (var i = 0; i < 40; i++)
        {
            values[i, 0] = 3 + (2 * time[i]);
        }

        var unit = new UnitSeries("line", time, values);
        var builder = RulFeatureBuilder.Fit([unit], new RulFeatureOptions { Windows = [10], BaselineRows = 4 }, ["v"]);
        var x = builder.Transform(unit);
        var names = builder.FeatureNames.ToList();
        var scale = (values[1, 0] - values[0, 0]) / (x[1, 0] - x[0, 0]);

        Assert.Equal(x[25, 0] - (4.5 * (x[1, 0] - x[0, 0])), x[25, names.IndexOf("v.mean10")], 9);
        Assert.Equal(2 / scale, x[25, names.IndexOf("v.slope10")], 9);
        Assert.Equal(0, x[0, names.IndexOf("v.slope10")]);
        Assert.Equal(36, x[24, names.IndexOf("age")], 9);
    }

    [Fact]
    public void Missing_values_are_skipped_by_window_statistics()
    {
        var fleet = SyntheticFleet.Generate(3, seed: 3);
        var builder = RulFeatureBuilder.Fit(fleet, new RulFeatureOptions { Windows = [5] }, Columns);
        fleet[0].Values[10, 0] = double.NaN;

        var x = builder.Transform(fleet[0]);

        Assert.True(double.IsNaN(x[10, 0]));
        Assert.True(double.IsFinite(x[10, 1]));
        Assert.True(double.IsFinite(x[12, 2]));
    }
}
