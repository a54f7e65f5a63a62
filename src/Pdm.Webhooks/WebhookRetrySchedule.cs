namespace Pdm.Webhooks;

/// <summary>After a failed attempt: send again after <see cref="Delay"/>, or dead-letter the delivery.</summary>
/// <param name="NextAttempt">The number of the next attempt (1 is the first send); 0 when dead-lettered.</param>
/// <param name="Delay">The visibility delay to re-enqueue with; zero when dead-lettered.</param>
public sealed record WebhookRetryDecision(bool DeadLetter, int NextAttempt, TimeSpan Delay);

/// <summary>
/// When a failed delivery is tried again. Attempt 1 goes at once; before attempt n+1 the delivery waits the n-th
/// nominal delay (exponential up to a ceiling), spread by proportional jitter: uniform in
/// [delay·(1−jitter), delay·(1+jitter)], so its expectation is the nominal delay and retries of many deliveries that
/// failed together (a receiver outage) do not arrive together. Full jitter (uniform in [0, delay]) is not used
/// because its floor of zero could not promise the minimum span: with the defaults every delivery is tried for at
/// least <see cref="MinimumSpan"/> (more than 24 h) before it is dead-lettered, whatever the random draws.
/// The delay is what a queue-triggered function re-enqueues the delivery message with as its visibility timeout.
/// </summary>
public sealed class WebhookRetrySchedule
{
    /// <summary>Azure Storage queues accept a visibility timeout of at most seven days.</summary>
    public static readonly TimeSpan MaximumVisibilityDelay = TimeSpan.FromDays(7);

    private readonly TimeSpan[] _nominal;

    public WebhookRetrySchedule(IReadOnlyList<TimeSpan> nominalDelays, double jitter)
    {
        ArgumentNullException.ThrowIfNull(nominalDelays);
        if (nominalDelays.Count == 0)
        {
            throw new ArgumentException("A retry schedule needs at least one delay.", nameof(nominalDelays));
        }
        if (jitter is < 0 or >= 1 || double.IsNaN(jitter))
        {
            throw new ArgumentOutOfRangeException(nameof(jitter), jitter, "Jitter is a share of the delay in [0, 1).");
        }
        for (var i = 0; i < nominalDelays.Count; i++)
        {
            var longest = nominalDelays[i] * (1 + jitter);
            if (nominalDelays[i] <= TimeSpan.Zero || longest > MaximumVisibilityDelay)
            {
                throw new ArgumentOutOfRangeException(nameof(nominalDelays), nominalDelays[i],
                    $"Delay before attempt {i + 2} must be positive and, with jitter, at most {MaximumVisibilityDelay.TotalDays} days (a queue's longest visibility timeout).");
            }
        }
        _nominal = [.. nominalDelays];
        Jitter = jitter;
    }

    /// <summary>
    /// 12 attempts: at once, then after ~5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h, 8 h (±20 %);
    /// from 25.4 h to 38.1 h between the first attempt and the dead letter, 31.7 h expected.
    /// </summary>
    public static WebhookRetrySchedule Default { get; } = new(
        [
            TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(10),
            TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4),
            TimeSpan.FromHours(8), TimeSpan.FromHours(8), TimeSpan.FromHours(8),
        ],
        jitter: 0.2);

    public double Jitter { get; }

    /// <summary>Attempts before the delivery is dead-lettered, the first included.</summary>
    public int MaxAttempts => _nominal.Length + 1;

    /// <summary>Shortest time from the first attempt to the last one.</summary>
    public TimeSpan MinimumSpan => Sum() * (1 - Jitter);

    /// <summary>Longest time from the first attempt to the last one.</summary>
    public TimeSpan MaximumSpan => Sum() * (1 + Jitter);

    /// <summary>The expected (nominal) delay before attempt <paramref name="attempt"/> (2 … <see cref="MaxAttempts"/>).</summary>
    public TimeSpan NominalDelayBeforeAttempt(int attempt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(attempt, MaxAttempts);
        return _nominal[attempt - 2];
    }

    /// <summary>
    /// What follows failed attempt <paramref name="attempt"/> (1-based): the next attempt and its jittered visibility
    /// delay, or the dead letter after the last one.
    /// </summary>
    public WebhookRetryDecision AfterFailedAttempt(int attempt, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfLessThan(attempt, 1);
        if (attempt >= MaxAttempts)
        {
            return new WebhookRetryDecision(DeadLetter: true, NextAttempt: 0, Delay: TimeSpan.Zero);
        }
        var nominal = _nominal[attempt - 1];
        var factor = 1 - Jitter + (2 * Jitter * random.NextDouble());
        return new WebhookRetryDecision(DeadLetter: false, NextAttempt: attempt + 1, Delay: nominal * factor);
    }

    private TimeSpan Sum() => _nominal.Aggregate(TimeSpan.Zero, (total, delay) => total + delay);
}
