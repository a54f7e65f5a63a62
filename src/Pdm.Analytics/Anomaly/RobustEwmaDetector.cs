namespace Pdm.Analytics.Anomaly;

/// <summary>
/// Per sensor, an EWMA baseline and an EWMA of absolute deviations as a robust spread; the score is the largest
/// z-like deviation over the sensors. Robust because a deviation moves the baseline and the spread at most as much
/// as a 3-sigma one would (Huber clipping): a fault is not learned away in a few samples, and one spike does not
/// blind the detector. The sample is scored against the state before it, then folded in (causal).
/// State per sensor: baseline, spread.
/// </summary>
internal sealed class RobustEwmaDetector
{
    /// <summary>For normal noise sigma = sqrt(pi/2) * mean absolute deviation.</summary>
    private const double MeanAbsToSigma = 1.2533141373155003;

    private const double Clip = 3.0;

    /// <summary>The spread adapts slower than the baseline so a change shows for longer before it is absorbed.</summary>
    private const double SpreadRate = 0.25;

    private readonly double[] _floor;

    public RobustEwmaDetector(double alpha, double[] initialBaseline, double[] initialSpread, double[] floor)
    {
        Alpha = alpha;
        InitialBaseline = initialBaseline;
        InitialSpread = initialSpread;
        _floor = floor;
    }

    public double Alpha { get; }

    public double[] InitialBaseline { get; }

    public double[] InitialSpread { get; }

    /// <summary>Lowest spread per sensor, so a sensor that barely moves does not divide by zero.</summary>
    public ReadOnlySpan<double> Floor => _floor;

    /// <summary>
    /// Fits on imputed training values (rows x sensors): the baseline starts at the median, the spread at the level
    /// it settles to when the EWMA runs over the training data.
    /// </summary>
    public static RobustEwmaDetector Fit(ReadOnlySpan<double> values, int sensors, double alpha,
        ReadOnlySpan<double> medians, ReadOnlySpan<double> scales)
    {
        var rows = values.Length / sensors;
        var baseline = medians.ToArray();
        var floor = new double[sensors];
        var spread = new double[sensors];
        var settled = new double[sensors];
        for (var i = 0; i < sensors; i++)
        {
            floor[i] = 1e-6 * (scales[i] + Math.Abs(medians[i])) + 1e-12;
            spread[i] = Math.Max(floor[i], scales[i] / MeanAbsToSigma);
        }
        var detector = new RobustEwmaDetector(alpha, baseline.ToArray(), spread, floor);
        Span<double> share = stackalloc double[0];
        for (var r = 0; r < rows; r++)
        {
            detector.Score(values.Slice(r * sensors, sensors), baseline, spread, share);
            for (var i = 0; i < sensors; i++)
            {
                settled[i] += spread[i] / rows;
            }
        }
        for (var i = 0; i < sensors; i++)
        {
            settled[i] = Math.Max(floor[i], settled[i]);
        }
        return new RobustEwmaDetector(alpha, medians.ToArray(), settled, floor);
    }

    /// <summary>
    /// Scores <paramref name="x"/> against the baseline and spread, then updates them. <paramref name="share"/>
    /// (empty to skip) gets each sensor's share of the squared deviations.
    /// </summary>
    public double Score(ReadOnlySpan<double> x, Span<double> baseline, Span<double> spread, Span<double> share)
    {
        double max = 0, total = 0;
        var spreadAlpha = Alpha * SpreadRate;
        for (var i = 0; i < x.Length; i++)
        {
            var sigma = MeanAbsToSigma * spread[i];
            var deviation = x[i] - baseline[i];
            var z = Math.Abs(deviation) / sigma;
            max = Math.Max(max, z);
            if (share.Length != 0)
            {
                share[i] = z * z;
                total += z * z;
            }
            var limit = Clip * sigma;
            var clipped = Math.Clamp(deviation, -limit, limit);
            baseline[i] += Alpha * clipped;
            spread[i] = Math.Max(_floor[i], spread[i] + (spreadAlpha * (Math.Abs(clipped) - spread[i])));
        }
        Normalize(share, total);
        return max;
    }

    internal static void Normalize(Span<double> share, double total)
    {
        if (total > 0)
        {
            var inverse = 1 / total;
            for (var i = 0; i < share.Length; i++)
            {
                share[i] *= inverse;
            }
        }
        else
        {
            share.Clear();
        }
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(Alpha);
        ModelFormat.WriteDoubles(writer, InitialBaseline);
        ModelFormat.WriteDoubles(writer, InitialSpread);
        ModelFormat.WriteDoubles(writer, _floor);
    }

    public static RobustEwmaDetector Read(BinaryReader reader, int sensors)
    {
        var alpha = reader.ReadDouble();
        var baseline = ModelFormat.ReadDoubles(reader, sensors);
        var spread = ModelFormat.ReadDoubles(reader, sensors);
        return new RobustEwmaDetector(alpha, baseline, spread, ModelFormat.ReadDoubles(reader, sensors));
    }
}
