using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Tests.Trees;

public sealed class GbtTrainerTests
{
    private static readonly GbtOptions Regression = new()
    {
        MaxIterations = 300,
        LearningRate = 0.1,
        MaxLeaves = 15,
        MinSamplesLeaf = 10,
        RowSubsample = 0.8,
        ColumnSubsample = 0.8,
    };

    [Fact]
    public void Regression_learns_a_nonlinear_function()
    {
        var x = SyntheticData.Uniform(4000, 5, seed: 1);
        var y = SyntheticData.Nonlinear(x, seed: 2);
        var testX = SyntheticData.Uniform(1000, 5, seed: 3);
        var testY = SyntheticData.Nonlinear(testX, seed: 4);

        var model = GbtTrainer.Fit(x, y, Regression, seed: 7);

        Assert.True(SyntheticData.RSquared(model, testX, testY) > 0.97, "R² on held-out data");
    }

    [Fact]
    public void Logistic_classifies_a_separable_set()
    {
        var x = SyntheticData.Uniform(3000, 4, seed: 5);
        var y = Labels(x, row => row[0] + row[1] > 0.5 ? 1 : 0);
        var testX = SyntheticData.Uniform(1000, 4, seed: 6);
        var testY = Labels(testX, row => row[0] + row[1] > 0.5 ? 1 : 0);

        var model = GbtTrainer.Fit(x, y, Regression with { Objective = GbtObjective.Logistic }, seed: 7);

        Assert.True(Accuracy(model, testX, testY) > 0.95);
        Span<double> p = stackalloc double[2];
        model.PredictProbabilities(testX.Row(0), p);
        Assert.Equal(1.0, p[0] + p[1], 12);
        Assert.Equal(model.Predict(testX.Row(0)), p[1], 12);
    }

    [Fact]
    public void Softmax_classifies_three_regions()
    {
        static int Region(double[] row) => row[0] < -1 ? 0 : row[1] < 0 ? 1 : 2;
        var x = SyntheticData.Uniform(3000, 4, seed: 8);
        var y = Labels(x, Region);
        var testX = SyntheticData.Uniform(1000, 4, seed: 9);
        var testY = Labels(testX, Region);

        var model = GbtTrainer.Fit(x, y, Regression with { Objective = GbtObjective.Softmax, ClassCount = 3, MaxIterations = 150 }, seed: 7);

        Assert.Equal(3, model.OutputCount);
        Assert.True(Accuracy(model, testX, testY) > 0.95);
        Span<double> p = stackalloc double[3];
        model.PredictProbabilities(testX.Row(0), p);
        Assert.Equal(1.0, p[0] + p[1] + p[2], 12);
    }

    [Fact]
    public void Same_seed_gives_identical_predictions_and_bytes_and_another_seed_differs()
    {
        var x = SyntheticData.Uniform(3000, 20, seed: 10);
        var y = SyntheticData.Nonlinear(x, seed: 11);
        var options = Regression with { MaxIterations = 60, RowSubsample = 0.7, ColumnSubsample = 0.5 };

        var first = GbtTrainer.Fit(x, y, options, seed: 42);
        var second = GbtTrainer.Fit(x, y, options, seed: 42);
        var other = GbtTrainer.Fit(x, y, options, seed: 43);

        Assert.Equal(Bytes(first), Bytes(second));
        Assert.NotEqual(Bytes(first), Bytes(other));
        for (var r = 0; r < x.Rows; r++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(first.Predict(x.Row(r))), BitConverter.DoubleToInt64Bits(second.Predict(x.Row(r))));
        }

        Assert.Contains(Enumerable.Range(0, x.Rows), r => first.Predict(x.Row(r)) != other.Predict(x.Row(r)));
    }

    [Fact]
    public void Early_stopping_cuts_the_model_back_to_its_best_validation_iteration()
    {
        var x = SyntheticData.Uniform(600, 5, seed: 12);
        var y = SyntheticData.Nonlinear(x, seed: 13, noise: 3);
        var validX = SyntheticData.Uniform(300, 5, seed: 14);
        var validY = SyntheticData.Nonlinear(validX, seed: 15, noise: 3);
        var options = Regression with { MaxIterations = 2000, LearningRate = 0.3, MinSamplesLeaf = 2, EarlyStoppingRounds = 10 };

        var model = GbtTrainer.Fit(x, y, options, seed: 1, validX, validY);

        Assert.InRange(model.IterationCount, 1, 200);
        Assert.Equal(model.IterationCount, model.Trees.Count);
    }

    [Fact]
    public void Missing_values_take_the_direction_learned_from_training()
    {
        // Where x0 is missing the target is high; a missing value at prediction must land there too.
        var x = SyntheticData.Uniform(2000, 2, seed: 16);
        var y = new double[x.Rows];
        for (var r = 0; r < x.Rows; r++)
        {
            if (r % 4 == 0)
            {
                x[r, 0] = double.NaN;
                y[r] = 10;
            }
            else
            {
                y[r] = x[r, 0] > 0 ? 1 : 0;
            }
        }

        var model = GbtTrainer.Fit(x, y, Regression with { RowSubsample = 1, ColumnSubsample = 1 }, seed: 1);

        Assert.Equal(10, model.Predict([double.NaN, 0.5]), 1);
        Assert.Equal(1, model.Predict([2.0, 0.5]), 1);
        Assert.Equal(0, model.Predict([-2.0, 0.5]), 1);
    }

    [Fact]
    public void Invalid_options_and_labels_are_rejected_with_the_reason()
    {
        var x = SyntheticData.Uniform(10, 2, seed: 1);
        var labels = new double[10];
        labels[3] = 2;

        var options = Assert.Throws<ArgumentException>(() => GbtTrainer.Fit(x, labels, new GbtOptions { LearningRate = 0 }, 1)).Message;
        var classes = Assert.Throws<ArgumentException>(() => GbtTrainer.Fit(x, labels, new GbtOptions { Objective = GbtObjective.Logistic }, 1)).Message;

        Assert.Contains("LearningRate 0", options, StringComparison.Ordinal);
        Assert.Contains("label at row 3 is 2", classes, StringComparison.Ordinal);
    }

    private static double[] Labels(FeatureMatrix x, Func<double[], int> label) =>
        [.. Enumerable.Range(0, x.Rows).Select(r => (double)label(x.Row(r).ToArray()))];

    private static double Accuracy(GbtModel model, FeatureMatrix x, double[] y) =>
        Enumerable.Range(0, x.Rows).Count(r => PredictClass(model, x.Row(r)) == (int)y[r]) / (double)x.Rows;

    /// <summary>The most likely class: the largest raw output (softmax and the sigmoid are monotone).</summary>
    private static int PredictClass(GbtModel model, ReadOnlySpan<double> features)
    {
        if (model.Objective == GbtObjective.Logistic)
        {
            return model.PredictRaw(features) > 0 ? 1 : 0;
        }
        var raw = new double[model.OutputCount];
        model.PredictRaw(features, raw);
        return Array.IndexOf(raw, raw.Max());
    }

    internal static byte[] Bytes(GbtModel model)
    {
        using var stream = new MemoryStream();
        model.Write(stream);
        return stream.ToArray();
    }
}
