namespace Pdm.Analytics.Anomaly;

/// <summary>
/// PCA on standardised normal data: the components that explain the chosen share of variance model how the sensors
/// move together. Hotelling's T^2 measures how far a sample is along those components (scaled by their variance);
/// Q (squared prediction error) measures what they cannot reconstruct: a broken correlation. Contributions are each
/// sensor's share of Q, or of T^2 (z_i * sum_j P_ij t_j / lambda_j, negatives as 0) when T^2 is the more surprising.
/// Stateless: it looks at the current sample only.
/// </summary>
internal sealed class PcaDetector
{
    private readonly double[] _mean;
    private readonly double[] _scale;
    private readonly double[] _loadings;
    private readonly double[] _eigenvalues;

    private PcaDetector(int sensors, int components, double[] mean, double[] scale, double[] loadings,
        double[] eigenvalues)
    {
        Sensors = sensors;
        Components = components;
        _mean = mean;
        _scale = scale;
        _loadings = loadings;
        _eigenvalues = eigenvalues;
    }

    public int Sensors { get; }

    public int Components { get; }

    public static PcaDetector Fit(ReadOnlySpan<double> values, int sensors, double[] mean, double[] scale,
        double varianceExplained)
    {
        var rows = values.Length / sensors;
        var covariance = new double[sensors * sensors];
        Span<double> z = stackalloc double[sensors];
        for (var r = 0; r < rows; r++)
        {
            var row = values.Slice(r * sensors, sensors);
            for (var i = 0; i < sensors; i++)
            {
                z[i] = (row[i] - mean[i]) / scale[i];
            }
            for (var i = 0; i < sensors; i++)
            {
                for (var j = i; j < sensors; j++)
                {
                    covariance[(i * sensors) + j] += z[i] * z[j];
                }
            }
        }
        for (var i = 0; i < sensors; i++)
        {
            for (var j = i; j < sensors; j++)
            {
                covariance[(i * sensors) + j] /= Math.Max(1, rows - 1);
                covariance[(j * sensors) + i] = covariance[(i * sensors) + j];
            }
        }
        var eigenvalues = new double[sensors];
        var vectors = new double[sensors * sensors];
        Numerics.SymmetricEigen(covariance, sensors, eigenvalues, vectors);

        var total = eigenvalues.Sum(v => Math.Max(0, v));
        var components = 0;
        double explained = 0;
        // Keep at least one direction out of the model so Q has something to measure.
        while (components < sensors - 1 && (total <= 0 || explained / total < varianceExplained))
        {
            explained += Math.Max(0, eigenvalues[components]);
            components++;
        }
        var loadings = new double[sensors * components];
        var kept = new double[components];
        for (var j = 0; j < components; j++)
        {
            kept[j] = Math.Max(eigenvalues[j], 1e-9 * Math.Max(total, 1e-12));
            for (var i = 0; i < sensors; i++)
            {
                loadings[(i * components) + j] = vectors[(i * sensors) + j];
            }
        }
        return new PcaDetector(sensors, components, mean, scale, loadings, kept);
    }

    /// <summary>
    /// Computes T^2 and Q of <paramref name="x"/>. Scratch: <paramref name="z"/> of length Sensors,
    /// <paramref name="scores"/> of length Components. Shares are of length Sensors.
    /// </summary>
    public void Score(ReadOnlySpan<double> x, Span<double> z, Span<double> scores, Span<double> shareT2, Span<double> shareQ, out double t2, out double q)
    {
        var p = Sensors;
        var k = Components;
        var loadings = _loadings;
        for (var i = 0; i < p; i++)
        {
            z[i] = (x[i] - _mean[i]) / _scale[i];
        }
        scores[..k].Clear();
        for (var i = 0; i < p; i++)
        {
            var zi = z[i];
            var row = loadings.AsSpan(i * k, k);
            for (var j = 0; j < k; j++)
            {
                scores[j] += row[j] * zi;
            }
        }
        t2 = 0;
        for (var j = 0; j < k; j++)
        {
            t2 += scores[j] * scores[j] / _eigenvalues[j];
        }
        q = 0;
        double totalT2 = 0;
        for (var i = 0; i < p; i++)
        {
            var row = loadings.AsSpan(i * k, k);
            double reconstructed = 0, weighted = 0;
            for (var j = 0; j < k; j++)
            {
                reconstructed += row[j] * scores[j];
                weighted += row[j] * scores[j] / _eigenvalues[j];
            }
            var e = z[i] - reconstructed;
            shareQ[i] = e * e;
            q += e * e;
            var c = Math.Max(0, z[i] * weighted);
            shareT2[i] = c;
            totalT2 += c;
        }
        RobustEwmaDetector.Normalize(shareQ, q);
        RobustEwmaDetector.Normalize(shareT2, totalT2);
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(Components);
        ModelFormat.WriteDoubles(writer, _mean);
        ModelFormat.WriteDoubles(writer, _scale);
        ModelFormat.WriteDoubles(writer, _loadings);
        ModelFormat.WriteDoubles(writer, _eigenvalues);
    }

    public static PcaDetector Read(BinaryReader reader, int sensors)
    {
        var components = ModelFormat.ReadCount(reader, 0, Math.Max(0, sensors - 1), "PCA components");
        var mean = ModelFormat.ReadDoubles(reader, sensors);
        var scale = ModelFormat.ReadDoubles(reader, sensors);
        var loadings = ModelFormat.ReadDoubles(reader, sensors * components);
        return new PcaDetector(sensors, components, mean, scale, loadings,
            ModelFormat.ReadDoubles(reader, components));
    }
}
