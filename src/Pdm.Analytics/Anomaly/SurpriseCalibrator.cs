namespace Pdm.Analytics.Anomaly;

/// <summary>
/// Maps a detector's raw score to surprise: -log10 of the chance that normal data scores at least as high.
/// Inside the range seen in training this is the empirical distribution (interpolated between quantile knots);
/// above the last knot an exponential tail fitted to the training exceedances continues it, so a detector that is
/// far more certain than anything seen in training keeps saying so instead of saturating at "the maximum".
/// Surprise 2 means "as rare as 1 normal sample in 100".
/// </summary>
internal sealed class SurpriseCalibrator
{
    /// <summary>Surprise is capped (1 in 10^16): beyond that the tail model says nothing useful.</summary>
    public const double MaxSurprise = 16;

    private const int Knots = 48;

    /// <summary>At least this many training scores lie above the last knot, so the tail fit has data.</summary>
    private const int TailSamples = 20;

    private readonly double[] _x;
    private readonly double[] _s;
    private readonly double _tailSlope;

    private SurpriseCalibrator(double[] x, double[] s, double tailSlope)
    {
        _x = x;
        _s = s;
        _tailSlope = tailSlope;
    }

    public static SurpriseCalibrator Fit(ReadOnlySpan<double> rawScores)
    {
        var sorted = rawScores.ToArray();
        Array.Sort(sorted);
        var topSurprise = Math.Log10(Math.Max(2.0, sorted.Length / (double)TailSamples));
        var x = new double[Knots];
        var s = new double[Knots];
        for (var j = 0; j < Knots; j++)
        {
            s[j] = topSurprise * j / (Knots - 1);
            x[j] = Numerics.Quantile(sorted, 1 - Math.Pow(10, -s[j]));
        }
        var last = x[^1];
        double excess = 0;
        var count = 0;
        for (var i = sorted.Length - 1; i >= 0 && sorted[i] > last; i--)
        {
            excess += sorted[i] - last;
            count++;
        }
        var scale = count == 0 ? 0 : excess / count;
        scale = Math.Max(scale, 1e-9 * Math.Max(1, Math.Abs(last)));
        return new SurpriseCalibrator(x, s, 1 / (scale * Math.Log(10)));
    }

    public double Surprise(double raw)
    {
        var x = _x;
        if (!(raw > x[0]))
        {
            return 0;
        }
        if (raw > x[^1])
        {
            return Math.Min(MaxSurprise, _s[^1] + ((raw - x[^1]) * _tailSlope));
        }
        // First knot at or above raw: among tied knots the least surprising one, as a p-value should be.
        int lo = 1, hi = x.Length - 1;
        while (lo < hi)
        {
            var mid = (lo + hi) >> 1;
            if (x[mid] >= raw)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }
        if (x[lo] == raw)
        {
            return _s[lo];
        }
        var below = lo - 1;
        return _s[below] + ((_s[lo] - _s[below]) * (raw - x[below]) / (x[lo] - x[below]));
    }

    public void Write(BinaryWriter writer)
    {
        writer.Write(_x.Length);
        foreach (var v in _x)
        {
            writer.Write(v);
        }
        foreach (var v in _s)
        {
            writer.Write(v);
        }
        writer.Write(_tailSlope);
    }

    public static SurpriseCalibrator Read(BinaryReader reader)
    {
        var count = ModelFormat.ReadCount(reader, 2, 4096, "calibration knots");
        var x = ModelFormat.ReadDoubles(reader, count);
        var s = ModelFormat.ReadDoubles(reader, count);
        return new SurpriseCalibrator(x, s, reader.ReadDouble());
    }
}
