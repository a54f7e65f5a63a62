using Pdm.Analytics.Trees;

namespace Pdm.Analytics.Rul;

/// <summary>
/// One unit's (machine's) rows in time order: a time stamp per row (cycles, hours, any
/// increasing number) and the measured values. Missing measurements are NaN.
/// </summary>
public sealed class UnitSeries
{
    private readonly double[] _time;

    public UnitSeries(string unit, double[] time, FeatureMatrix values)
    {
        ArgumentNullException.ThrowIfNull(unit);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(values);
        if (time.Length != values.Rows)
        {
            throw new ArgumentException($"Unit {unit}: {time.Length} time stamps for {values.Rows} rows.", nameof(time));
        }

        for (var i = 1; i < time.Length; i++)
        {
            if (!(time[i] > time[i - 1]))
            {
                throw new ArgumentException($"Unit {unit}: time at row {i} ({time[i]}) does not increase.", nameof(time));
            }
        }

        Unit = unit;
        _time = time;
        Values = values;
    }

    public string Unit { get; }

    public ReadOnlySpan<double> Time => _time;

    public FeatureMatrix Values { get; }

    public int Length => _time.Length;

    /// <summary>The first <paramref name="rows"/> rows, as if the unit had been observed only until then.</summary>
    public UnitSeries Truncate(int rows)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(rows);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, Length);
        return new UnitSeries(Unit, _time[..rows], Values.SelectRows([.. Enumerable.Range(0, rows)]));
    }
}
