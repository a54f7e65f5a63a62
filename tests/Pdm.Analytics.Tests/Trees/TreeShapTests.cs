using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Tests.Trees;

public sealed class TreeShapTests
{
    [Theory]
    [InlineData(1, 3, 0)]
    [InlineData(2, 6, 0)]
    [InlineData(3, 10, 31)]
    [InlineData(4, 4, 0)]
    public void Contributions_plus_expected_value_equal_the_prediction(int seed, int depth, int leaves)
    {
        // Few features and deep trees make the same feature recur on a path, the case that needs unwinding.
        var x = SyntheticData.Uniform(1500, 4, seed);
        var y = SyntheticData.Nonlinear(x, seed + 100, noise: 1);
        for (var r = 0; r < x.Rows; r += 7)
        {
            x[r, seed % 4] = double.NaN;
        }

        var options = new GbtOptions
        {
            MaxIterations = 40, LearningRate = 0.2, MaxDepth = depth, MaxLeaves = leaves, MinSamplesLeaf = 3,
            RowSubsample = 0.8, ColumnSubsample = 0.75, MaxBins = 32,
        };
        var model = GbtTrainer.Fit(x, y, options, seed);
        var phi = new double[4];

        for (var r = 0; r < 200; r++)
        {
            var expected = TreeShap.Explain(model, x.Row(r), phi);
            Assert.Equal(model.PredictRaw(x.Row(r)), phi.Sum() + expected, 9);
        }
    }

    [Fact]
    public void Softmax_contributions_add_up_per_class()
    {
        var x = SyntheticData.Uniform(1000, 3, seed: 5);
        var y = Enumerable.Range(0, x.Rows).Select(r => (double)(x[r, 0] > 1 ? 2 : x[r, 1] > 0 ? 1 : 0)).ToArray();
        var model = GbtTrainer.Fit(x, y, new GbtOptions { Objective = GbtObjective.Softmax, ClassCount = 3, MaxIterations = 20 }, 1);
        var phi = new double[3];
        Span<double> raw = stackalloc double[3];

        model.PredictRaw(x.Row(0), raw);
        for (var k = 0; k < 3; k++)
        {
            var expected = TreeShap.Explain(model, x.Row(0), phi, k);
            Assert.Equal(raw[k], phi.Sum() + expected, 9);
        }
    }

    [Fact]
    public void Contributions_match_brute_force_shapley_values()
    {
        var x = SyntheticData.Uniform(800, 4, seed: 21);
        var y = SyntheticData.Nonlinear(x, seed: 22);
        var model = GbtTrainer.Fit(x, y, new GbtOptions { MaxIterations = 5, MaxDepth = 4, MaxLeaves = 0, MinSamplesLeaf = 5 }, 1);
        var phi = new double[4];

        for (var r = 0; r < 20; r++)
        {
            TreeShap.Explain(model, x.Row(r), phi);
            var exact = BruteForce(model, x.Row(r).ToArray());
            for (var f = 0; f < 4; f++)
            {
                Assert.Equal(exact[f], phi[f], 9);
            }
        }
    }

    [Fact]
    public void A_feature_the_trees_never_use_gets_nothing()
    {
        var x = SyntheticData.Uniform(1000, 4, seed: 23);
        var y = Enumerable.Range(0, x.Rows).Select(r => x[r, 0] * 3).ToArray();
        var model = GbtTrainer.Fit(x, y, new GbtOptions { MaxIterations = 20 }, 1);
        var phi = new double[4];

        TreeShap.Explain(model, x.Row(0), phi);

        Assert.Equal(0, phi[3]);
        Assert.NotEqual(0, phi[0]);
    }

    /// <summary>Shapley values by enumerating all feature subsets, with cover-weighted conditional expectations.</summary>
    private static double[] BruteForce(GbtModel model, double[] row)
    {
        var m = row.Length;
        var phi = new double[m];
        for (var f = 0; f < m; f++)
        {
            for (var subset = 0; subset < 1 << m; subset++)
            {
                if ((subset & (1 << f)) != 0)
                {
                    continue;
                }

                var size = System.Numerics.BitOperations.PopCount((uint)subset);
                var weight = Factorial(size) * Factorial(m - size - 1) / Factorial(m);
                phi[f] += weight * (Conditional(model, row, subset | (1 << f)) - Conditional(model, row, subset));
            }
        }

        return phi;
    }

    private static double Conditional(GbtModel model, double[] row, int known) =>
        model.Trees.Sum(tree => Conditional(tree, 0, row, known));

    private static double Conditional(RegressionTree tree, int node, double[] row, int known)
    {
        if (tree.IsLeaf(node))
        {
            return tree.Value(node);
        }

        if ((known & (1 << tree.Feature(node))) != 0)
        {
            return Conditional(tree, tree.GoesLeft(node, row) ? tree.Left(node) : tree.Right(node), row, known);
        }

        var left = tree.Left(node);
        var right = tree.Right(node);
        return ((tree.Cover(left) * Conditional(tree, left, row, known)) + (tree.Cover(right) * Conditional(tree, right, row, known))) / tree.Cover(node);
    }

    private static double Factorial(int n) => n <= 1 ? 1 : n * Factorial(n - 1);
}
