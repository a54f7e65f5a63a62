namespace Pdm.Analytics.Anomaly;

/// <summary>
/// Expected next values: each sensor's standardised value is predicted from the last k values of every sensor
/// (its own history and the cross-sensor terms) by a linear model fitted with ridge least squares. The score is
/// the mean squared residual in units of each sensor's training residual spread; contributions are each sensor's
/// share of it. A vector autoregression is fast (p x (1 + k p) multiply-adds per sample) and captures the
/// inertia and lagged coupling that industrial signals have. The lag history lives in the machine state.
/// </summary>
internal sealed class TemporalDetector
{
    private readonly double[] _mean;
    private readonly double[] _scale;
    private readonly double[] _coefficients;
    private readonly double[] _residualScale;

    private TemporalDetector(int sensors, int lags, double[] mean, double[] scale, double[] coefficients,
        double[] residualScale)
    {
        Sensors = sensors;
        Lags = lags;
        _mean = mean;
        _scale = scale;
        _coefficients = coefficients;
        _residualScale = residualScale;
    }

    public int Sensors { get; }

    public int Lags { get; }

    private int Inputs => 1 + (Lags * Sensors);

    /// <summary>
    /// Fits on imputed training values; a row is used when the <paramref name="lags"/> rows before it belong to
    /// the same stretch (<paramref name="stretchStart"/>[r] is the row where r's stretch began).
    /// </summary>
    public static TemporalDetector Fit(ReadOnlySpan<double> values, int sensors, int lags, double ridge,
        double[] mean, double[] scale, ReadOnlySpan<int> stretchStart)
    {
        var rows = values.Length / sensors;
        var inputs = 1 + (lags * sensors);
        var gram = new double[inputs * inputs];
        var cross = new double[inputs * sensors];
        var u = new double[inputs];
        var y = new double[sensors];
        var used = 0;
        for (var r = 0; r < rows; r++)
        {
            if (r - stretchStart[r] < lags)
            {
                continue;
            }
            Design(values, sensors, lags, mean, scale, r, u, y);
            used++;
            for (var a = 0; a < inputs; a++)
            {
                var ua = u[a];
                if (ua == 0)
                {
                    continue;
                }
                for (var b = a; b < inputs; b++)
                {
                    gram[(a * inputs) + b] += ua * u[b];
                }
                for (var s = 0; s < sensors; s++)
                {
                    cross[(a * sensors) + s] += ua * y[s];
                }
            }
        }
        for (var a = 0; a < inputs; a++)
        {
            for (var b = a + 1; b < inputs; b++)
            {
                gram[(b * inputs) + a] = gram[(a * inputs) + b];
            }
            gram[(a * inputs) + a] += ridge;
        }
        var solution = new double[inputs * sensors];
        if (used == 0 || !Numerics.SolveSpd(gram, inputs, cross, sensors, solution))
        {
            // No usable rows (every stretch shorter than the lags): predict the training mean.
            Array.Clear(solution);
        }
        // Store per sensor (row s = that sensor's coefficients) for a contiguous dot product when scoring.
        var coefficients = new double[sensors * inputs];
        for (var a = 0; a < inputs; a++)
        {
            for (var s = 0; s < sensors; s++)
            {
                coefficients[(s * inputs) + a] = solution[(a * sensors) + s];
            }
        }

        var squared = new double[sensors];
        for (var r = 0; r < rows; r++)
        {
            if (r - stretchStart[r] < lags)
            {
                continue;
            }
            Design(values, sensors, lags, mean, scale, r, u, y);
            for (var s = 0; s < sensors; s++)
            {
                var e = y[s] - Dot(coefficients.AsSpan(s * inputs, inputs), u);
                squared[s] += e * e;
            }
        }
        var residualScale = new double[sensors];
        for (var s = 0; s < sensors; s++)
        {
            residualScale[s] = used == 0 ? 1 : Math.Max(1e-6, Math.Sqrt(squared[s] / used));
        }
        return new TemporalDetector(sensors, lags, mean, scale, coefficients, residualScale);
    }

    private static void Design(ReadOnlySpan<double> values, int sensors, int lags, double[] mean, double[] scale,
        int row, double[] u, double[] y)
    {
        u[0] = 1;
        for (var l = 0; l < lags; l++)
        {
            var past = values.Slice((row - 1 - l) * sensors, sensors);
            for (var s = 0; s < sensors; s++)
            {
                u[1 + (l * sensors) + s] = (past[s] - mean[s]) / scale[s];
            }
        }
        var current = values.Slice(row * sensors, sensors);
        for (var s = 0; s < sensors; s++)
        {
            y[s] = (current[s] - mean[s]) / scale[s];
        }
    }

    private static double Dot(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        double sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }
        return sum;
    }

    /// <summary>
    /// Scores <paramref name="x"/> given <paramref name="history"/> (lag 1 first, Sensors values per lag, raw units).
    /// <paramref name="inputs"/> is scratch of length 1 + Lags * Sensors; <paramref name="share"/> has length Sensors.
    /// </summary>
    public double Score(ReadOnlySpan<double> x, ReadOnlySpan<double> history, Span<double> inputs, Span<double> share)
    {
        var p = Sensors;
        var m = Inputs;
        inputs[0] = 1;
        for (var l = 0; l < Lags; l++)
        {
            var offset = l * p;
            for (var s = 0; s < p; s++)
            {
                inputs[1 + offset + s] = (history[offset + s] - _mean[s]) / _scale[s];
            }
        }
        double total = 0;
        for (var s = 0; s < p; s++)
        {
            var predicted = Dot(_coefficients.AsSpan(s * m, m), inputs[..m]);
            var e = (((x[s] - _mean[s]) / _scale[s]) - predicted) / _residualScale[s];
            share[s] = e * e;
            total += e * e;
        }
        RobustEwmaDetector.Normalize(share, total);
        return total / p;
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(Lags);
        ModelFormat.WriteDoubles(writer, _mean);
        ModelFormat.WriteDoubles(writer, _scale);
        ModelFormat.WriteDoubles(writer, _coefficients);
        ModelFormat.WriteDoubles(writer, _residualScale);
    }

    public static TemporalDetector Read(BinaryReader reader, int sensors)
    {
        var lags = ModelFormat.ReadCount(reader, 1, 64, "temporal lags");
        var mean = ModelFormat.ReadDoubles(reader, sensors);
        var scale = ModelFormat.ReadDoubles(reader, sensors);
        var coefficients = ModelFormat.ReadDoubles(reader, sensors * (1 + (lags * sensors)));
        return new TemporalDetector(sensors, lags, mean, scale, coefficients, ModelFormat.ReadDoubles(reader, sensors));
    }
}
