namespace Pdm.Analytics.Trees;

/// <summary>
/// Fits gradient-boosted trees (second-order, as in XGBoost/LightGBM) for squared error,
/// logistic and softmax objectives. Everything random (row and column subsampling) comes
/// from one <see cref="Random"/> seeded by the caller, and parallel work is split so its
/// result does not depend on scheduling: the same data, options and seed give the same model, bit for bit.
/// </summary>
public static class GbtTrainer
{
    /// <summary>
    /// Fits a model. With a validation set, boosting stops once the validation loss has not
    /// improved for <see cref="GbtOptions.EarlyStoppingRounds"/> iterations and the model is cut
    /// back to its best iteration. Labels are values (squared error) or class indices 0..K-1.
    /// </summary>
    public static GbtModel Fit(
        FeatureMatrix features,
        ReadOnlySpan<double> labels,
        GbtOptions options,
        int seed,
        FeatureMatrix? validationFeatures = null,
        ReadOnlySpan<double> validationLabels = default)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(options);
        var problems = options.Validate().ToList();
        problems.AddRange(CheckLabels(labels, features.Rows, options, "training"));
        if (validationFeatures is not null)
        {
            if (validationFeatures.Columns != features.Columns)
            {
                problems.Add($"Validation has {validationFeatures.Columns} features, training has {features.Columns}.");
            }

            problems.AddRange(CheckLabels(validationLabels, validationFeatures.Rows, options, "validation"));
        }

        if (features.Rows == 0)
        {
            problems.Add("Training set is empty.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems));
        }

        return new Booster(features, labels.ToArray(), options, seed, validationFeatures, validationLabels.ToArray()).Run();
    }

    private static List<string> CheckLabels(ReadOnlySpan<double> labels, int rows, GbtOptions options, string set)
    {
        var problems = new List<string>();
        if (labels.Length != rows)
        {
            problems.Add($"The {set} set has {rows} rows but {labels.Length} labels.");
            return problems;
        }

        var classes = options.Objective switch
        {
            GbtObjective.Logistic => 2,
            GbtObjective.Softmax => options.ClassCount,
            _ => 0,
        };
        for (var i = 0; i < labels.Length; i++)
        {
            var y = labels[i];
            var valid = classes == 0 ? double.IsFinite(y) : y >= 0 && y < classes && y == Math.Floor(y);
            if (!valid)
            {
                problems.Add(classes == 0
                    ? $"The {set} label at row {i} is {y}, not a finite number."
                    : $"The {set} label at row {i} is {y}, not a class index in 0..{classes - 1}.");
                break;
            }
        }

        return problems;
    }

    /// <summary>State of one training run.</summary>
    private sealed class Booster
    {
        private readonly FeatureMatrix _x;
        private readonly double[] _y;
        private readonly GbtOptions _options;
        private readonly Random _random;
        private readonly FeatureMatrix? _validX;
        private readonly double[] _validY;
        private readonly int _outputs;
        private readonly double[] _raw;
        private readonly double[] _validRaw;
        private readonly double[][] _gradients;
        private readonly double[][] _hessians;

        public Booster(FeatureMatrix x, double[] y, GbtOptions options, int seed, FeatureMatrix? validX, double[] validY)
        {
            _x = x;
            _y = y;
            _options = options;
            _random = new Random(seed);
            _validX = validX;
            _validY = validY;
            _outputs = options.Objective == GbtObjective.Softmax ? options.ClassCount : 1;
            _raw = new double[x.Rows * _outputs];
            _validRaw = new double[(validX?.Rows ?? 0) * _outputs];
            _gradients = new double[_outputs][];
            _hessians = new double[_outputs][];
            for (var k = 0; k < _outputs; k++)
            {
                _gradients[k] = new double[x.Rows];
                _hessians[k] = new double[x.Rows];
            }
        }

        public GbtModel Run()
        {
            var baseScores = BaseScores();
            Fill(_raw, baseScores);
            Fill(_validRaw, baseScores);

            var binner = QuantileBinner.Fit(_x, _options.MaxBins);
            var grower = new TreeGrower(binner.Transform(_x), binner, _options);
            var trees = new List<RegressionTree>();
            var rowPool = Enumerable.Range(0, _x.Rows).ToArray();
            var featurePool = Enumerable.Range(0, _x.Columns).ToArray();
            var sampleSize = Math.Max(1, (int)Math.Round(_x.Rows * _options.RowSubsample));
            var featureSize = Math.Max(1, (int)Math.Round(_x.Columns * _options.ColumnSubsample));
            var sample = new int[sampleSize];
            var rows = new int[sampleSize];
            var allowed = new bool[_x.Columns];

            var bestLoss = double.PositiveInfinity;
            var bestIterations = 0;
            for (var iteration = 0; iteration < _options.MaxIterations; iteration++)
            {
                ComputeGradients();
                DrawSorted(rowPool, sample);
                for (var k = 0; k < _outputs; k++)
                {
                    DrawMask(featurePool, featureSize, allowed);
                    sample.CopyTo(rows, 0);
                    var tree = grower.Grow(_gradients[k], _hessians[k], rows, allowed, _raw, _outputs, k);
                    trees.Add(tree);
                    AddTreeOutsideSample(tree, sample, k);
                    if (_validX is not null)
                    {
                        AddTree(tree, _validX, _validRaw, k);
                    }
                }

                if (_validX is null)
                {
                    continue;
                }

                var loss = Loss(_validRaw, _validY);
                if (loss < bestLoss)
                {
                    bestLoss = loss;
                    bestIterations = iteration + 1;
                }
                else if (iteration + 1 - bestIterations >= _options.EarlyStoppingRounds)
                {
                    break;
                }
            }

            if (_validX is not null)
            {
                trees.RemoveRange(bestIterations * _outputs, trees.Count - (bestIterations * _outputs));
            }

            return new GbtModel(_options.Objective, _x.Columns, baseScores, [.. trees]);
        }

