using Pdm.Analytics.Rul;

namespace Pdm.Analytics.Health;

/// <summary>Adds the contributions of a sensor's derived features (value, rolling means and slopes, drift) back onto that sensor.</summary>
public static class SensorAttribution
{
    /// <summary>The pseudo-sensor the "age" feature (time the current life has run) is attributed to.</summary>
    public const string Age = "age";

    /// <summary>
    /// One entry per kept input column (and <see cref="Age"/> when the features include it), largest absolute
    /// contribution first; the entries add up to the sum of <paramref name="contributions"/>.
    /// </summary>
    public static IReadOnlyList<SensorContribution> BySensor(RulFeatureBuilder features, IReadOnlyList<double> contributions)
    {
        ArgumentNullException.ThrowIfNull(features);
        ArgumentNullException.ThrowIfNull(contributions);
        if (contributions.Count != features.FeatureNames.Count)
        {
            throw new ArgumentException($"{contributions.Count} contributions for {features.FeatureNames.Count} features.", nameof(contributions));
        }

        // The builder lays features out per kept column, the same count each, then age last.
        var kept = features.KeptColumns.Count;
        var sensorFeatures = features.FeatureNames.Count - (features.Options.IncludeAge ? 1 : 0);
        var perColumn = kept == 0 ? 0 : sensorFeatures / kept;
        var totals = new double[kept + (features.Options.IncludeAge ? 1 : 0)];
        for (var i = 0; i < contributions.Count; i++)
        {
            totals[i < sensorFeatures ? i / perColumn : kept] += contributions[i];
        }

        return [.. totals
            .Select((total, k) => new SensorContribution(k < kept ? features.InputNames[features.KeptColumns[k]] : Age, total))
            .OrderByDescending(c => Math.Abs(c.Contribution))
            .ThenBy(c => c.Sensor, StringComparer.Ordinal)];
    }
}
