namespace Pdm.Simulator.Twin;

/// <summary>How fast the twin's machines wear out. Only the time scale differs; the physics is the same.</summary>
public enum TwinMode
{
    /// <summary>Real time: a mean time to failure of about 27 hours.</summary>
    Nominal,

    /// <summary>About 20 minutes to failure, for demos.</summary>
    Accelerated,

    /// <summary>About 2.5 minutes to failure, for tests and stress runs.</summary>
    Stress,
}

/// <summary>The wear settings of a twin machine.</summary>
public sealed record TwinOptions
{
    public TwinMode Mode { get; init; } = TwinMode.Nominal;

    /// <summary>Weibull shape of the time to failure; above 1 means wear-out (failures bunch around the mean).</summary>
    public double WeibullShape { get; init; } = 2.5;

    /// <summary>Overrides the mode's mean time to failure when set.</summary>
    public TimeSpan? MeanTimeToFailure { get; init; }

    public TimeSpan EffectiveMeanTimeToFailure => MeanTimeToFailure ?? MeanTimeToFailureOf(Mode);

    public static TimeSpan MeanTimeToFailureOf(TwinMode mode) => mode switch
    {
        TwinMode.Nominal => TimeSpan.FromHours(27),
        TwinMode.Accelerated => TimeSpan.FromMinutes(20),
        TwinMode.Stress => TimeSpan.FromSeconds(150),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown twin mode."),
    };
}
