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

    /// <summary>
    /// Wear w = (t / T)^exponent: the larger, the longer a machine runs like new and the later (and faster) it
    /// degrades. 2 by default; the demo plant's long-lived machines use 5, so they degrade visibly only in the
    /// last seventh or so of their lives.
    /// </summary>
    public double WearExponent { get; init; } = 2;

    /// <summary>Overrides the mode's mean time to failure when set. Machine time, like every span of the twin.</summary>
    public TimeSpan? MeanTimeToFailure { get; init; }

    /// <summary>
    /// Machine time per second of the clock the twin is stepped with: 1 (the default) runs the machine on that clock;
    /// the demo plant runs its machines 1440 times faster than the wall clock (<see cref="PlantOptions"/>). Wear,
    /// time to failure, remaining life and the foundation model's dynamics are all on the machine's time.
    /// </summary>
    public double TimeScale { get; init; } = 1;

    public TimeSpan EffectiveMeanTimeToFailure => MeanTimeToFailure ?? MeanTimeToFailureOf(Mode);

    public static TimeSpan MeanTimeToFailureOf(TwinMode mode) => mode switch
    {
        TwinMode.Nominal => TimeSpan.FromHours(27),
        TwinMode.Accelerated => TimeSpan.FromMinutes(20),
        TwinMode.Stress => TimeSpan.FromSeconds(150),
        _ => throw new ArgumentOutOfRangeException(nameof(mode), mode, "Unknown twin mode."),
    };
}