        private double[] BaseScores()
        {
            switch (_options.Objective)
            {
                case GbtObjective.SquaredError:
                    return [_y.Average()];
                case GbtObjective.Logistic:
                    var p = Math.Clamp(_y.Average(), 1e-6, 1 - 1e-6);
                    return [Math.Log(p / (1 - p))];
                default:
                    // Log class priors: the softmax of the base scores is the class frequencies.
                    var scores = new double[_outputs];
                    foreach (var y in _y)
                    {
                        scores[(int)y]++;
                    }

                    for (var k = 0; k < _outputs; k++)
                    {
                        scores[k] = Math.Log(Math.Max(scores[k] / _y.Length, 1e-6));
                    }

                    return scores;
            }
        }

        private void Fill(double[] raw, double[] baseScores)
        {
            for (var i = 0; i < raw.Length; i++)
            {
                raw[i] = baseScores[i % _outputs];
            }
        }

        private void ComputeGradients()
        {
            var n = _x.Rows;
            switch (_options.Objective)
            {
                case GbtObjective.SquaredError:
                    for (var i = 0; i < n; i++)
                    {
                        _gradients[0][i] = _raw[i] - _y[i];
                        _hessians[0][i] = 1;
                    }

                    break;
                case GbtObjective.Logistic:
                    for (var i = 0; i < n; i++)
                    {
                        var p = GbtModel.Sigmoid(_raw[i]);
                        _gradients[0][i] = p - _y[i];
                        _hessians[0][i] = Math.Max(p * (1 - p), 1e-16);
                    }

                    break;
                default:
                    Span<double> probabilities = stackalloc double[_outputs];
                    for (var i = 0; i < n; i++)
                    {
                        _raw.AsSpan(i * _outputs, _outputs).CopyTo(probabilities);
                        GbtModel.Softmax(probabilities);
                        for (var k = 0; k < _outputs; k++)
                        {
                            var p = probabilities[k];
                            _gradients[k][i] = p - (_y[i] == k ? 1 : 0);
                            _hessians[k][i] = Math.Max(p * (1 - p), 1e-16);
                        }
                    }

                    break;
            }
        }

        /// <summary>Mean validation loss: squared error, log loss or cross-entropy.</summary>
        private double Loss(double[] raw, double[] y)
        {
            double sum = 0;
            Span<double> probabilities = stackalloc double[_outputs];
            for (var i = 0; i < y.Length; i++)
            {
                switch (_options.Objective)
                {
                    case GbtObjective.SquaredError:
                        var d = raw[i] - y[i];
                        sum += d * d;
                        break;
                    case GbtObjective.Logistic:
                        var p = Math.Clamp(GbtModel.Sigmoid(raw[i]), 1e-15, 1 - 1e-15);
                        sum -= y[i] == 1 ? Math.Log(p) : Math.Log(1 - p);
                        break;
                    default:
                        raw.AsSpan(i * _outputs, _outputs).CopyTo(probabilities);
                        GbtModel.Softmax(probabilities);
                        sum -= Math.Log(Math.Max(probabilities[(int)y[i]], 1e-15));
                        break;
                }
            }

            return sum / Math.Max(1, y.Length);
        }

        /// <summary>Rows the tree was grown on already got their leaf values from the grower; walk it for the rest.</summary>
        private void AddTreeOutsideSample(RegressionTree tree, int[] sortedSample, int output)
        {
            if (sortedSample.Length == _x.Rows)
            {
                return;
            }

            var next = 0;
            for (var i = 0; i < _x.Rows; i++)
            {
                if (next < sortedSample.Length && sortedSample[next] == i)
                {
                    next++;
                    continue;
                }

                _raw[(i * _outputs) + output] += tree.Predict(_x.Row(i));
            }
        }

        private void AddTree(RegressionTree tree, FeatureMatrix x, double[] raw, int output)
        {
            for (var i = 0; i < x.Rows; i++)
            {
                raw[(i * _outputs) + output] += tree.Predict(x.Row(i));
            }
        }

        /// <summary>Draws sample.Length distinct rows (partial Fisher-Yates on the pool), ascending for cache-friendly scans.</summary>
        private void DrawSorted(int[] pool, int[] sample)
        {
            if (sample.Length == pool.Length)
            {
                Array.Copy(pool, sample, pool.Length);
                Array.Sort(sample);
                return;
            }

            PartialShuffle(pool, sample.Length);
            Array.Copy(pool, sample, sample.Length);
            Array.Sort(sample);
        }

        private void DrawMask(int[] pool, int count, bool[] allowed)
        {
            if (count == pool.Length)
            {
                Array.Fill(allowed, true);
                return;
            }

            PartialShuffle(pool, count);
            Array.Fill(allowed, false);
            for (var i = 0; i < count; i++)
            {
                allowed[pool[i]] = true;
            }
        }

        private void PartialShuffle(int[] pool, int count)
        {
            for (var i = 0; i < count; i++)
            {
                var j = _random.Next(i, pool.Length);
                (pool[i], pool[j]) = (pool[j], pool[i]);
            }
        }
    }
}
