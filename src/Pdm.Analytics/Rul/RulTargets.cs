namespace Pdm.Analytics.Rul;

/// <summary>Training targets for units observed until failure (their last row is the failure).</summary>
public static class RulTargets
{
    /// <summary>
    /// Time left until the unit's last row, capped at <paramref name="cap"/>: the usual
    /// piecewise-linear target, since early in life there is no degradation to see and an
    /// uncapped target would only teach the model the fleet's average lifetime.
    /// </summary>
    public static double[] RemainingTime(UnitSeries unit, double cap = double.PositiveInfinity)
    {
        ArgumentNullException.ThrowIfNull(unit);
        var time = unit.Time;
        var end = time[^1];
        var targets = new double[time.Length];
        for (var i = 0; i < time.Length; i++)
        {
            targets[i] = Math.Min(end - time[i], cap);
        }

        return targets;
    }
}
